/**
 * Run-to-run diff (`edgeproof diff <old> <new>`): per matrix cell, which
 * checks newly fail, which were fixed, which are flaky (their verdict changed
 * while the run's inputs did not), and which metrics regressed. A metric is
 * only a regression when it is worse by more than its tolerance AND lies
 * outside the spread seen so far: the spread of repeated runs when there are
 * several, else the spread of the run's own samples (its stats' min and max, where
 * recorded). With
 * one sample on each side and no spread it is "unconfirmed", never judged.
 */
import type { Verdict } from '../core/events.js';
import { median } from '../bench/stats.js';
import { matchesGlob, type RegressionSettings } from './budgets.js';
import type { CheckResult, MeasurementResult, RunResult } from './result-model.js';
import { cellIdOf, inputChanges, nodeRole, withoutSessionTags, type InputChange } from './run-cell.js';
import { mdInline as md } from './markdown.js';
import { formatNumber } from './summary-views.js';

export type CheckChangeKind = 'new-failure' | 'fixed' | 'flaky' | 'still-failing' | 'removed-check';

export interface CheckChange {
  key: string;
  id: string;
  name: string;
  kind: CheckChangeKind;
  /** Verdicts in the old runs (oldest first) and in the new runs. */
  old: Verdict[];
  new: Verdict[];
  reason?: string;
}

export type MetricStatus = 'regression' | 'improvement' | 'within-tolerance' | 'within-spread' | 'unconfirmed' | 'incomparable';

export interface MetricSide {
  /** Median of the runs' values (one run: its value). */
  central: number;
  low: number;
  high: number;
  runs: number;
  /** Where low..high comes from. */
  spread: 'runs' | 'samples' | 'none';
}

export interface MetricChange {
  key: string;
  id: string;
  node: string;
  unit: string;
  old: MetricSide;
  new: MetricSide;
  /** (new - old) / old, of the central values. */
  change: number;
  tolerance: number;
  higherIsBetter: boolean;
  status: MetricStatus;
}

export interface CellDiff {
  cell: string;
  oldRuns: string[];
  newRuns: string[];
  /** Inputs that differ between the latest old run and the latest new run. */
  inputChanges: InputChange[];
  checks: CheckChange[];
  metrics: MetricChange[];
}

export interface RunDiff {
  cells: CellDiff[];
  /** Cells present on one side only. */
  onlyOld: string[];
  onlyNew: string[];
  counts: { newFailures: number; fixed: number; flaky: number; stillFailing: number; regressions: number; improvements: number; unconfirmed: number };
}

export function diffRuns(oldRuns: RunResult[], newRuns: RunResult[], settings: RegressionSettings): RunDiff {
  const oldByCell = groupByCell(oldRuns);
  const newByCell = groupByCell(newRuns);
  const cells = [...newByCell.keys()].filter((cell) => oldByCell.has(cell)).sort();
  const diffs = cells.map((cell) => diffCell(cell, oldByCell.get(cell)!, newByCell.get(cell)!, settings));
  const kinds = diffs.flatMap((d) => d.checks.map((c) => c.kind));
  const statuses = diffs.flatMap((d) => d.metrics.map((m) => m.status));
  const countOf = <T>(items: T[], value: T) => items.filter((x) => x === value).length;
  return {
    cells: diffs,
    onlyOld: [...oldByCell.keys()].filter((c) => !newByCell.has(c)).sort(),
    onlyNew: [...newByCell.keys()].filter((c) => !oldByCell.has(c)).sort(),
    counts: {
      newFailures: countOf(kinds, 'new-failure'),
      fixed: countOf(kinds, 'fixed'),
      flaky: countOf(kinds, 'flaky'),
      stillFailing: countOf(kinds, 'still-failing'),
      regressions: countOf(statuses, 'regression'),
      improvements: countOf(statuses, 'improvement'),
      unconfirmed: countOf(statuses, 'unconfirmed'),
    },
  };
}

/** 1 when something got worse for sure: a new failure or a metric regression. */
export function diffExitCode(diff: RunDiff): 0 | 1 {
  return diff.counts.newFailures > 0 || diff.counts.regressions > 0 ? 1 : 0;
}

function groupByCell(runs: RunResult[]): Map<string, RunResult[]> {
  const byCell = new Map<string, RunResult[]>();
  for (const run of [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt))) {
    const cell = cellIdOf(run);
    byCell.set(cell, [...(byCell.get(cell) ?? []), run]);
  }
  return byCell;
}

function diffCell(cell: string, oldRuns: RunResult[], newRuns: RunResult[], settings: RegressionSettings): CellDiff {
  const changes = inputChanges(oldRuns.at(-1)!, newRuns.at(-1)!);
  return {
    cell,
    oldRuns: oldRuns.map((r) => r.runId),
    newRuns: newRuns.map((r) => r.runId),
    inputChanges: changes,
    checks: diffChecks(oldRuns, newRuns, changes.length === 0),
    metrics: diffMetrics(oldRuns, newRuns, settings),
  };
}

