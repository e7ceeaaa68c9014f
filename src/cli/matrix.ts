/**
 * The nightly matrix: a YAML file of distros x boards x topologies x suites
 * (with exclusions and per-cell estimates and timeouts), expanded into cells
 * and packed into shards that fit a runner's time budget. The plan is data:
 * GitHub Actions' `{"include": [...]}`, each shard with the exact
 * `edgeproof run` arguments of its cells and the script that runs them, so
 * the same plan runs locally without GitHub.
 */
import { z } from 'zod';
import { median } from '../bench/stats.js';
import { parseDuration } from '../core/duration.js';
import { shellQuote } from '../emulation/machine.js';
import type { RunResult } from '../reports/result-model.js';
import { canonicalSuites, cellId, cellIdOf, type RunCell } from '../reports/run-cell.js';
import { parseYamlConfig, type YamlSource } from '../reports/yaml-config.js';

/** What the matrix may name: checked with the file's line numbers. */
export interface MatrixVocabulary {
  distros: readonly string[];
  boards: readonly string[];
  suites: readonly string[];
}

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value, 'duration');
  } catch {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a duration: write "90s", "20m" or "1h30m"` });
    return z.NEVER;
  }
});
const topology = z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^\d+(\+\d+)?$/, 'a topology is "1", "3", "1+2" or "3+1" (control planes + workers)'));
const matchSchema = z
  .object({ distro: z.string().optional(), board: z.string().optional(), topology: topology.optional(), suites: z.string().optional() })
  .strict()
  .refine((m) => Object.values(m).some((v) => v !== undefined), 'an empty match would match every cell');
const settingsSchema = { estimate: duration.optional(), timeout: duration.optional(), args: z.array(z.string()).optional() };

export const matrixSchema = z
  .object({
    schemaVersion: z.literal(1),
    /** Per shard: checkout, setup, cache restore, artifact upload. */
    shardSetup: duration.default('15m'),
    defaults: z.object({ estimate: duration, timeout: duration, args: z.array(z.string()).default([]) }).strict(),
    distros: z.array(z.string().min(1)).min(1),
    boards: z.array(z.string().min(1)).min(1),
    topologies: z.array(topology).min(1),
    suites: z.array(z.string().min(1)).min(1),
    exclude: z.array(matchSchema).default([]),
    overrides: z.array(z.object({ match: matchSchema, ...settingsSchema }).strict()).default([]),
  })
  .strict();

export type MatrixFile = z.infer<typeof matrixSchema>;
type Match = z.infer<typeof matchSchema>;

const HINT = 'see fixtures/matrix/nightly.yaml for the format';

export function parseMatrix(source: YamlSource, vocabulary: MatrixVocabulary): MatrixFile {
  return parseYamlConfig(source, matrixSchema.superRefine((matrix, ctx) => checkNames(matrix, vocabulary, ctx)), HINT).value;
}

function checkNames(matrix: MatrixFile, vocabulary: MatrixVocabulary, ctx: z.RefinementCtx): void {
  const unknown = (path: (string | number)[], what: string, value: string, valid: readonly string[]) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `unknown ${what} "${value}" (valid: ${valid.join(', ')})` });
  matrix.distros.forEach((d, i) => vocabulary.distros.includes(d) || unknown(['distros', i], 'distribution', d, vocabulary.distros));
  matrix.boards.forEach((b, i) => vocabulary.boards.includes(b) || unknown(['boards', i], 'board', b, vocabulary.boards));
  matrix.suites.forEach((entry, i) => {
    for (const suite of entry.split(',').map((s) => s.trim())) if (!vocabulary.suites.includes(suite)) unknown(['suites', i], 'suite', suite, vocabulary.suites);
  });
  const dimensions = { distro: matrix.distros, board: matrix.boards, topology: matrix.topologies, suites: matrix.suites.map((s) => canonicalSuites(s.split(','))) };
  const checkMatch = (match: Match, path: (string | number)[]) => {
    for (const [key, value] of Object.entries(match) as [keyof Match, string | undefined][]) {
      const normal = key === 'suites' && value ? canonicalSuites(value.split(',')) : value;
      if (normal !== undefined && !dimensions[key].includes(normal)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, key], message: `"${value}" is not in the matrix's ${key === 'suites' ? 'suites' : `${key}s`} (${dimensions[key].join(', ')}): this would match nothing` });
      }
    }
  };
  matrix.exclude.forEach((match, i) => checkMatch(match, ['exclude', i]));
  matrix.overrides.forEach((override, i) => checkMatch(override.match, ['overrides', i, 'match']));
}

