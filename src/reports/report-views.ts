/**
 * What the HTML report draws, as data: anchors, the phase timeline, latency
 * histograms, footprint series, failover timelines. Pure functions of the
 * result; the renderer only formats them.
 *
 * Evidence conventions the report reads when a scenario records them:
 * - API latency: measurement evidence `histogramBase64Us` (HDR histogram,
 *   compressed base64, microseconds), as bench/open-model-loader writes it.
 * - Footprint over time: measurement evidence `series: { tMs: number[], values: number[] }`,
 *   values in the measurement's unit, tMs from the start of the sampling window.
 * - Failover: measurement evidence `outages: [{ startMs, endMs, target? }]`,
 *   times from the run start (the same clock as result.faults[].t).
 */
import { decodeFromCompressedBase64, type JsHistogram } from 'hdr-histogram-js';
import { z } from 'zod';
import type { CheckResult, MeasurementResult, PhaseResult, RunResult } from './result-model.js';
import { FOOTPRINT_SUITE, apiOperation, toMegabytes, API_LATENCY_SUITE } from './summary-views.js';

// ---------------------------------------------------------------- anchors

/** Element ids of checks (and measurements), stable within a run: the id, then ~2, ~3 for repeats (one check per node). */
export function anchorIds(items: readonly { id: string }[], prefix: 'check' | 'measurement'): string[] {
  const seen = new Map<string, number>();
  return items.map(({ id }) => {
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    const base = `${prefix}-${id.replace(/[\s\u0000-\u001F\u007F]+/g, '_')}`;
    return n === 1 ? base : `${base}~${n}`;
  });
}

export function checkAnchor(result: Pick<RunResult, 'checks'>, check: CheckResult): string {
  return anchorIds(result.checks, 'check')[result.checks.indexOf(check)]!;
}

export function measurementAnchor(result: Pick<RunResult, 'measurements'>, measurement: MeasurementResult): string {
  return anchorIds(result.measurements, 'measurement')[result.measurements.indexOf(measurement)]!;
}

// ---------------------------------------------------------------- phases

export interface TimelineBar {
  label: string;
  startS: number;
  endS: number;
  outcome: PhaseResult['outcome'];
  budgetS?: number;
}

/** Each phase from its start to its end (an unfinished one to the end of the run), in seconds from the run start. */
export function phaseTimeline(result: RunResult): TimelineBar[] {
  const runEndMs = result.durationMs ?? Math.max(0, ...result.phases.map((p) => p.t + (p.durationMs ?? 0)));
  return result.phases.map((p) => ({
    label: p.node ? `${p.name} [${p.node}]` : p.name,
    startS: p.t / 1000,
    endS: (p.durationMs === undefined ? Math.max(p.t, runEndMs) : p.t + p.durationMs) / 1000,
    outcome: p.outcome,
    ...(p.budgetMs !== undefined ? { budgetS: p.budgetMs / 1000 } : {}),
  }));
}

// ---------------------------------------------------------------- latency

export interface HistogramView {
  operation: string;
  /** Bucket upper edges, ms. */
  upperMs: number[];
  counts: number[];
  total: number;
}

const BIN_COUNT = 16;

/**
 * Bins an HDR histogram (microseconds) into log-spaced buckets between its
 * smallest and largest recorded values. Undefined when the evidence has none
 * or it does not decode.
 */
export function latencyHistogram(m: MeasurementResult): HistogramView | undefined {
  const encoded = m.evidence?.histogramBase64Us;
  if (typeof encoded !== 'string' || !encoded) return undefined;
  let values: [us: number, count: number][];
  try {
    values = recordedValues(decodeFromCompressedBase64(encoded) as JsHistogram);
  } catch {
    return undefined;
  }
  if (values.length === 0) return undefined;
  return { operation: apiOperation(m), ...binLogarithmic(values), total: values.reduce((sum, [, count]) => sum + count, 0) };
}

function recordedValues(histogram: JsHistogram): [number, number][] {
  const out: [number, number][] = [];
  const iterator = histogram.recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const step = iterator.next();
    out.push([histogram.medianEquivalentValue(step.valueIteratedTo), step.countAtValueIteratedTo]);
  }
  histogram.destroy();
  return out;
}

function binLogarithmic(values: [us: number, count: number][]): { upperMs: number[]; counts: number[] } {
  const lo = Math.max(1, Math.min(...values.map(([v]) => v)));
  const hi = Math.max(lo * 1.0001, ...values.map(([v]) => v));
  const bins = Math.min(BIN_COUNT, Math.max(1, values.length));
  const ratio = (hi / lo) ** (1 / bins);
  const upperUs = Array.from({ length: bins }, (_, i) => (i === bins - 1 ? hi : lo * ratio ** (i + 1)));
  const counts = new Array<number>(bins).fill(0);
  for (const [v, count] of values) {
    const index = upperUs.findIndex((edge) => v <= edge * (1 + 1e-9));
    counts[index === -1 ? bins - 1 : index]! += count;
  }
  return { upperMs: upperUs.map((us) => us / 1000), counts };
}

export function apiLatencyMeasurements(result: RunResult): MeasurementResult[] {
  return result.measurements.filter((m) => m.suite === API_LATENCY_SUITE);
}

// ---------------------------------------------------------------- footprint

const seriesSchema = z.object({ tMs: z.array(z.number()), values: z.array(z.number()) }).refine((s) => s.tMs.length === s.values.length && s.tMs.length > 0);

export interface FootprintSeries {
  id: string;
  name: string;
  node: string;
  points: { tS: number; mb: number }[];
}

/** Footprint figures recorded with their samples over time (evidence.series), in MB. */
export function footprintSeries(result: RunResult): FootprintSeries[] {
  return result.measurements.flatMap((m) => {
    if (m.suite !== FOOTPRINT_SUITE) return [];
    const parsed = seriesSchema.safeParse(m.evidence?.series);
    if (!parsed.success || toMegabytes(1, m.unit) === undefined) return [];
    const { tMs, values } = parsed.data;
    return [{ id: m.id, name: m.name, node: m.node ?? '-', points: tMs.map((t, i) => ({ tS: t / 1000, mb: toMegabytes(values[i]!, m.unit)! })) }];
  });
}

/** The figures a person compares with a claim (the per-process ones are their parts). */
export function isTopLevelFootprint(id: string): boolean {
  return !id.includes('/process/') && !id.includes('/rss/');
}

// ---------------------------------------------------------------- failover

const outagesSchema = z.array(z.object({ startMs: z.number().nonnegative(), endMs: z.number().nonnegative(), target: z.string().optional() }));

export interface FailoverView {
  faults: { tS: number; node: string; fault: string; detail?: string }[];
  outages: { target: string; startS: number; endS: number; measurement: string }[];
}

/** Faults injected and outages observed by probes, on the run's clock; undefined when the run had neither. */
export function failoverView(result: RunResult): FailoverView | undefined {
  const outages = result.measurements.flatMap((m) => {
    const parsed = outagesSchema.safeParse(m.evidence?.outages);
    if (!parsed.success) return [];
    return parsed.data.map((o) => ({ target: o.target ?? m.node ?? m.id, startS: o.startMs / 1000, endS: Math.max(o.startMs, o.endMs) / 1000, measurement: m.id }));
  });
  const faults = result.faults.map((f) => ({ tS: f.t / 1000, node: f.node, fault: f.fault, ...(f.detail ? { detail: f.detail } : {}) }));
  return faults.length || outages.length ? { faults, outages } : undefined;
}
