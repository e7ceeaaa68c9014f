/**
 * Open-model (constant arrival rate) load generator.
 *
 * Send i is intended at t0 + i / rate whatever happened to earlier sends, and
 * its latency is measured from that intended time, not from when the loader
 * got round to sending it. A slow server therefore shows up as growing
 * latency instead of a quietly lower request rate (no coordinated omission).
 * Latencies go into HDR histograms (microseconds, 3 significant digits) per
 * operation; the encoded histograms travel with the figures so reports can
 * redraw them. This module measures; it never judges.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { EdgeproofError } from '../core/errors.js';

/** Given to each operation: lets it do setup that is not part of what is measured. */
export interface CallContext {
  /** Runs `setup` (e.g. creating the object a delete needs); its duration is subtracted from the latency. */
  untimed<T>(setup: () => Promise<T>): Promise<T>;
}

export type Operation = (call: CallContext) => Promise<unknown>;

export type SaturationPolicy = 'delay' | 'drop';

export interface OpenModelOptions {
  operations: Record<string, Operation>;
  ratePerSecond: number;
  durationMs: number;
  /** Calls allowed in flight at once; the send that finds them all busy is delayed or dropped. */
  maxInFlight: number;
  /** Relative share of sends per operation; default: equal shares, round-robin in key order. */
  weights?: Record<string, number>;
  /** 'delay' (default): wait for a free slot, still timed from the intended time. 'drop': skip and count it. */
  whenSaturated?: SaturationPolicy;
  /** How long to wait for calls still in flight once the schedule is over; default 30 s. */
  drainTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Milliseconds, read from the HDR histogram (values within 0.1 %). */
export interface LatencyFigures {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  minMs: number;
  meanMs: number;
}

export interface OperationFigures {
  /** Sends the schedule intended for this operation (up to the point it was interrupted). */
  intended: number;
  sent: number;
  /** Calls that succeeded; the latency figures and histogram cover these. */
  count: number;
  errors: number;
  /** First distinct error messages, for the report. */
  errorSamples: string[];
  /** Sends skipped because maxInFlight was reached ('drop' policy). */
  dropped: number;
  /** Sends that waited for a free slot because maxInFlight was reached ('delay' policy). */
  delayedByMaxInFlight: number;
  /** Calls still in flight when the loader stopped waiting. */
  unfinished: number;
  latency: LatencyFigures | null;
  /** How late the loader dispatched sends against their intended time (its own lateness). */
  scheduleLag: LatencyFigures | null;
  /** `encodeIntoCompressedBase64` of the latency histogram, values in microseconds. */
  histogram: string;
}

export interface OpenModelRun {
  ratePerSecond: number;
  durationMs: number;
  maxInFlight: number;
  whenSaturated: SaturationPolicy;
  weights: Record<string, number>;
  startedAt: string;
  elapsedMs: number;
  intendedSends: number;
  sent: number;
  /** Sends per second between the first and the last dispatch; null with fewer than two sends. */
  achievedRatePerSecond: number | null;
  interrupted: boolean;
  clock: 'performance.now';
  histogramUnit: 'microseconds';
  operations: Record<string, OperationFigures>;
  /** All operations together. */
  all: OperationFigures;
}

export const HISTOGRAM_LOWEST_US = 1;
export const HISTOGRAM_HIGHEST_US = 120_000_000;
const ERROR_SAMPLES_KEPT = 5;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export async function runOpenModel(options: OpenModelOptions): Promise<OpenModelRun> {
  const plan = planRun(options);
  const recorders = new Map(plan.names.map((name) => [name, new OperationRecorder(name)]));
  const flight = new InFlight(options.signal);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const dispatch = await dispatchSchedule(plan, t0, recorders, flight);
  await flight.drain(plan.drainTimeoutMs);
  return {
    ...plan.echo,
    startedAt,
    elapsedMs: performance.now() - t0,
    intendedSends: plan.intendedSends,
    sent: dispatch.sent,
    achievedRatePerSecond: achievedRate(dispatch.sent, dispatch.lastDispatchAt - t0),
    interrupted: options.signal?.aborted ?? false,
    clock: 'performance.now',
    histogramUnit: 'microseconds',
    operations: Object.fromEntries([...recorders].map(([name, recorder]) => [name, recorder.figures()])),
    all: OperationRecorder.combine([...recorders.values()]).figures(),
  };
}

// ---------------------------------------------------------------- planning

interface RunPlan {
  names: string[];
  operations: Record<string, Operation>;
  intendedSends: number;
  periodMs: number;
  maxInFlight: number;
  whenSaturated: SaturationPolicy;
  drainTimeoutMs: number;
  nextOperation: () => string;
  echo: Pick<OpenModelRun, 'ratePerSecond' | 'durationMs' | 'maxInFlight' | 'whenSaturated' | 'weights'>;
}

function planRun(options: OpenModelOptions): RunPlan {
  const names = Object.keys(options.operations);
  if (names.length === 0) throw inputError('runOpenModel needs at least one operation');
  requirePositive('ratePerSecond', options.ratePerSecond);
  requirePositive('durationMs', options.durationMs);
  if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
    throw inputError(`maxInFlight must be a positive integer, got ${options.maxInFlight}`);
  }
  const weights = resolveWeights(names, options.weights);
  const whenSaturated = options.whenSaturated ?? 'delay';
  return {
    names,
    operations: options.operations,
    intendedSends: intendedSendCount(options.ratePerSecond, options.durationMs),
    periodMs: 1000 / options.ratePerSecond,
    maxInFlight: options.maxInFlight,
    whenSaturated,
    drainTimeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    nextOperation: operationSequence(weights),
    echo: { ratePerSecond: options.ratePerSecond, durationMs: options.durationMs, maxInFlight: options.maxInFlight, whenSaturated, weights },
  };
}

