/**
 * The commands that work on results rather than clusters: `report` (re-render
 * a run), `compare`, `diff`, `merge` and `matrix plan`. Each resolves to its
 * exit code (see EXIT_CODES_HELP); bad input throws a UsageError (exit 2).
 */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { fixturePath, makeDirectory } from '../core/paths.js';
import { loadBudgets } from '../reports/budgets.js';
import { compareRuns, renderCompareHtml, renderCompareMarkdown } from '../reports/compare.js';
import { diffExitCode, diffRuns, renderDiffMarkdown } from '../reports/diff.js';
import { loadReportAssets } from '../reports/html-page.js';
import { relativeHref } from '../reports/html.js';
import { mergeExitCode, mergeShards } from '../reports/merge.js';
import { exitCodeFor } from '../reports/result-model.js';
import { loadRunSet, type LoadedRun, type RunSet } from '../reports/run-set.js';
import { HTML_FILE, readRunDir, writeReports } from '../reports/write-reports.js';
import { EXIT } from '../core/exit-codes.js';
import { expandCells, expectedShards, measuredDurations, parseMatrix, planShards, type MatrixVocabulary } from './matrix.js';

type Write = (text: string) => void;
const out: Write = (text) => process.stdout.write(text);
const err: Write = (text) => process.stderr.write(text);

/** Vendor memory claims (MB), the table every report sets beside the measured figures. */
export function vendorClaims(): Record<string, number> {
  const versions = JSON.parse(readFileSync(fixturePath('versions.json'), 'utf8')) as { claims?: Record<string, number> };
  return versions.claims ?? {};
}

// ---------------------------------------------------------------- report

/** Re-renders a run directory's reports from its events.jsonl (e.g. after a crash, or with a newer renderer). */
export async function reportCommand(opts: { runDir: string }, write: Write = out): Promise<number> {
  const { events, badLines } = await readRunDir(opts.runDir);
  if (badLines.length) err(`warning: skipped unreadable event line(s) ${badLines.join(', ')} of ${join(opts.runDir, 'events.jsonl')}\n`);
  const result = await writeReports(opts.runDir, events, { claims: vendorClaims() });
  write(`${join(opts.runDir, HTML_FILE)}\n`);
  return exitCodeFor(result);
}

// ---------------------------------------------------------------- compare

export async function compareCommand(opts: { paths: string[]; out: string }, write: Write = out): Promise<number> {
  const runs = await requireRuns(opts.paths, 'compare');
  makeDirectory(opts.out);
  const table = compareRuns(runs.map((run) => ({ result: run.result, ...reportHref(run, opts.out) })), { claimsMB: vendorClaims() });
  await writeFile(join(opts.out, 'compare.html'), renderCompareHtml(table, loadReportAssets()));
  await writeFile(join(opts.out, 'compare.md'), renderCompareMarkdown(table));
  write(`${join(opts.out, 'compare.html')}\n${join(opts.out, 'compare.md')}\n`);
  return EXIT.ok;
}

function reportHref(run: LoadedRun, outDir: string): { reportHref?: string } {
  if (!run.dir) return {};
  const href = relativeHref(relative(resolve(outDir), join(run.dir, HTML_FILE)).split('\\').join('/'));
  return href ? { reportHref: href } : {};
}

/** Every path must hold at least one run; what could not be read is said, and the command goes on with the rest. */
async function requireRuns(paths: string[], command: string): Promise<LoadedRun[]> {
  const sets: RunSet[] = await Promise.all(paths.map(loadRunSet));
  sets.forEach((set, i) => {
    for (const problem of set.problems) err(`warning: ${problem.path}: ${problem.problem}\n`);
    if (!set.runs.length) throw new UsageError(`${command}: no readable run in ${paths[i]}`, 'pass run directories (holding result.json or events.jsonl), result.json files, or a merged directory');
  });
  return sets.flatMap((set) => set.runs);
}

// ---------------------------------------------------------------- diff

export async function diffCommand(opts: { old: string; new: string; budgets?: string; out?: string }, write: Write = out): Promise<number> {
  const [older, newer] = [await requireRuns([opts.old], 'diff'), await requireRuns([opts.new], 'diff')];
  const budgets = await loadBudgets(opts.budgets);
  const diff = diffRuns(older.map((r) => r.result), newer.map((r) => r.result), budgets.regression);
  const markdown = renderDiffMarkdown(diff, { old: opts.old, new: opts.new });
  if (opts.out) {
    makeDirectory(opts.out);
    await writeFile(join(opts.out, 'diff.md'), markdown);
    await writeFile(join(opts.out, 'diff.json'), `${JSON.stringify(diff, null, 2)}\n`);
  }
  write(markdown);
  return diffExitCode(diff);
}

// ---------------------------------------------------------------- merge

const planFileSchema = z.object({ include: z.array(z.object({ shard: z.string(), cells: z.array(z.string()) }).passthrough()) });

export async function mergeCommand(opts: { shards: string[]; out: string; plan?: string }, write: Write = out): Promise<number> {
  const expected = opts.plan ? expectedShards(await readPlan(opts.plan)) : undefined;
  const manifest = await mergeShards({ shardDirs: opts.shards, out: opts.out, ...(expected ? { expected } : {}), claimsMB: vendorClaims(), assets: loadReportAssets() });
  for (const gap of manifest.gaps) err(`gap: ${gap}\n`);
  write(`merged ${manifest.runs.length} run(s) from ${manifest.shards.length} shard(s): ${manifest.verdict}\n${join(opts.out, HTML_FILE)}\n`);
  return mergeExitCode(manifest);
}

async function readPlan(path: string): Promise<z.infer<typeof planFileSchema>> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new UsageError(`Cannot read the plan ${path}: ${error.message}`, 'pass the JSON `edgeproof matrix plan` printed');
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not JSON: ${(error as Error).message}`, 'pass the JSON `edgeproof matrix plan` printed');
  }
  const parsed = planFileSchema.safeParse(json);
  if (!parsed.success) throw new UsageError(`${path} is not a matrix plan: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

// ---------------------------------------------------------------- matrix plan

export const DEFAULT_MATRIX_FILE = fixturePath('matrix', 'nightly.yaml');

export async function matrixPlanCommand(
  opts: { file: string; shardMinutes: number; history?: string; resultsDir?: string; pretty?: boolean },
  vocabulary: MatrixVocabulary,
  write: Write = out,
): Promise<number> {
  const text = await readFile(opts.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot read the matrix file ${opts.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  const matrix = parseMatrix({ text, file: opts.file }, vocabulary);
  const history = opts.history ? measuredDurations((await loadHistory(opts.history)).map((r) => r.result)) : undefined;
  const plan = planShards(expandCells(matrix), { shardMinutes: opts.shardMinutes, setupMs: matrix.shardSetup, ...(history ? { history } : {}), ...(opts.resultsDir ? { resultsDir: opts.resultsDir } : {}) });
  for (const warning of plan.warnings) err(`warning: ${warning}\n`);
  write(`${JSON.stringify({ include: plan.include }, null, opts.pretty ? 2 : undefined)}\n`);
  return EXIT.ok;
}

/** Earlier runs for their durations; an empty or unreadable history only means estimates are used. */
async function loadHistory(dir: string): Promise<LoadedRun[]> {
  const set = await loadRunSet(dir);
  if (!set.runs.length) err(`warning: no earlier runs in ${dir}: using the matrix's estimates\n`);
  return set.runs;
}

