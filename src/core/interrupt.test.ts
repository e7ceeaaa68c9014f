import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { projectRoot } from './paths.js';
import type { RunEvent } from './events.js';
import { CLEANUP_GRACE_MS, TEARDOWN_BUDGET_MS } from './interrupt.js';

const fixture = (name: string) => fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));
/** Children that run a whole run's ending (reports, teardown) live with the run layer. */
const runFixture = (name: string) => fileURLToPath(new URL(`../run/test-fixtures/${name}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'ep-interrupt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function start(behaviour: 'cleans-up' | 'hangs', graceMs = 30_000) {
  return execa(process.execPath, ['--import', 'tsx', fixture('interrupt-child.ts'), behaviour, String(graceMs)], { reject: false, cwd: projectRoot() });
}

/** Resolves once the child printed `line`: its handlers are installed and it reached that point. */
function printed(proc: ResultPromise, line = 'ready'): Promise<void> {
  return new Promise((resolve) => proc.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes(line) && resolve()));
}

/** A run directory and a cache directory of their own for one child. */
function runDirs(name: string): { runDir: string; cacheDir: string } {
  const base = mkdtempSync(join(scratch, `${name}-`));
  return { runDir: join(base, 'run'), cacheDir: join(base, 'cache') };
}

function events(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
}

function result(runDir: string): { outcome: string; checks: { id: string; verdict: string }[]; phases: { name: string; outcome: string }[] } {
  return JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'));
}

describe.concurrent('Ctrl-C during a run (real process, real signals)', () => {
  test('the first SIGINT aborts the run, which cleans up; the exit code is 130', async () => {
    const proc = start('cleans-up');
    await printed(proc);
    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).toContain('cleaning up after Interrupted by SIGINT');
    expect(result.stderr).toContain('press Ctrl-C again');
  });

  test('SIGHUP (the terminal closed) is handled like SIGTERM: the run cleans up; the exit code is 129', async () => {
    const proc = start('cleans-up');
    await printed(proc);
    proc.kill('SIGHUP');
    const result = await proc;
    expect(result.signal).toBeUndefined();
    expect(result.exitCode).toBe(129);
    expect(result.stdout).toContain('cleaning up after Interrupted by SIGHUP');
    expect(result.stderr).toContain('Interrupted (SIGHUP): stopping and cleaning up');
  });

  test('SIGHUP with the reader of stdout gone (a closed terminal or pipe): the run still cleans up and exits 129, not 0', async () => {
    const proc = start('cleans-up');
    await printed(proc);
    proc.stdout!.destroy();
    proc.kill('SIGHUP');
    const result = await proc;
    expect(result.signal).toBeUndefined();
    expect(result.exitCode, result.stderr).toBe(129);
    expect(result.stderr).toContain('Interrupted (SIGHUP): stopping and cleaning up');
    expect(result.stderr).not.toContain('Uncaught exception');
  });

  test('a second SIGINT exits at once when cleanup hangs', async () => {
    const proc = start('hangs');
    await printed(proc);
    proc.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).not.toContain('exit ');
  });

  test('cleanup that outlasts the grace period ends the process (SIGTERM: 143)', async () => {
    const proc = start('hangs', 500);
    await printed(proc);
    const sent = Date.now();
    proc.kill('SIGTERM');
    const result = await proc;
    expect(result.exitCode).toBe(143);
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(result.stderr).toContain('Cleanup still running after 500ms');
  });

  test('the grace period outlasts the teardown budget a run records for its teardown', () => {
    expect(CLEANUP_GRACE_MS).toBeGreaterThan(TEARDOWN_BUDGET_MS);
  });

  test('a teardown cut short by the grace period still leaves every finished check in result.json', async () => {
    const { runDir, cacheDir } = runDirs('slow-teardown');
    const proc = execa(process.execPath, ['--import', 'tsx', runFixture('run-end-child.ts'), 'slow-teardown', runDir, cacheDir, '1000'], { reject: false, cwd: projectRoot() });
    await printed(proc);
    proc.kill('SIGTERM');
    const exited = await proc;
    expect(exited.exitCode, exited.stderr).toBe(143);
    expect(exited.stderr).toContain('Cleanup still running after 1.0s');
    const teardown = events(runDir).find((e) => e.type === 'phase-start' && e.phase === 'teardown');
    expect(teardown).toMatchObject({ budgetMs: TEARDOWN_BUDGET_MS });
    const written = result(runDir);
    expect(written.outcome).toBe('incomplete');
    expect(written.checks).toEqual([expect.objectContaining({ id: 'SMOKE-1', verdict: 'pass' })]);
  });

  test('an uncaught exception during a run stops it like Ctrl-C: its resources are disposed, the reports say why, exit 3', async () => {
    const { runDir, cacheDir } = runDirs('uncaught');
    const exited = await execa(process.execPath, ['--import', 'tsx', runFixture('run-end-child.ts'), 'uncaught', runDir, cacheDir, '30000'], { reject: false, cwd: projectRoot() });
    expect(exited.exitCode, exited.stderr).toBe(3);
    expect(exited.stdout).toContain('disposed');
    expect(exited.stderr).toContain('Uncaught exception (a bug in edgeproof): Error: boom from a timer');
    expect(exited.stderr).toContain('error: Uncaught exception: boom from a timer');
    const written = result(runDir);
    expect(written).toMatchObject({ outcome: 'failed', error: 'Uncaught exception: boom from a timer' });
    expect(written.checks).toEqual([expect.objectContaining({ id: 'SMOKE-1', verdict: 'pass' })]);
    expect(written.phases).toContainEqual(expect.objectContaining({ name: 'teardown', outcome: 'ok' }));
  });

  test('Ctrl-C in the CNI matrix: the cells that passed are on disk, the open ones are not guessed', async () => {
    const { runDir, cacheDir } = runDirs('cni');
    const proc = execa(process.execPath, ['--import', 'tsx', runFixture('cni-interrupt-child.ts'), runDir, cacheDir], { reject: false, cwd: projectRoot() });
    await printed(proc, 'second round');
    proc.kill('SIGINT');
    const exited = await proc;
    expect(exited.exitCode, exited.stderr).toBe(130);
    const checks = events(runDir).filter((e) => e.type === 'check');
    expect(checks.map((c) => [c.id, c.name, c.verdict])).toEqual([
      ['NET-2/pod-to-pod-same-node', 'pod on ep-1a2b-cp-0 to a pod on the same node', 'pass'],
      ['NET-2/pod-to-cluster-ip', 'pod on ep-1a2b-cp-0 to the ClusterIP of ep-echo', 'pass'],
      ['NET-2/pod-to-node-port', "pod on ep-1a2b-cp-0 to the NodePort on its own node's address", 'pass'],
      ['NET-2/node-to-pod', 'node ep-1a2b-cp-0 to a pod on itself', 'pass'],
      ['NET-3/hairpin', 'pod on ep-1a2b-cp-0 to itself through its own Service', 'pass'],
    ]);
  });
});
