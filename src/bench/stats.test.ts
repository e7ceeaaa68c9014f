import { describe, expect, it } from 'vitest';
import { median, percentile, spread, summarize, summarizeIfAny } from './stats.js';

describe('percentile', () => {
  it('interpolates between the closest ranks (numpy default)', () => {
    const sorted = [10, 20, 30, 40];
    expect(percentile(sorted, 0)).toBe(10);
    expect(percentile(sorted, 100)).toBe(40);
    expect(percentile(sorted, 50)).toBe(25);
    // rank 0.9 * 3 = 2.7 -> 30 + 0.7 * 10
    expect(percentile(sorted, 90)).toBeCloseTo(37, 10);
  });

  it('returns the only value of a single-sample set for every p', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it('refuses empty input and p outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(/no values/);
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1], Number.NaN)).toThrow(/0\.\.100/);
  });
});

describe('summarize', () => {
  it('gives the figures of 1..100 whatever the input order', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    const summary = summarize(values);
    expect(summary).toMatchObject({ min: 1, max: 100, samples: 100, mean: 50.5, p50: 50.5 });
    expect(summary.p95).toBeCloseTo(95.05, 10);
    expect(summary.p99).toBeCloseTo(99.01, 10);
    expect(summary.p90).toBeCloseTo(90.1, 10);
  });

  it('does not reorder the caller array', () => {
    const values = [3, 1, 2];
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('summarizeIfAny is null for an empty series', () => {
    expect(summarizeIfAny([])).toBeNull();
    expect(summarizeIfAny([5])?.p95).toBe(5);
  });
});

describe('median and spread', () => {
  it('median of an even set is the mean of the middle pair', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('spread is min/max and range relative to the median', () => {
    const runs = [500, 540, 520, 510, 600];
    const result = spread(runs);
    expect(result).toMatchObject({ min: 500, max: 600, runs: 5 });
    expect(result.minOverMax).toBeCloseTo(500 / 600, 10);
    expect(result.rangeOverMedian).toBeCloseTo(100 / 520, 10);
  });

  it('spread of identical runs is 1 and 0', () => {
    expect(spread([3, 3, 3])).toMatchObject({ minOverMax: 1, rangeOverMedian: 0 });
  });
});
