/**
 * Finds runs on disk: a result.json, a run directory, a merged directory
 * (merged.json), or any tree of run directories (a night's shards, a history
 * of nights). What cannot be read is returned as a problem naming the path,
 * never silently dropped.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { describeError } from '../core/errors.js';
import { mergedManifestSchema, MERGED_FILE } from './merged-manifest.js';
import { validateResult, type RunResult } from './result-model.js';
import { pathInside } from './safe-paths.js';
import { EVENTS_FILE, RESULT_FILE, readResultFile, readRunDir } from './write-reports.js';

export interface LoadedRun {
  result: RunResult;
  /** The run's directory (where its report.html is), when known. */
  dir?: string;
  /** The file the result came from. */
  source: string;
  /** The shard it came from, for merged runs. */
  shard?: string;
}

export interface RunProblem {
  path: string;
  problem: string;
}

export interface RunSet {
  runs: LoadedRun[];
  problems: RunProblem[];
}

const MAX_DEPTH = 4;
/** Never descended into: private keys live there. */
const SKIPPED_DIRS = new Set(['secrets', 'node_modules', '.git', 'machines']);

export async function loadRunSet(path: string): Promise<RunSet> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) return { runs: [], problems: [{ path, problem: 'does not exist' }] };
  const info = await stat(absolute);
  if (info.isFile()) return basename(absolute) === MERGED_FILE ? loadMerged(absolute) : loadResultFile(absolute);
  const found: RunSet = { runs: [], problems: [] };
  await walk(absolute, 0, found);
  if (!found.runs.length && !found.problems.length) found.problems.push({ path, problem: `no runs in it (no ${RESULT_FILE}, ${EVENTS_FILE} or ${MERGED_FILE})` });
  found.runs.sort((a, b) => a.result.startedAt.localeCompare(b.result.startedAt) || a.result.runId.localeCompare(b.result.runId));
  return found;
}

async function walk(dir: string, depth: number, found: RunSet): Promise<void> {
  const links = await symlinkedRunFiles(dir);
  if (links.length) return append(found, { runs: [], problems: links.map((path) => ({ path, problem: 'is a symlink: not followed' })) });
  if (existsSync(join(dir, MERGED_FILE))) return append(found, await loadMerged(join(dir, MERGED_FILE)));
  if (existsSync(join(dir, RESULT_FILE)) || existsSync(join(dir, EVENTS_FILE))) return append(found, await loadRunDir(dir));
  if (depth >= MAX_DEPTH) return;
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) await walk(join(dir, entry.name), depth + 1, found);
  }
}

/** A result file in a tree is read only when it is a file itself: a symlink could point anywhere on the machine. */
async function symlinkedRunFiles(dir: string): Promise<string[]> {
  const paths = [MERGED_FILE, RESULT_FILE, EVENTS_FILE].map((name) => join(dir, name));
  const links = await Promise.all(paths.map((path) => lstat(path).then((info) => info.isSymbolicLink(), () => false)));
  return paths.filter((_, i) => links[i]);
}

function append(into: RunSet, from: RunSet): void {
  into.runs.push(...from.runs);
  into.problems.push(...from.problems);
}

/** result.json first; when it is missing or corrupt, the run is rebuilt from events.jsonl (what a killed run leaves). */
export async function loadRunDir(dir: string): Promise<RunSet> {
  const resultPath = join(dir, RESULT_FILE);
  let resultProblem: string | undefined;
  if (existsSync(resultPath)) {
    try {
      return { runs: [{ result: await readResultFile(resultPath), dir, source: resultPath }], problems: [] };
    } catch (error) {
      resultProblem = describeError(error);
    }
  }
  if (existsSync(join(dir, EVENTS_FILE))) {
    try {
      const { result } = await readRunDir(dir);
      const problems = resultProblem ? [{ path: resultPath, problem: `${resultProblem}; rebuilt from ${EVENTS_FILE}` }] : [];
      return { runs: [{ result, dir, source: join(dir, EVENTS_FILE) }], problems };
    } catch (error) {
      return { runs: [], problems: [{ path: dir, problem: [resultProblem, describeError(error)].filter(Boolean).join('; ') }] };
    }
  }
  return { runs: [], problems: [{ path: dir, problem: resultProblem ?? `no ${RESULT_FILE} or ${EVENTS_FILE}` }] };
}

async function loadResultFile(path: string): Promise<RunSet> {
  try {
    return { runs: [{ result: await readResultFile(path), dir: dirname(path), source: path }], problems: [] };
  } catch (error) {
    return { runs: [], problems: [{ path, problem: describeError(error) }] };
  }
}

/** A merged directory: its manifest carries every run's result; their copied directories sit beside it. */
async function loadMerged(path: string): Promise<RunSet> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    return { runs: [], problems: [{ path, problem: `not JSON: ${(error as Error).message}` }] };
  }
  const parsed = mergedManifestSchema.safeParse(json);
  if (!parsed.success) return { runs: [], problems: [{ path, problem: `not a merged manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}` }] };
  const root = dirname(path);
  const runs: LoadedRun[] = [];
  const problems: RunProblem[] = [];
  for (const run of parsed.data.runs) {
    try {
      const result = validateResult(run.result, `${path} run ${run.runId}`);
      const dir = mergedRunDir(root, run.dir, run.runId, (problem) => problems.push({ path, problem }));
      runs.push({ result, ...(dir ? { dir } : {}), source: path, shard: run.shard });
    } catch (error) {
      problems.push({ path, problem: describeError(error) });
    }
  }
  return { runs, problems };
}

/** A run's copied directory as the manifest names it, only inside the merged directory; its result stands without it. */
function mergedRunDir(root: string, dir: string, runId: string, problem: (text: string) => void): string | undefined {
  try {
    return pathInside(root, dir, `the directory of run ${runId}`);
  } catch (error) {
    problem(describeError(error));
    return undefined;
  }
}