/** Sends intended at t0 + i / rate for every i with i / rate < duration. */
export function intendedSendCount(ratePerSecond: number, durationMs: number): number {
  return Math.max(1, Math.ceil((ratePerSecond * durationMs) / 1000 - 1e-9));
}

function resolveWeights(names: string[], weights: Record<string, number> | undefined): Record<string, number> {
  if (!weights) return Object.fromEntries(names.map((name) => [name, 1]));
  for (const key of Object.keys(weights)) {
    if (!names.includes(key)) throw inputError(`Weight given for unknown operation "${key}"; operations: ${names.join(', ')}`);
  }
  const resolved = Object.fromEntries(names.map((name) => [name, weights[name] ?? 0]));
  for (const [name, weight] of Object.entries(resolved)) {
    if (!(Number.isFinite(weight) && weight >= 0)) throw inputError(`Weight of "${name}" must be a finite number >= 0, got ${weight}`);
  }
  if (!Object.values(resolved).some((weight) => weight > 0)) throw inputError('At least one operation needs a weight > 0');
  return resolved;
}

/**
 * Deterministic smooth weighted round-robin (nginx's): with weights {a: 3, b: 1}
 * it yields a a b a, a a b a, ...; with equal weights, plain round-robin in key order.
 */
export function operationSequence(weights: Record<string, number>): () => string {
  const entries = Object.entries(weights).filter(([, weight]) => weight > 0);
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  const current = new Map(entries.map(([name]) => [name, 0]));
  return () => {
    let best = entries[0]![0];
    for (const [name, weight] of entries) {
      current.set(name, current.get(name)! + weight);
      if (current.get(name)! > current.get(best)!) best = name;
    }
    current.set(best, current.get(best)! - total);
    return best;
  };
}

// ---------------------------------------------------------------- dispatch

interface DispatchOutcome {
  sent: number;
  lastDispatchAt: number;
}

async function dispatchSchedule(
  plan: RunPlan,
  t0: number,
  recorders: Map<string, OperationRecorder>,
  flight: InFlight,
): Promise<DispatchOutcome> {
  const outcome: DispatchOutcome = { sent: 0, lastDispatchAt: t0 };
  for (let i = 0; i < plan.intendedSends; i++) {
    const intendedAt = t0 + i * plan.periodMs;
    if (!(await flight.sleepUntil(intendedAt))) break;
    const name = plan.nextOperation();
    const recorder = recorders.get(name)!;
    recorder.intended++;
    if (flight.size >= plan.maxInFlight) {
      if (plan.whenSaturated === 'drop') {
        recorder.dropped++;
        continue;
      }
      recorder.delayedByMaxInFlight++;
      if (!(await flight.waitForSlot(plan.maxInFlight))) break;
    }
    outcome.lastDispatchAt = performance.now();
    recorder.recordLag(outcome.lastDispatchAt - intendedAt);
    flight.add(timedCall(plan.operations[name]!, intendedAt, recorder));
    outcome.sent++;
  }
  return outcome;
}