// ---------------------------------------------------------------- checks

/** Checks match across runs by id and name (names may carry a node, whose session tag is dropped). */
function checkKey(check: CheckResult): string {
  return `${check.id}|${withoutSessionTags(check.name)}`;
}

function verdictsByKey(runs: RunResult[]): Map<string, { check: CheckResult; verdicts: Verdict[] }> {
  const byKey = new Map<string, { check: CheckResult; verdicts: Verdict[] }>();
  for (const run of runs) {
    for (const check of run.checks) {
      const entry = byKey.get(checkKey(check)) ?? { check, verdicts: [] };
      entry.verdicts.push(check.verdict);
      entry.check = check;
      byKey.set(checkKey(check), entry);
    }
  }
  return byKey;
}

function diffChecks(oldRuns: RunResult[], newRuns: RunResult[], sameInputs: boolean): CheckChange[] {
  const older = verdictsByKey(oldRuns);
  const newer = verdictsByKey(newRuns);
  const changes: CheckChange[] = [];
  for (const key of [...new Set([...older.keys(), ...newer.keys()])].sort()) {
    const before = older.get(key);
    const after = newer.get(key);
    const kind = classify(before?.verdicts ?? [], after?.verdicts ?? [], sameInputs);
    if (!kind) continue;
    const check = (after ?? before)!.check;
    changes.push({ key, id: check.id, name: check.name, kind, old: before?.verdicts ?? [], new: after?.verdicts ?? [], ...(check.reason ? { reason: check.reason } : {}) });
  }
  return changes;
}

/**
 * The latest old verdict against the new ones. Flaky: the verdict changed
 * between pass and fail while the inputs stayed the same, or repeated new
 * runs disagree. A check that did not exist before and fails is a new failure.
 */
function classify(old: Verdict[], now: Verdict[], sameInputs: boolean): CheckChangeKind | undefined {
  if (!now.length) return old.at(-1) === 'fail' ? 'removed-check' : undefined;
  const latest = now.at(-1)!;
  const previous = old.at(-1);
  const repeatsDisagree = new Set(now).size > 1;
  if (previous === latest && !repeatsDisagree) return latest === 'fail' ? 'still-failing' : undefined;
  if (![previous, ...now].includes('fail')) return undefined;
  if (previous !== undefined && (sameInputs || repeatsDisagree)) return 'flaky';
  if (latest === 'fail') return 'new-failure';
  return previous === 'fail' ? 'fixed' : undefined;
}

// ---------------------------------------------------------------- metrics

function metricKey(m: MeasurementResult): string {
  return `${m.id}|${nodeRole(m.node)}`;
}

function measurementsByKey(runs: RunResult[]): Map<string, MeasurementResult[]> {
  const byKey = new Map<string, MeasurementResult[]>();
  for (const run of runs) for (const m of run.measurements) byKey.set(metricKey(m), [...(byKey.get(metricKey(m)) ?? []), m]);
  return byKey;
}

function diffMetrics(oldRuns: RunResult[], newRuns: RunResult[], settings: RegressionSettings): MetricChange[] {
  const older = measurementsByKey(oldRuns);
  const newer = measurementsByKey(newRuns);
  const changes: MetricChange[] = [];
  for (const [key, after] of [...newer].sort(([a], [b]) => a.localeCompare(b))) {
    const before = older.get(key);
    const sample = after[0]!;
    if (!before || settings.ignore.some((glob) => matchesGlob(sample.id, glob))) continue;
    changes.push(judgeMetric(key, before, after, settings));
  }
  return changes;
}

export function side(measurements: MeasurementResult[]): MetricSide {
  const values = measurements.map((m) => m.value);
  if (values.length > 1) return { central: median(values), low: Math.min(...values), high: Math.max(...values), runs: values.length, spread: 'runs' };
  // One run: the spread of its own samples, as far as its stats tell (latency records a max but no min).
  const only = measurements[0]!;
  const { min, max, samples } = only.stats ?? {};
  if ((min === undefined && max === undefined) || (samples ?? 2) < 2) return { central: only.value, low: only.value, high: only.value, runs: 1, spread: 'none' };
  return { central: only.value, low: Math.min(min ?? only.value, only.value), high: Math.max(max ?? only.value, only.value), runs: 1, spread: 'samples' };
}

function toleranceFor(id: string, settings: RegressionSettings): number {
  return settings.metrics.find(([glob]) => matchesGlob(id, glob))?.[1] ?? settings.tolerance;
}

