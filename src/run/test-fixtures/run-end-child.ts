/**
 * The end of `edgeproof run` in a real process, for interrupt.test.ts: a run
 * context in RUN_DIR with one finished check and one resource, stopped by a
 * signal or by an uncaught exception, then ended as runCommand ends a run
 * (endRun, the exit code through runInterruptibly).
 *   slow-teardown: waits for a signal; the resource's disposal never ends.
 *   uncaught:      a timer throws; the resource's disposal prints `disposed`.
 *   node --import tsx run-end-child.ts <slow-teardown|uncaught> RUN_DIR CACHE_DIR GRACE_MS
 */
import { RunContext } from '../../core/context.js';
import { describeError } from '../../core/errors.js';
import { exitCodeFor } from '../../reports/write-reports.js';
import { pass, runCheck } from '../../suites/check.js';
import { exitCodeForError } from '../../core/exit-codes.js';
import { installInterruptHandlers, interruptSignal, runInterruptibly, type InterruptOptions } from '../../core/interrupt.js';
import { endRun } from '../run-end.js';

const [behaviour, runDir, cacheDir, graceMs] = process.argv.slice(2) as [string, string, string, string];
const mode: InterruptOptions = { graceful: false, graceMs: Number(graceMs) };
installInterruptHandlers(mode);

async function run(): Promise<number> {
  const startedAt = Date.now();
  const ctx = new RunContext({ runDir, cacheDir, progress: false });
  interruptSignal().addEventListener('abort', () => ctx.abort(interruptSignal().reason), { once: true });
  ctx.events.emit({ type: 'run-start', runId: ctx.runId, argv: process.argv.slice(2), config: {} });
  // A running node (its timer keeps this process alive); with slow-teardown it never stops, like a process deaf to SIGTERM.
  const node = setInterval(() => {}, 1000);
  ctx.scope.defer('node ep-test-cp-0', async () => {
    if (behaviour === 'slow-teardown') await new Promise<never>(() => {});
    clearInterval(node);
    process.stdout.write('disposed\n');
  });
  await runCheck(ctx, { id: 'SMOKE-1', suite: 'smoke', name: 'a check that finished before the stop' }, async () => pass());
  if (behaviour === 'uncaught') {
    setTimeout(() => {
      throw new Error('boom from a timer');
    }, 50);
  } else process.stdout.write('ready\n');
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  const { result, error, interrupted } = await endRun(ctx, { startedAt, claims: {}, error: ctx.signal.reason });
  if (error && !interrupted) throw error;
  return exitCodeFor(result);
}

let code: number;
try {
  code = await runInterruptibly(run, mode);
} catch (error) {
  process.stderr.write(`error: ${describeError(error)}\n`);
  code = exitCodeForError(error);
}
process.exit(code);
