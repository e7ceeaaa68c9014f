import { EdgeproofError, InterruptedError, describeError, errorDetail, formatMs } from './errors.js';
import { EXIT, exitCodeForSignal } from './exit-codes.js';

/**
 * Ctrl-C handling for the whole CLI, in one place. The first SIGINT, SIGTERM
 * or SIGHUP (the terminal went away) aborts `interruptSignal()` (reason: an
 * InterruptedError) so the run can stop its waits, tear down what it made
 * and still write its results; a second signal, or cleanup outlasting the
 * grace period, exits at once (stale sessions are swept by the next run or
 * `edgeproof clean`). An exception nothing caught (a bug) during a run stops
 * it the same way, so its machines are still torn down; the exit code is 1.
 * Output to a reader that went away (a closed pipe, a terminal that hung up)
 * is dropped: it never ends a run before its teardown.
 */
const controller = new AbortController();
let firstSignal: NodeJS.Signals | undefined;
let uncaught: EdgeproofError | undefined;

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const satisfies readonly NodeJS.Signals[];

/** What a run's teardown may take (logs exported, machines stopped, temp files removed). */
export const TEARDOWN_BUDGET_MS = 60_000;
/** After a teardown that used its whole budget: time to unwind the waits and write the reports. */
const REPORTS_MARGIN_MS = 30_000;
/** Longer than the teardown budget, so only a cleanup that hangs is cut short, never a slow one. */
export const CLEANUP_GRACE_MS = TEARDOWN_BUDGET_MS + REPORTS_MARGIN_MS;

/** Aborted on the first Ctrl-C, SIGTERM or SIGHUP, or an uncaught exception during a run. Pass it to the run's context. */
export function interruptSignal(): AbortSignal {
  return controller.signal;
}

/** The signal that interrupted this process, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return firstSignal;
}

/** The uncaught exception that stopped the run, if one did. */
export function uncaughtError(): EdgeproofError | undefined {
  return uncaught;
}

/** The exit code a stopped run ends with whatever it returns: 128 + the signal's number, or 3 after an uncaught exception. */
export function stoppedExitCode(): number | undefined {
  if (firstSignal) return exitCodeForSignal(firstSignal);
  return uncaught ? EXIT.error : undefined;
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
  const stopping = () => controller.signal.aborted;
  const exitAfterGrace = (code: number) =>
    setTimeout(() => {
      write(`Cleanup still running after ${formatMs(graceMs)}; exiting. \`edgeproof clean\` sweeps what is left.`);
      process.exit(code);
    }, graceMs).unref();

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping() || !options.graceful) process.exit(stoppedExitCode() ?? exitCodeForSignal(signal));
    firstSignal = signal;
    write(`\nInterrupted (${signal}): stopping and cleaning up; press Ctrl-C again to exit at once`);
    controller.abort(new InterruptedError(signal));
    exitAfterGrace(exitCodeForSignal(signal));
  };
  const onUncaught = (error: unknown) => {
    write(`\nUncaught exception (a bug in edgeproof): ${errorDetail(error)}`);
    if (!options.graceful) process.exit(EXIT.error);
    if (stopping()) return;
    uncaught = new EdgeproofError('INTERNAL', `Uncaught exception: ${describeError(error)}`, { cause: error });
    write('stopping and cleaning up; press Ctrl-C to exit at once');
    controller.abort(uncaught);
    exitAfterGrace(EXIT.error);
  };
  const onStdoutError = onOutputError(options, () => process.exit(EXIT.ok));
  const onStderrError = onOutputError(options, () => {});
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  process.on('uncaughtException', onUncaught);
  process.stdout.on('error', onStdoutError);
  process.stderr.on('error', onStderrError);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    process.off('uncaughtException', onUncaught);
    process.stdout.off('error', onStdoutError);
    process.stderr.off('error', onStderrError);
  };
}

const READER_GONE = new Set(['EPIPE', 'EIO', 'ERR_STREAM_DESTROYED']);

/**
 * A write error on stdout or stderr. The reader gone (`| head` done, the
 * terminal closed): during a run the output is dropped and the run goes on
 * to its teardown and reports; otherwise `outsideRun` decides (stdout: exit
 * 0, as `| head` expects). Any other error is a real one.
 */
function onOutputError(options: InterruptOptions, outsideRun: () => void): (error: NodeJS.ErrnoException) => void {
  return (error) => {
    if (!READER_GONE.has(error.code ?? '')) throw error;
    if (!options.graceful) outsideRun();
  };
}

/**
 * Runs a long task (the run) so that Ctrl-C lets it clean up: while it runs the
 * first signal only aborts `interruptSignal()`. Once stopped, the exit code
 * says why (130 / 143 / 129, or 3 after an uncaught exception) whatever the
 * task returns or throws.
 */
export async function runInterruptibly(task: () => Promise<number>, mode: InterruptOptions): Promise<number> {
  mode.graceful = true;
  try {
    const code = await task();
    return stoppedExitCode() ?? code;
  } catch (error) {
    const code = stoppedExitCode();
    if (code === undefined || uncaught) throw error;
    (mode.write ?? ((line: string) => process.stderr.write(`${line}\n`)))(describeError(error));
    return code;
  } finally {
    mode.graceful = false;
  }
}
