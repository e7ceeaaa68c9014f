import { InterruptedError, describeError, formatMs } from '../core/errors.js';
import { exitCodeForSignal } from './exit-codes.js';

/**
 * Ctrl-C handling for the whole CLI, in one place. The first SIGINT/SIGTERM
 * aborts `interruptSignal()` (reason: an InterruptedError) so the run can stop
 * its waits, tear down what it made and still write its results; a second
 * signal, or cleanup outlasting the grace period, exits at once (stale
 * sessions are swept by the next run or `edgeproof clean`).
 */
const controller = new AbortController();
let firstSignal: NodeJS.Signals | undefined;

export const CLEANUP_GRACE_MS = 30_000;

/** Aborted on the first Ctrl-C or SIGTERM. Pass it to the run's context. */
export function interruptSignal(): AbortSignal {
  return controller.signal;
}

/** The signal that interrupted this process, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return firstSignal;
}

export interface InterruptOptions {
  /** true: the first signal aborts and lets the command clean up; false: exit at once. */
  graceful: boolean;
  graceMs?: number;
  write?: (line: string) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function installInterruptHandlers(options: InterruptOptions): () => void {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const graceMs = options.graceMs ?? CLEANUP_GRACE_MS;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignal || !options.graceful) exitNow(firstSignal ?? signal);
    firstSignal = signal;
    write(`\nInterrupted (${signal}): stopping and cleaning up; press Ctrl-C again to exit at once`);
    controller.abort(new InterruptedError(signal));
    setTimeout(() => {
      write(`Cleanup still running after ${formatMs(graceMs)}; exiting. \`edgeproof clean\` sweeps what is left.`);
      exitNow(signal);
    }, graceMs).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

function exitNow(signal: NodeJS.Signals): never {
  process.exit(exitCodeForSignal(signal));
}

/**
 * Runs a long task (the run) so that Ctrl-C lets it clean up: while it runs the
 * first signal only aborts `interruptSignal()`. Once interrupted, the exit code
 * says so (130 / 143) whatever the task returns or throws.
 */
export async function runInterruptibly(task: () => Promise<number>, mode: InterruptOptions): Promise<number> {
  mode.graceful = true;
  try {
    const code = await task();
    const signal = interruptedBy();
    return signal ? exitCodeForSignal(signal) : code;
  } catch (error) {
    const signal = interruptedBy();
    if (!signal) throw error;
    (mode.write ?? ((line: string) => process.stderr.write(`${line}\n`)))(describeError(error));
    return exitCodeForSignal(signal);
  } finally {
    mode.graceful = false;
  }
}
