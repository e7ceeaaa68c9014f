/**
 * Small descriptive statistics for bench figures. Percentiles interpolate
 * linearly between the closest ranks (Hyndman & Fan type 7, numpy's default),
 * so p50 of an even-sized set is the mean of the two middle values.
 */
import { EdgeproofError } from '../core/errors.js';

export interface Summary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
  samples: number;
}

export interface Spread {
  min: number;
  max: number;
  /** min / max: 1 means identical runs; 0.5 means the best run was half the worst. */
  minOverMax: number;
  /** (max - min) / median, the relative width of the runs. */
  rangeOverMedian: number;
  runs: number;
}

/** Percentile `p` (0..100) of values already sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw emptyInput('percentile');
  if (!(p >= 0 && p <= 100)) throw new EdgeproofError('INPUT', `Percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const low = sorted[below]!;
  const high = sorted[above]!;
  return low + (high - low) * (rank - below);
}

export function sortedAscending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function median(values: readonly number[]): number {
  return percentile(sortedAscending(values), 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw emptyInput('mean');
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = sortedAscending(values);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    mean: mean(sorted),
    samples: sorted.length,
  };
}

/** Summary of a series that may be empty (a process that never appeared). */
export function summarizeIfAny(values: readonly number[]): Summary | null {
  return values.length === 0 ? null : summarize(values);
}

/** How far apart repeated runs of one figure are (e.g. the p95 footprint of 5 runs). */
export function spread(runs: readonly number[]): Spread {
  const sorted = sortedAscending(runs);
  const min = sorted[0];
  const max = sorted.at(-1);
  if (min === undefined || max === undefined) throw emptyInput('spread');
  const middle = percentile(sorted, 50);
  return {
    min,
    max,
    minOverMax: max === 0 ? 1 : min / max,
    rangeOverMedian: middle === 0 ? 0 : (max - min) / middle,
    runs: sorted.length,
  };
}

function emptyInput(what: string): EdgeproofError {
  return new EdgeproofError('INPUT', `Cannot compute ${what} of no values`);
}