export function judgeMetric(key: string, before: MeasurementResult[], after: MeasurementResult[], settings: RegressionSettings): MetricChange {
  const sample = after.at(-1)!;
  const higherIsBetter = settings.higherIsBetter.some((glob) => matchesGlob(sample.id, glob));
  const tolerance = toleranceFor(sample.id, settings);
  const [old, now] = [side(before), side(after)];
  const base = { key, id: sample.id, node: nodeRole(sample.node), unit: sample.unit, old, new: now, tolerance, higherIsBetter };
  if (before.some((m) => m.unit !== sample.unit)) return { ...base, change: Number.NaN, status: 'incomparable' };
  const change = old.central === 0 ? (now.central === 0 ? 0 : Math.sign(now.central) * Number.POSITIVE_INFINITY) : (now.central - old.central) / Math.abs(old.central);
  const worse = higherIsBetter ? change < -tolerance : change > tolerance;
  const better = higherIsBetter ? change > tolerance : change < -tolerance;
  if (!worse && !better) return { ...base, change, status: 'within-tolerance' };
  if (old.spread === 'none' && now.spread === 'none') return { ...base, change, status: 'unconfirmed' };
  // Worse (or better) only counts when the new runs lie wholly beyond the old spread.
  const beyond = change > 0 ? now.low > old.high : now.high < old.low;
  return { ...base, change, status: beyond ? (worse ? 'regression' : 'improvement') : 'within-spread' };
}

// ---------------------------------------------------------------- Markdown

const KIND_TITLES: [CheckChangeKind, string][] = [
  ['new-failure', 'New failures'],
  ['flaky', 'Flaky (verdict changed, inputs did not)'],
  ['fixed', 'Fixed'],
  ['still-failing', 'Still failing'],
  ['removed-check', 'Failing checks no longer run'],
];

export function renderDiffMarkdown(diff: RunDiff, labels: { old: string; new: string }): string {
  const c = diff.counts;
  const lines = [
    `# edgeproof diff: ${diffExitCode(diff) ? 'WORSE' : 'no new failures or regressions'}`,
    '',
    `Old: ${labels.old}. New: ${labels.new}.`,
    '',
    `**${c.newFailures} new failures, ${c.regressions} regressions**, ${c.fixed} fixed, ${c.flaky} flaky, ${c.stillFailing} still failing, ${c.improvements} improvements, ${c.unconfirmed} unconfirmed (one sample each side, no spread).`,
  ];
  if (diff.onlyOld.length) lines.push('', `Cells only in the old runs (not run this time): ${diff.onlyOld.map(code).join(', ')}`);
  if (diff.onlyNew.length) lines.push('', `Cells only in the new runs: ${diff.onlyNew.map(code).join(', ')}`);
  for (const cell of diff.cells) lines.push('', ...cellMarkdown(cell));
  return `${lines.join('\n')}\n`;
}

function cellMarkdown(cell: CellDiff): string[] {
  const lines = [`## ${code(cell.cell)}`, '', `Old runs: ${cell.oldRuns.join(', ')}. New runs: ${cell.newRuns.join(', ')}.`];
  lines.push('', cell.inputChanges.length ? `Inputs changed: ${cell.inputChanges.map((i) => `${code(i.key)} ${md(i.old ?? '(none)')} -> ${md(i.new ?? '(none)')}`).join('; ')}.` : 'Inputs unchanged: a verdict change here is flaky.');
  for (const [kind, title] of KIND_TITLES) {
    const checks = cell.checks.filter((x) => x.kind === kind);
    if (!checks.length) continue;
    lines.push('', `### ${title}`, '', '| Check | Old | New | Reason |', '|---|---|---|---|');
    for (const check of checks) lines.push(`| ${md(`${check.id} ${check.name}`)} | ${check.old.join(', ') || '-'} | ${check.new.join(', ')} | ${md(check.reason ?? '')} |`);
  }
  const metrics = cell.metrics.filter((m) => m.status !== 'within-tolerance');
  if (metrics.length) {
    lines.push('', '### Metrics beyond tolerance', '', '| Metric | Node | Old | New | Change | Tolerance | Verdict |', '|---|---|---:|---:|---:|---:|---|');
    for (const m of metrics) {
      lines.push(`| ${md(m.id)} | ${md(m.node)} | ${sideText(m.old, m.unit)} | ${sideText(m.new, m.unit)} | ${percent(m.change)} | ${higherLower(m)}${Math.round(m.tolerance * 100)}% | ${m.status === 'regression' ? '**regression**' : m.status} |`);
    }
  }
  return lines;
}

function sideText(s: MetricSide, unit: string): string {
  const spread = s.spread === 'none' ? 'one sample' : `${formatNumber(s.low)}..${formatNumber(s.high)} over ${s.spread === 'runs' ? `${s.runs} runs` : "the run's samples"}`;
  return `${formatNumber(s.central)} ${md(unit)} (${spread})`;
}

function higherLower(m: MetricChange): string {
  return m.higherIsBetter ? '-' : '+';
}

function percent(change: number): string {
  if (!Number.isFinite(change)) return Number.isNaN(change) ? '-' : 'from 0';
  return `${change >= 0 ? '+' : ''}${Math.round(change * 100)}%`;
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
