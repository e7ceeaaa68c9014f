/**
 * A stand-in for `edgeproof run` in a real process, for interrupt.test.ts:
 * waits for Ctrl-C, then either cleans up and returns, or hangs in cleanup.
 *   node --import tsx interrupt-child.ts <cleans-up|hangs> [graceMs]
 */
import { installInterruptHandlers, interruptSignal, runInterruptibly, type InterruptOptions } from '../interrupt.js';

const behaviour = process.argv[2] ?? 'cleans-up';
const mode: InterruptOptions = { graceful: false, graceMs: Number(process.argv[3] ?? 30_000) };
installInterruptHandlers(mode);
const keepAlive = setInterval(() => {}, 1000);

const code = await runInterruptibly(async () => {
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => interruptSignal().addEventListener('abort', () => resolve()));
  process.stdout.write(`cleaning up after ${(interruptSignal().reason as Error).message}\n`);
  if (behaviour === 'hangs') await new Promise<never>(() => {});
  // Cleanup takes a while, as a teardown does: output written before it has failed by the end.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return 1;
}, mode);
clearInterval(keepAlive);
process.stdout.write(`exit ${code}\n`);
process.exit(code);
