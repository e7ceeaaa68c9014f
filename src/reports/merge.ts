/**
 * `edgeproof merge`: a night's shard directories -> one merged directory:
 * merged.json (every run's result, every gap named), the runs' directories
 * copied beside it (never their secrets, never a symlink), report.html and
 * summary.md. A shard whose results are missing or corrupt is named and
 * marked; the rest merge. Shard names and run ids become directory names
 * only when they are safe ones (safe-paths.ts).
 */
import { existsSync } from 'node:fs';
import { cp, lstat, mkdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { compareRuns, compareTableHtml, renderCompareMarkdown } from './compare.js';
import { ChartRegistry, renderPage, verdictBadge, type ReportAssets } from './html-page.js';
import { fragment, h, relativeHref, type Html } from './html.js';
import { MERGED_FILE, MERGED_SCHEMA_VERSION, type MergedManifest, type ShardStatus } from './merged-manifest.js';
import { checkAnchor } from './report-views.js';
import { EXIT } from '../core/exit-codes.js';
import { exitCodeFor, type RunResult } from './result-model.js';
import { cellIdOf } from './run-cell.js';
import { loadRunSet, type LoadedRun } from './run-set.js';
import { SAFE_NAME_RULE, isSafeName, pathInside } from './safe-paths.js';
import { HTML_FILE, writeFileAtomic, writeHtmlReport } from './write-reports.js';

/** What the plan promised: shard name -> cell ids (from `edgeproof matrix plan`). */
export type ExpectedShards = Record<string, string[]>;

export interface MergeOptions {
  shardDirs: string[];
  out: string;
  expected?: ExpectedShards;
  claimsMB?: Record<string, number>;
  assets: ReportAssets;
}

interface ShardOutcome {
  name: string;
  path: string;
  status: ShardStatus;
  problems: string[];
  runs: LoadedRun[];
}

export async function mergeShards(opts: MergeOptions): Promise<MergedManifest> {
  const out = resolve(opts.out);
  const shards = await Promise.all(opts.shardDirs.map((dir) => loadShard(dir, opts.expected)));
  shards.push(...absentShards(opts.shardDirs, opts.expected));
  const gaps = [...shards.flatMap(shardGaps), ...cellGaps(shards, opts.expected)];
  await mkdir(join(out, 'runs'), { recursive: true });
  const runs = [];
  for (const shard of shards) {
    for (const run of shard.runs) runs.push({ ...(await copyRun(run, shard.name, out)), shard: shard.name });
  }
  const failedRuns = runs.filter((r) => r.exitCode !== 0);
  const manifest: MergedManifest = {
    schemaVersion: MERGED_SCHEMA_VERSION,
    kind: 'edgeproof-merged',
    mergedAt: new Date().toISOString(),
    verdict: gaps.length || failedRuns.length ? 'FAIL' : 'PASS',
    shards: shards.map((s) => ({ name: s.name, path: s.path, status: s.status, problems: s.problems, runIds: s.runs.map((r) => r.result.runId) })),
    gaps,
    runs,
  };
  await writeFileAtomic(join(out, MERGED_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFileAtomic(join(out, HTML_FILE), renderMergedHtml(manifest, opts));
  await writeFileAtomic(join(out, 'summary.md'), renderMergedMarkdown(manifest, opts));
  return manifest;
}

/** 3 if a shard's results are missing or corrupt (a gap) or a merged run errored, else 1 if a merged run failed checks, else 0. */
export function mergeExitCode(manifest: MergedManifest): number {
  if (manifest.gaps.length) return EXIT.error;
  return Math.max(EXIT.ok, ...manifest.runs.map((run) => run.exitCode));
}

/** A shard directory is matched to a planned shard by name: `shard-02`, or an artifact name ending in `-shard-02`. */
export function shardNameFor(dir: string, expected?: ExpectedShards): string {
  const base = basename(resolve(dir));
  const planned = Object.keys(expected ?? {}).find((name) => base === name || base.endsWith(`-${name}`));
  return planned ?? base;
}

async function loadShard(dir: string, expected?: ExpectedShards): Promise<ShardOutcome> {
  const name = shardNameFor(dir, expected);
  if (!isSafeName(name)) return { name, path: dir, status: 'corrupt', problems: [`the shard name ${JSON.stringify(name)} cannot be a directory name (${SAFE_NAME_RULE}): not merged`], runs: [] };
  if (!existsSync(dir)) return { name, path: dir, status: 'missing', problems: [`${dir} does not exist: the shard uploaded no results`], runs: [] };
  const set = await loadRunSet(dir);
  const runs = set.runs.filter((run) => isSafeName(run.result.runId));
  const unsafe = set.runs.filter((run) => !runs.includes(run)).map((run) => ({ path: run.source, problem: `run id ${JSON.stringify(run.result.runId)} cannot be a directory name (${SAFE_NAME_RULE}): not merged` }));
  const found = [...set.problems, ...unsafe];
  const problems = found.map((p) => `${p.path}: ${p.problem}`);
  const unreadable = found.some((p) => !/no runs in it/.test(p.problem));
  const status: ShardStatus = runs.length === 0 ? (unreadable ? 'corrupt' : 'missing') : problems.length ? 'partial' : 'ok';
  return { name, path: dir, status, problems, runs };
}

/** Planned shards no directory was given for (their artifact never arrived). */
function absentShards(dirs: string[], expected?: ExpectedShards): ShardOutcome[] {
  const given = new Set(dirs.map((dir) => shardNameFor(dir, expected)));
  return Object.keys(expected ?? {})
    .filter((name) => !given.has(name))
    .map((name) => ({ name, path: '-', status: 'missing' as const, problems: [`no directory for shard ${name}: its results never arrived`], runs: [] }));
}

function shardGaps(shard: ShardOutcome): string[] {
  if (shard.status === 'ok') return [];
  if (shard.status === 'partial') return shard.problems.map((p) => `shard ${shard.name}: ${p}`);
  return [`shard ${shard.name} ${shard.status}: ${shard.problems.join('; ')}`];
}

function cellGaps(shards: ShardOutcome[], expected?: ExpectedShards): string[] {
  if (!expected) return [];
  return shards.flatMap((shard) => {
    if (shard.status === 'missing' || shard.status === 'corrupt') return [];
    const found = new Set(shard.runs.map((r) => cellIdOf(r.result)));
    return (expected[shard.name] ?? []).filter((cell) => !found.has(cell)).map((cell) => `shard ${shard.name}: no result for cell ${cell}`);
  });
}

/** Copies the run directory (without secrets/), re-rendering report.html when the run predates it. */
async function copyRun(run: LoadedRun, shard: string, out: string) {
  const target = pathInside(out, join('runs', shard, run.result.runId), `the merged directory of run ${run.result.runId}`);
  if (run.dir && resolve(run.dir) !== resolve(target)) {
    await copyPublishable(run.dir, target);
  } else {
    await mkdir(target, { recursive: true });
  }
  if (!existsSync(join(target, HTML_FILE))) await writeHtmlReport(target, run.result);
  return { runId: run.result.runId, cell: cellIdOf(run.result), dir: relative(out, target), outcome: run.result.outcome, exitCode: exitCodeFor(run.result), result: run.result };
}

/**
 * Only directories and regular files, never under a `secrets` directory: a
 * symlink (`keys -> secrets`, or to anywhere on the machine) is not copied,
 * so the published merge holds nothing the run directory did not hold itself.
 */
async function copyPublishable(source: string, target: string): Promise<void> {
  await cp(source, target, {
    recursive: true,
    filter: async (path) => {
      if (relative(source, path).split(sep).includes('secrets')) return false;
      const info = await lstat(path);
      return info.isDirectory() || info.isFile();
    },
  });
}

// ---------------------------------------------------------------- reports

function resultsOf(manifest: MergedManifest): { result: RunResult; reportHref: string; shard: string }[] {
  return manifest.runs.map((run) => ({ result: run.result as RunResult, reportHref: `${relativeHref(run.dir) ?? run.dir}/${HTML_FILE}`, shard: run.shard }));
}

function renderMergedHtml(manifest: MergedManifest, opts: MergeOptions): string {
  const runs = resultsOf(manifest);
  const table = compareRuns(runs, opts.claimsMB ? { claimsMB: opts.claimsMB } : {});
  const shardRows = manifest.shards.map((s) =>
    h('tr', { class: `shard-${s.status}` }, h('td', {}, s.name), h('td', {}, verdictBadge(s.status)), h('td', {}, String(s.runIds.length)), h('td', { class: 'reason' }, s.problems.join('\n'))),
  );
  return renderPage({
    title: `edgeproof merged: ${manifest.verdict}`,
    assets: opts.assets,
    charts: new ChartRegistry(),
    generator: 'edgeproof merge',
    body: [
      h('h1', {}, 'edgeproof merged run ', h('span', { class: `badge badge-${manifest.verdict}` }, manifest.verdict)),
      h('p', {}, `${manifest.runs.length} runs from ${manifest.shards.length} shards, merged ${manifest.mergedAt}.`),
      manifest.gaps.length ? h('div', { class: 'gap', id: 'gaps' }, h('strong', {}, `${manifest.gaps.length} gap(s): these results are missing from the merge`), h('ul', {}, manifest.gaps.map((g) => h('li', {}, g)))) : '',
      h('h2', {}, 'Shards'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Shard', 'Status', 'Runs', 'Problems'].map((t) => h('th', {}, t)))), h('tbody', {}, shardRows)),
      h('h2', {}, 'Comparison'),
      compareTableHtml(table),
      h('h2', {}, 'Checks across runs'),
      checkMatrix(runs),
    ],
  });
}

/** One row per check id, one column per run: each verdict links to its evidence. */
function checkMatrix(runs: { result: RunResult; reportHref: string }[]): Html {
  const ids = [...new Set(runs.flatMap(({ result }) => result.checks.map((c) => c.id)))];
  const head = h('tr', {}, h('th', {}, 'Check'), runs.map(({ result, reportHref }) => h('th', {}, h('a', { href: reportHref }, cellIdOf(result)), h('div', { class: 'muted' }, result.runId))));
  const rows = ids.map((id) =>
    h('tr', {}, h('td', {}, id), runs.map(({ result, reportHref }) => {
      const checks = result.checks.filter((c) => c.id === id);
      if (!checks.length) return h('td', { class: 'muted' }, '-');
      return h('td', {}, checks.map((c) => h('a', { href: `${reportHref}${fragment(checkAnchor(result, c))}`, title: c.reason ?? c.name }, verdictBadge(c.verdict))));
    })),
  );
  return h('table', {}, h('thead', {}, head), h('tbody', {}, rows));
}

function renderMergedMarkdown(manifest: MergedManifest, opts: MergeOptions): string {
  const runs = resultsOf(manifest);
  const lines = [
    `# edgeproof merged run: ${manifest.verdict}`,
    '',
    `${manifest.runs.length} runs from ${manifest.shards.length} shards, merged ${manifest.mergedAt}.`,
    '',
    ...(manifest.gaps.length ? ['## Gaps', '', ...manifest.gaps.map((g) => `- **${g.replace(/\r?\n/g, ' ')}**`), ''] : []),
    '## Shards',
    '',
    '| Shard | Status | Runs |',
    '|---|---|---:|',
    ...manifest.shards.map((s) => `| ${s.name} | ${s.status === 'ok' ? 'ok' : `**${s.status}**`} | ${s.runIds.length} |`),
    '',
    renderCompareMarkdown(compareRuns(runs, opts.claimsMB ? { claimsMB: opts.claimsMB } : {})).replace(/^# edgeproof comparison/, '## Comparison'),
  ];
  return `${lines.join('\n')}\n`;
}
