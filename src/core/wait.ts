import { WaitTimeoutError, formatMs } from './errors.js';

export interface WaitOptions {
  /** Human name of the condition: "node ep-1234-cp-0 Ready". */
  what: string;
  budgetMs: number;
  pollMs?: number;
  where?: string;
  signal?: AbortSignal;
  /** Called once when the wait starts, e.g. to print "waiting <= 4m for ...". */
  onStart?: (what: string, budgetMs: number) => void;
}

/**
 * The outcome of one probe: done with a value, or not yet with what was seen.
 * Probes that throw count as "not yet" with the error message as the observation.
 */
export type Probe<T> = () => Promise<{ done: true; value: T } | { done: false; observed: string }>;

/** Polls `probe` until it is done or the budget runs out; the error carries the last observation. */
export async function waitFor<T>(probe: Probe<T>, options: WaitOptions): Promise<T> {
  const { what, budgetMs, pollMs = 1000, signal } = options;
  options.onStart?.(what, budgetMs);
  const deadline = Date.now() + budgetMs;
  let observed = '';
  for (;;) {
    signal?.throwIfAborted();
    try {
      const outcome = await probe();
      if (outcome.done) return outcome.value;
      observed = outcome.observed;
    } catch (error) {
      observed = error instanceof Error ? error.message : String(error);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new WaitTimeoutError(what, budgetMs, observed, options.where ? { where: options.where } : {});
    }
    await sleep(Math.min(pollMs, remaining), signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolves when `signal` aborts, keeping the process alive until then: an
 * abort listener alone does not hold Node's event loop, and a run with
 * nothing else pending (node containers, no child process) would end there,
 * skipping its teardown.
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const hold = setInterval(() => undefined, 2 ** 30);
    signal.addEventListener('abort', () => {
      clearInterval(hold);
      resolve();
    }, { once: true });
  });
}

export function describeBudget(what: string, budgetMs: number): string {
  return `waiting <= ${formatMs(budgetMs)} for ${what}`;
}
