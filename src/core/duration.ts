import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses '90s', '4m', '1h30m', '250ms' or a bare number of milliseconds. The one place durations are parsed. */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new UsageError(`Invalid ${what}: ${text}`, 'use a non-negative number of milliseconds or a string like "90s"');
    return text;
  }
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw new UsageError(`Invalid ${what} "${text}"`, 'write durations like "250ms", "90s", "4m" or "1h30m"');
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit as string]!, 0);
}
