import { describe, expect, it } from 'vitest';
import type { RegressionSettings } from './budgets.js';
import { diffExitCode, diffRuns, judgeMetric, renderDiffMarkdown, side } from './diff.js';
import type { MeasurementResult, RunResult } from './result-model.js';
import { summarize } from './result-model.js';
import { SAMPLE_RUNS, sampleResult } from './sample-runs.js';

const settings: RegressionSettings = { tolerance: 0.25, metrics: [['BM-MEM-1/**', 0.1]], higherIsBetter: ['HA-*/availability'], ignore: ['BM-API-1/loader-overhead'] };
const passing = sampleResult(SAMPLE_RUNS.passing);
const failing = sampleResult(SAMPLE_RUNS.failing);

/** The same run again (so its inputs are identical by construction) with one check's verdict changed. */
function rerunWith(result: RunResult, runId: string, startedAt: string, change: Record<string, 'pass' | 'fail'>): RunResult {
  const checks = result.checks.map((c) => (change[c.id] ? { ...c, verdict: change[c.id]!, reason: `changed for this test: ${change[c.id]}` } : c));
  return { ...result, runId, startedAt, checks, summary: summarize(checks) };
}

describe('diffRuns on real runs', () => {
  it('a passing night followed by the failing one: new failures, input changes named, exit 1', () => {
    const diff = diffRuns([passing], [failing], settings);
    expect(diff.cells).toHaveLength(1);
    const cell = diff.cells[0]!;
    expect(cell.cell).toBe('upstream/rpi4/1/api-latency,footprint,smoke');
    expect(cell.inputChanges.map((c) => c.key)).toEqual(['config.latencyDurationMs', 'config.latencyRate']);
    const newFailures = cell.checks.filter((c) => c.kind === 'new-failure').map((c) => c.id);
    expect(newFailures.sort()).toEqual(['BM-API-1/configmap-delete', 'BM-API-1/pod-delete', 'BM-API-1/pod-get', 'BM-API-1/pod-update', 'BOOT-3', 'SMOKE-2', 'SMOKE-3']);
    expect(diff.counts.newFailures).toBe(7);
    expect(diffExitCode(diff)).toBe(1);
  });

  it('judges metrics with the spread the runs recorded, not one sample', () => {
    const cell = diffRuns([passing], [failing], settings).cells[0]!;
    const metric = (id: string) => cell.metrics.find((m) => m.id === id)!;
    // Footprint: +6.3 % PSS, within the 10 % tolerance for BM-MEM-1.
    expect(metric('BM-MEM-1/services-pss')).toMatchObject({ status: 'within-tolerance', tolerance: 0.1, node: 'cp-0', old: { spread: 'samples', runs: 1 } });
    // Latency p50 113 ms -> 4432 ms: beyond the old run's largest call (1926 ms): a regression.
    expect(metric('BM-API-1/configmap-create')).toMatchObject({ status: 'regression', old: { high: 1925.744 }, new: { low: 4431.871 } });
    // Node Ready 124 s -> 181 s: one value each, no spread: reported as unconfirmed, never judged.
    expect(metric('BOOT-0/nodeReady')).toMatchObject({ status: 'unconfirmed', old: { spread: 'none' } });
    expect(cell.metrics.some((m) => m.id === 'BM-API-1/loader-overhead')).toBe(false);
  });

  it('the other way round: fixed checks and improvements, exit 0', () => {
    const diff = diffRuns([failing], [passing], settings);
    expect(diff.counts).toMatchObject({ newFailures: 0, fixed: 7, regressions: 0 });
    expect(diff.cells[0]!.metrics.find((m) => m.id === 'BM-API-1/pod-update')?.status).toBe('improvement');
    expect(diffExitCode(diff)).toBe(0);
  });

  it('a verdict change with unchanged inputs is flaky, not a new failure', () => {
    const again = rerunWith(passing, 'r-again', '2026-11-25T08:59:53.460Z', { 'SMOKE-2': 'fail' });
    const diff = diffRuns([passing], [again], settings);
    expect(diff.cells[0]!.inputChanges).toEqual([]);
    expect(diff.cells[0]!.checks).toEqual([expect.objectContaining({ id: 'SMOKE-2', kind: 'flaky', old: ['pass'], new: ['fail'] })]);
    expect(diff.counts).toMatchObject({ newFailures: 0, flaky: 1 });
    expect(diffExitCode(diff)).toBe(0);
  });

  it('repeated new runs that disagree are flaky even when inputs changed', () => {
    const repeatA = rerunWith(failing, 'r-a', '2026-11-25T01:00:00.000Z', { 'SMOKE-3': 'pass' });
    const diff = diffRuns([passing], [repeatA, failing], settings);
    expect(diff.cells[0]!.checks.find((c) => c.id === 'SMOKE-3')).toMatchObject({ kind: 'flaky', new: ['fail', 'pass'] });
    expect(diff.cells[0]!.checks.find((c) => c.id === 'SMOKE-2')).toMatchObject({ kind: 'new-failure' });
  });

  it('cells on one side only are listed, not diffed', () => {
    const smokeOnly = sampleResult(SAMPLE_RUNS.interrupted);
    const diff = diffRuns([passing, smokeOnly], [failing], settings);
    expect(diff.onlyOld).toEqual(['upstream/rpi4/1/smoke']);
    expect(diff.cells.map((c) => c.cell)).toEqual(['upstream/rpi4/1/api-latency,footprint,smoke']);
  });

  it('renders Markdown with the sections a person acts on', () => {
    const md = renderDiffMarkdown(diffRuns([passing], [failing], settings), { old: 'last night', new: 'tonight' });
    expect(md).toMatch(/^# edgeproof diff: WORSE/);
    expect(md).toContain('**7 new failures, ');
    expect(md).toContain('### New failures');
    expect(md).toContain('Inputs changed: `config.latencyDurationMs` 30000 -> 20000; `config.latencyRate` 2 -> 5.');
    expect(md).toMatch(/\| BM-API-1\/configmap-create \| - \| 113 ms \(113\.\.1926 over the run's samples\) \| 4432 ms .* \| \*\*regression\*\* \|/);
  });
});

describe('judgeMetric: tolerance and spread', () => {
  const m = (value: number, stats?: Record<string, number>, id = 'BM-POD-1/startup'): MeasurementResult => ({ id, suite: 'bench', name: id, unit: 'ms', value, ...(stats ? { stats } : {}) });

  it('several old runs: worse beyond tolerance and beyond the slowest old run is a regression', () => {
    expect(judgeMetric('k', [m(100), m(110), m(120)], [m(140)], settings)).toMatchObject({ status: 'regression', old: { central: 110, low: 100, high: 120, spread: 'runs' } });
  });

  it('worse beyond tolerance but inside the old runs\' spread is not a regression', () => {
    expect(judgeMetric('k', [m(100), m(150), m(110)], [m(140)], settings)).toMatchObject({ status: 'within-spread' });
  });

  it('within tolerance is fine whatever the spread', () => {
    expect(judgeMetric('k', [m(100), m(110), m(120)], [m(130)], settings).status).toBe('within-tolerance');
  });

  it('one sample a side without stats: unconfirmed', () => {
    expect(judgeMetric('k', [m(100)], [m(300)], settings).status).toBe('unconfirmed');
  });

  it('one run a side with sample stats: their ranges must not overlap', () => {
    expect(judgeMetric('k', [m(100, { min: 90, max: 140, samples: 30 })], [m(130, { min: 120, max: 150, samples: 30 })], settings).status).toBe('within-spread');
    expect(judgeMetric('k', [m(100, { min: 90, max: 110, samples: 30 })], [m(130, { min: 120, max: 150, samples: 30 })], settings).status).toBe('regression');
  });

  it('higher is better for availability: a drop is the regression', () => {
    const a = (value: number) => m(value, undefined, 'HA-3/availability');
    expect(judgeMetric('k', [a(99.9), a(99.8)], [a(60)], settings)).toMatchObject({ status: 'regression', higherIsBetter: true });
    expect(judgeMetric('k', [a(60), a(62)], [a(99.9)], settings).status).toBe('improvement');
  });

  it('a single run without usable stats has no spread', () => {
    expect(side([m(5, { samples: 1, max: 5 })])).toMatchObject({ spread: 'none' });
  });
});