// ---------------------------------------------------------------- cells

export interface MatrixCell extends RunCell {
  id: string;
  estimateMs: number;
  timeoutMs: number;
  /** Extra `edgeproof run` arguments. */
  args: string[];
}

function matches(match: Match, cell: RunCell): boolean {
  return (
    (match.distro === undefined || match.distro === cell.distro) &&
    (match.board === undefined || match.board === cell.board) &&
    (match.topology === undefined || match.topology === cell.topology) &&
    (match.suites === undefined || canonicalSuites(match.suites.split(',')) === cell.suites)
  );
}

/** Every combination the exclusions leave, in file order, with its overrides applied (later ones win; args add up). */
export function expandCells(matrix: MatrixFile): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const distro of matrix.distros) {
    for (const board of matrix.boards) {
      for (const topology of matrix.topologies) {
        for (const entry of matrix.suites) {
          const cell: RunCell = { distro, board, topology, suites: canonicalSuites(entry.split(',')) };
          if (matrix.exclude.some((match) => matches(match, cell))) continue;
          const base = { estimateMs: matrix.defaults.estimate, timeoutMs: matrix.defaults.timeout, args: [...matrix.defaults.args] };
          const settings = matrix.overrides.filter((o) => matches(o.match, cell)).reduce((acc, o) => ({
            estimateMs: o.estimate ?? acc.estimateMs,
            timeoutMs: o.timeout ?? acc.timeoutMs,
            args: [...acc.args, ...(o.args ?? [])],
          }), base);
          cells.push({ ...cell, id: cellId(cell), ...settings });
        }
      }
    }
  }
  return cells;
}

/** Median wall time per cell over earlier runs that ran to the end (completed or failed). */
export function measuredDurations(history: RunResult[]): Map<string, number> {
  const byCell = new Map<string, number[]>();
  for (const run of history) {
    if (run.durationMs === undefined || (run.outcome !== 'completed' && run.outcome !== 'failed')) continue;
    byCell.set(cellIdOf(run), [...(byCell.get(cellIdOf(run)) ?? []), run.durationMs]);
  }
  return new Map([...byCell].map(([cell, durations]) => [cell, median(durations)]));
}

// ---------------------------------------------------------------- shards

export interface PlannedRun {
  cell: string;
  /** The exact arguments after `edgeproof`. */
  args: string[];
  estimateMinutes: number;
  estimateFrom: 'history' | 'matrix';
  timeoutMinutes: number;
}

export interface PlannedShard {
  shard: string;
  name: string;
  cells: string[];
  runs: PlannedRun[];
  estimatedMinutes: number;
  /** For the job's timeout-minutes: setup plus every cell's timeout, capped at GitHub's 360. */
  timeoutMinutes: number;
  /** Bash that runs the shard's cells from the repository root, each under its own timeout. */
  script: string;
}

export interface MatrixPlan {
  include: PlannedShard[];
  warnings: string[];
}

export interface PlanOptions {
  shardMinutes: number;
  setupMs: number;
  history?: Map<string, number>;
  /** Where each shard's run directories go: `<resultsDir>/<shard>`. */
  resultsDir?: string;
}

const GITHUB_JOB_LIMIT_MINUTES = 360;

