/**
 * Availability probes in the manner of clusterloader2's APIAvailability
 * measurement: a probe attempts something once per interval, every attempt
 * is a timestamped sample, and outages are read off the samples afterwards.
 * Nothing here knows what is probed.
 */
import { sleep } from '../core/wait.js';

export interface ProbeSample {
  /** Wall-clock ms when the attempt started. */
  t: number;
  ok: boolean;
  /** How long the attempt took. */
  ms: number;
  detail?: string;
}

export type ProbeAttempt = (signal: AbortSignal) => Promise<{ ok: boolean; detail?: string }>;

/** Runs `attempt` every `intervalMs` (never two at once: a slow attempt delays the next tick) until stopped. */
export class PeriodicProbe {
  readonly samples: ProbeSample[] = [];
  readonly #stop = new AbortController();
  #loop?: Promise<void>;

  constructor(
    readonly name: string,
    readonly intervalMs: number,
    private readonly attempt: ProbeAttempt,
  ) {}

  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  async stop(): Promise<ProbeSample[]> {
    this.#stop.abort();
    await this.#loop;
    return this.samples;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let next = Date.now();
    while (!signal.aborted) {
      const t = Date.now();
      let outcome: { ok: boolean; detail?: string };
      try {
        outcome = await this.attempt(signal);
      } catch (error) {
        outcome = { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
      if (signal.aborted) break;
      this.samples.push({ t, ok: outcome.ok, ms: Date.now() - t, ...(outcome.detail ? { detail: outcome.detail.slice(0, 160) } : {}) });
      next += this.intervalMs;
      if (next < Date.now()) next = Date.now();
      await sleep(next - Date.now(), signal).catch(() => undefined);
    }
  }
}

export interface OutageStats {
  samples: number;
  failed: number;
  /** Share of successful samples, percent. */
  availabilityPct: number;
  /** Longest run of failures: from the first failing attempt to the next success (or the window's end). */
  longestOutageMs: number;
  longestOutageFrom?: number;
  /** First failing attempt at or after `from`. */
  firstFailureAt?: number;
  /** First success after the last failure at or after `from`. */
  recoveredAt?: number;
}

/** Outage figures of one probe's samples within [from, to]. */
export function outageStats(samples: ProbeSample[], from: number, to: number): OutageStats {
  const window = samples.filter((s) => s.t >= from && s.t <= to).sort((a, b) => a.t - b.t);
  let longest = 0;
  let longestFrom: number | undefined;
  let runStart: number | undefined;
  let firstFailureAt: number | undefined;
  let recoveredAt: number | undefined;
  for (const sample of window) {
    if (!sample.ok) {
      runStart ??= sample.t;
      firstFailureAt ??= sample.t;
      recoveredAt = undefined;
      continue;
    }
    if (runStart !== undefined) {
      if (sample.t - runStart > longest) [longest, longestFrom] = [sample.t - runStart, runStart];
      runStart = undefined;
      recoveredAt = sample.t;
    }
  }
  if (runStart !== undefined && to - runStart > longest) [longest, longestFrom] = [to - runStart, runStart];
  const failed = window.filter((s) => !s.ok).length;
  return {
    samples: window.length,
    failed,
    availabilityPct: window.length ? ((window.length - failed) / window.length) * 100 : 0,
    longestOutageMs: longest,
    ...(longestFrom !== undefined ? { longestOutageFrom: longestFrom } : {}),
    ...(firstFailureAt !== undefined ? { firstFailureAt } : {}),
    ...(recoveredAt !== undefined ? { recoveredAt } : {}),
  };
}

/**
 * "Any of these answered": probes started together on the same interval are
 * merged tick by tick; a tick is ok when at least one probe succeeded in it.
 */
export function anyOf(series: ProbeSample[][], start: number, intervalMs: number): ProbeSample[] {
  const ticks = new Map<number, ProbeSample>();
  for (const sample of series.flat()) {
    const tick = Math.floor((sample.t - start) / intervalMs);
    const seen = ticks.get(tick);
    if (!seen) ticks.set(tick, { t: start + tick * intervalMs, ok: sample.ok, ms: sample.ms });
    else if (sample.ok && !seen.ok) ticks.set(tick, { ...seen, ok: true, ms: sample.ms });
  }
  return [...ticks.values()].sort((a, b) => a.t - b.t);
}

/** Samples as [ms since `origin`, 1|0] pairs: compact evidence a report can draw as a timeline. */
export function timeline(samples: ProbeSample[], origin: number): [number, 0 | 1][] {
  return samples.map((s) => [s.t - origin, s.ok ? 1 : 0]);
}