async function timedCall(operation: Operation, intendedAt: number, recorder: OperationRecorder): Promise<void> {
  recorder.sent++;
  let untimedMs = 0;
  const call: CallContext = {
    async untimed(setup) {
      const started = performance.now();
      try {
        return await setup();
      } finally {
        untimedMs += performance.now() - started;
      }
    },
  };
  try {
    await operation(call);
    recorder.recordSuccess(performance.now() - intendedAt - untimedMs);
  } catch (error) {
    recorder.recordError(error);
  }
}

/** The calls in flight, and the waits of the dispatcher, all cut short by an abort. */
class InFlight {
  private readonly calls = new Set<Promise<void>>();
  private onSlotFreed: (() => void) | undefined;
  constructor(private readonly signal: AbortSignal | undefined) {}

  get size(): number {
    return this.calls.size;
  }

  add(call: Promise<void>): void {
    this.calls.add(call);
    void call.finally(() => {
      this.calls.delete(call);
      this.onSlotFreed?.();
    });
  }

  /** False when aborted. Sleeps in whole timer ticks until `at` has really passed. */
  async sleepUntil(at: number): Promise<boolean> {
    for (let remaining = at - performance.now(); remaining > 0; remaining = at - performance.now()) {
      if (!(await this.raceAbort(timer(Math.ceil(remaining))))) return false;
    }
    return !this.signal?.aborted;
  }

  async waitForSlot(maxInFlight: number): Promise<boolean> {
    while (this.calls.size >= maxInFlight) {
      const slotFreed = new Promise<void>((resolve) => (this.onSlotFreed = resolve));
      if (!(await this.raceAbort(slotFreed))) return false;
    }
    return true;
  }

  /** Waits for the calls still running, at most `timeoutMs`, not at all once aborted. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = timer(timeoutMs);
    await this.raceAbort(Promise.race([Promise.allSettled([...this.calls]), deadline]));
    deadline.cancel();
  }

  /** Waits for `wait` or an abort, whichever comes first; false when aborted. Leaves no listener behind. */
  private async raceAbort(wait: Promise<unknown> & { cancel?: () => void }): Promise<boolean> {
    if (this.signal?.aborted) {
      wait.cancel?.();
      return false;
    }
    let onAbort = () => {};
    const aborted = new Promise<void>((resolve) => (onAbort = resolve));
    this.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([wait, aborted]);
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      wait.cancel?.();
    }
    return !this.signal?.aborted;
  }
}

function timer(ms: number): Promise<void> & { cancel: () => void } {
  let handle: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, ms);
  });
  return Object.assign(promise, { cancel: () => clearTimeout(handle) });
}

function achievedRate(sent: number, spanMs: number): number | null {
  return sent < 2 || spanMs <= 0 ? null : ((sent - 1) * 1000) / spanMs;
}

// ---------------------------------------------------------------- recording

export function newLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: HISTOGRAM_LOWEST_US,
    highestTrackableValue: HISTOGRAM_HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

/** Records milliseconds as whole microseconds, clamped into the histogram's range. */
export function recordMs(histogram: Histogram, ms: number): void {
  const us = Math.round(ms * 1000);
  histogram.recordValue(Math.min(HISTOGRAM_HIGHEST_US, Math.max(HISTOGRAM_LOWEST_US, us)));
}

export function latencyFigures(histogram: Histogram): LatencyFigures | null {
  if (histogram.totalCount === 0) return null;
  const ms = (us: number) => us / 1000;
  return {
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
    minMs: ms(histogram.minNonZeroValue),
    meanMs: ms(histogram.mean),
  };
}

class OperationRecorder {
  readonly latency = newLatencyHistogram();
  readonly lag = newLatencyHistogram();
  intended = 0;
  sent = 0;
  errors = 0;
  dropped = 0;
  delayedByMaxInFlight = 0;
  readonly errorSamples: string[] = [];

  constructor(readonly name: string) {
    this.latency.tag = name;
    this.latency.startTimeStampMsec = Date.now();
  }