/** First-fit decreasing by estimated minutes; a cell longer than the budget gets a shard of its own and a warning. */
export function planShards(cells: MatrixCell[], opts: PlanOptions): MatrixPlan {
  const warnings: string[] = [];
  const capacityMs = opts.shardMinutes * 60_000 - opts.setupMs;
  if (capacityMs <= 0) warnings.push(`--shard-minutes ${opts.shardMinutes} leaves no time after the shard setup of ${minutes(opts.setupMs)} min`);
  const sized = cells.map((cell) => {
    const measured = opts.history?.get(cell.id);
    return { cell, ms: measured ?? cell.estimateMs, from: measured === undefined ? ('matrix' as const) : ('history' as const) };
  });
  const bins: (typeof sized)[] = [];
  for (const item of [...sized].sort((a, b) => b.ms - a.ms || a.cell.id.localeCompare(b.cell.id))) {
    const bin = bins.find((b) => total(b) + item.ms <= capacityMs);
    if (bin) bin.push(item);
    else {
      if (item.ms > capacityMs) warnings.push(`cell ${item.cell.id} is estimated at ${minutes(item.ms)} min, more than a shard's ${opts.shardMinutes} min budget: it gets a shard of its own`);
      bins.push([item]);
    }
  }
  const width = String(bins.length).length;
  const include = bins.map((bin, i) => {
    const shard = `shard-${String(i + 1).padStart(Math.max(2, width), '0')}`;
    const runs = bin.map(({ cell, ms, from }) => plannedRun(cell, ms, from, `${opts.resultsDir ?? 'results'}/${shard}`));
    const timeoutMinutes = Math.ceil(minutes(opts.setupMs) + runs.reduce((sum, r) => sum + r.timeoutMinutes, 0));
    if (timeoutMinutes > GITHUB_JOB_LIMIT_MINUTES) warnings.push(`${shard}: its cells' timeouts add up to ${timeoutMinutes} min, above GitHub's ${GITHUB_JOB_LIMIT_MINUTES}: the job is capped there`);
    return {
      shard,
      name: `${shard}: ${bin.map((b) => `${b.cell.distro}/${b.cell.board}/${b.cell.topology}`).filter(unique).join(', ')}`,
      cells: runs.map((r) => r.cell),
      runs,
      estimatedMinutes: Math.ceil(minutes(opts.setupMs + total(bin))),
      timeoutMinutes: Math.min(timeoutMinutes, GITHUB_JOB_LIMIT_MINUTES),
      script: shardScript(runs),
    };
  });
  return { include, warnings };
}

function plannedRun(cell: MatrixCell, ms: number, from: 'history' | 'matrix', reportsDir: string): PlannedRun {
  const topology = cell.topology === '1' ? [] : ['--topology', cell.topology];
  return {
    cell: cell.id,
    args: ['run', '--distro', cell.distro, '--board', cell.board, ...topology, '--suite', cell.suites, '--reports-dir', reportsDir, ...cell.args],
    estimateMinutes: Math.round(minutes(ms) * 10) / 10,
    estimateFrom: from,
    timeoutMinutes: Math.ceil(minutes(cell.timeoutMs)),
  };
}

/**
 * Each cell under `timeout --signal=INT` (Ctrl-C: the run writes what it has and
 * exits 130), then the next; the shard exits with the highest code of its cells.
 */
export function shardScript(runs: PlannedRun[]): string {
  // The highest code, so a run that errored (3) is not reported as a failed check (1).
  const lines = ['status=0', 'worst() { if [ "$1" -gt "$status" ]; then status=$1; fi; }'];
  for (const run of runs) {
    const command = ['node', 'bin/edgeproof.js', ...run.args].map(quoteIfNeeded).join(' ');
    lines.push(`echo "::group::${run.cell}"`, `timeout --signal=INT --kill-after=120 ${run.timeoutMinutes * 60} ${command} || worst $?`, 'echo "::endgroup::"');
  }
  lines.push('exit $status');
  return `${lines.join('\n')}\n`;
}

function quoteIfNeeded(word: string): string {
  return /^[A-Za-z0-9_./,:=+-]+$/.test(word) ? word : shellQuote(word);
}

function total(bin: { ms: number }[]): number {
  return bin.reduce((sum, item) => sum + item.ms, 0);
}

function minutes(ms: number): number {
  return ms / 60_000;
}

function unique<T>(value: T, index: number, all: T[]): boolean {
  return all.indexOf(value) === index;
}

/** merge --plan: shard -> cells it promised. */
export function expectedShards(plan: { include: { shard: string; cells: string[] }[] }): Record<string, string[]> {
  return Object.fromEntries(plan.include.map((s) => [s.shard, s.cells]));
}
