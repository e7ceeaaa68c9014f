import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['4m', 240_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1_500],
    ['0.5m', 30_000],
    ['1500', 1_500],
    ['0', 0],
    [' 90s ', 90_000],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('passes non-negative numbers through as milliseconds', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1234)).toBe(1234);
    expect(parseDuration(2.5)).toBe(2.5);
  });

  it.each(['', '   ', 'abc', '5 minutes', '-1', '10x', '90s!', 's', '1h 30m', '1.5.5s', '4M'])('rejects %j with a UsageError that shows the format', (text) => {
    let caught: unknown;
    try {
      parseDuration(text, '--timeout');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    const usage = caught as UsageError;
    expect(usage.code).toBe('USAGE');
    expect(usage.message).toBe(`Invalid --timeout "${text}"`);
    expect(usage.hint).toBe('write durations like "250ms", "90s", "4m" or "1h30m"');
    expect(usage.detail()).toContain('hint: write durations like "250ms"');
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (n) => {
    expect(() => parseDuration(n, 'budget')).toThrow(UsageError);
    try {
      parseDuration(n, 'budget');
    } catch (error) {
      expect((error as UsageError).message).toBe(`Invalid budget: ${n}`);
      expect((error as UsageError).hint).toMatch(/non-negative number of milliseconds.*"90s"/);
    }
  });

  it('names the thing being parsed, "duration" by default', () => {
    expect(() => parseDuration('soon')).toThrow('Invalid duration "soon"');
  });
});