  recordSuccess(ms: number): void {
    recordMs(this.latency, ms);
  }

  recordLag(ms: number): void {
    recordMs(this.lag, Math.max(0, ms));
  }

  recordError(error: unknown): void {
    this.errors++;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 300);
    if (this.errorSamples.length < ERROR_SAMPLES_KEPT && !this.errorSamples.includes(message)) this.errorSamples.push(message);
  }

  figures(): OperationFigures {
    this.latency.endTimeStampMsec = Date.now();
    const count = this.latency.totalCount;
    return {
      intended: this.intended,
      sent: this.sent,
      count,
      errors: this.errors,
      errorSamples: [...this.errorSamples],
      dropped: this.dropped,
      delayedByMaxInFlight: this.delayedByMaxInFlight,
      unfinished: this.sent - count - this.errors,
      latency: latencyFigures(this.latency),
      scheduleLag: latencyFigures(this.lag),
      histogram: encodeIntoCompressedBase64(this.latency),
    };
  }

  static combine(parts: OperationRecorder[]): OperationRecorder {
    const all = new OperationRecorder('all');
    for (const part of parts) {
      all.latency.add(part.latency);
      all.lag.add(part.lag);
      all.intended += part.intended;
      all.sent += part.sent;
      all.errors += part.errors;
      all.dropped += part.dropped;
      all.delayedByMaxInFlight += part.delayedByMaxInFlight;
      for (const sample of part.errorSamples) {
        if (all.errorSamples.length < ERROR_SAMPLES_KEPT) all.errorSamples.push(`${part.name}: ${sample}`);
      }
    }
    return all;
  }
}

// ---------------------------------------------------------------- calibration

export interface CalibrationOptions {
  ratePerSecond: number;
  durationMs: number;
  maxInFlight?: number;
  signal?: AbortSignal;
}

/** What the loader itself adds: intended-time latency of GETs to a no-op server on 127.0.0.1. */
export interface LoaderCalibration {
  target: string;
  ratePerSecond: number;
  durationMs: number;
  count: number;
  errors: number;
  errorSamples: string[];
  overhead: Pick<LatencyFigures, 'p50Ms' | 'p99Ms' | 'maxMs' | 'meanMs'> | null;
  scheduleLagP99Ms: number | null;
  histogram: string;
}

export async function calibrateLoader(options: CalibrationOptions): Promise<LoaderCalibration> {
  const maxInFlight = options.maxInFlight ?? 64;
  const server = await startLocalServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  try {
    const run = await runOpenModel({
      operations: { 'noop-get': () => httpGet(agent, server.url) },
      ratePerSecond: options.ratePerSecond,
      durationMs: options.durationMs,
      maxInFlight,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return calibrationFigures(server.url, run);
  } finally {
    agent.destroy();
    await server.close();
  }
}

function calibrationFigures(target: string, run: OpenModelRun): LoaderCalibration {
  const { latency, scheduleLag } = run.all;
  return {
    target,
    ratePerSecond: run.ratePerSecond,
    durationMs: run.durationMs,
    count: run.all.count,
    errors: run.all.errors,
    errorSamples: run.all.errorSamples,
    overhead: latency && { p50Ms: latency.p50Ms, p99Ms: latency.p99Ms, maxMs: latency.maxMs, meanMs: latency.meanMs },
    scheduleLagP99Ms: scheduleLag?.p99Ms ?? null,
    histogram: run.all.histogram,
  };
}

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) answering every request with `handler`, default an empty 204. */
export async function startLocalServer(handler: http.RequestListener = answerNoContent): Promise<LocalServer> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function answerNoContent(_request: http.IncomingMessage, response: http.ServerResponse): void {
  response.writeHead(204).end();
}

/** GET `url` through `agent`; rejects on a status >= 400 or a socket error. */
export function httpGet(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent }, (response) => {
      response.resume();
      response.once('end', () => {
        const status = response.statusCode ?? 0;
        if (status >= 400) reject(new Error(`GET ${url} answered HTTP ${status}`));
        else resolve(status);
      });
      response.once('error', reject);
    });
    request.once('error', reject);
  });
}

function requirePositive(what: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw inputError(`${what} must be a finite number > 0, got ${value}`);
}

function inputError(message: string): EdgeproofError {
  return new EdgeproofError('INPUT', message);
}
