/**
 * A run's session in a real process, for the reaper's tests (run it in another
 * PID namespace with `unshare --pid --fork --mount-proc`):
 *   node --import tsx session-owner.ts hold <cacheDir> <runDir>
 *     makes a RunContext with a scratch disk in the cache and a socket dir in
 *     the temp dir, prints them as one JSON line, and keeps them until stdin
 *     closes (then disposes and exits 0) or the process is killed;
 *   node --import tsx session-owner.ts sweep <cacheDir>
 *     sweeps the cache's stale sessions and prints the report as JSON.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunContext } from '../context.js';
import { sweepStaleSessions } from '../session.js';

const [mode, cacheDir, runDir] = process.argv.slice(2);

if (mode === 'sweep') {
  process.stdout.write(`${JSON.stringify(await sweepStaleSessions(cacheDir!))}\n`);
} else if (mode === 'hold') {
  const ctx = new RunContext({ runDir: runDir!, cacheDir: cacheDir!, progress: false });
  mkdirSync(ctx.tempDir, { recursive: true });
  writeFileSync(join(ctx.tempDir, 'disk.qcow2'), 'overlay');
  const socketDir = mkdtempSync(join(tmpdir(), 'ep-session-owner-'));
  ctx.session.track('tempDirs', socketDir);
  process.stdout.write(`${JSON.stringify({ runId: ctx.runId, pid: process.pid, scratch: ctx.tempDir, socketDir })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await ctx.dispose();
  rmSync(socketDir, { recursive: true, force: true });
} else {
  process.stderr.write(`usage: session-owner.ts hold <cacheDir> <runDir> | sweep <cacheDir>\n`);
  process.exit(2);
}
