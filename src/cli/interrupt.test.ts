import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, test } from 'vitest';
import { projectRoot } from '../core/paths.js';

const child = fileURLToPath(new URL('./test-fixtures/interrupt-child.ts', import.meta.url));

function start(behaviour: 'cleans-up' | 'hangs', graceMs = 30_000) {
  return execa(process.execPath, ['--import', 'tsx', child, behaviour, String(graceMs)], { reject: false, cwd: projectRoot() });
}

/** Resolves once the child printed `ready`: its handlers are installed. */
function ready(proc: ResultPromise): Promise<void> {
  return new Promise((resolve) => proc.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
}

describe.concurrent('Ctrl-C during a run (real process, real signals)', () => {
  test('the first SIGINT aborts the run, which cleans up; the exit code is 130', async () => {
    const proc = start('cleans-up');
    await ready(proc);
    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).toContain('cleaning up after Interrupted by SIGINT');
    expect(result.stderr).toContain('press Ctrl-C again');
  });

  test('a second SIGINT exits at once when cleanup hangs', async () => {
    const proc = start('hangs');
    await ready(proc);
    proc.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).not.toContain('exit ');
  });

  test('cleanup that outlasts the grace period ends the process (SIGTERM: 143)', async () => {
    const proc = start('hangs', 500);
    await ready(proc);
    const sent = Date.now();
    proc.kill('SIGTERM');
    const result = await proc;
    expect(result.exitCode).toBe(143);
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(result.stderr).toContain('Cleanup still running after 500ms');
  });
});
