import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { RunContext } from '../core/context.js';
import { BootFailedError } from '../core/errors.js';
import { exitCodeForError } from '../core/exit-codes.js';
import { exitCodeFor } from '../reports/result-model.js';
import { fail, pass, runCheck } from '../suites/check.js';
import { endRun } from './run-end.js';

const scratch = mkdtempSync(join(tmpdir(), 'ep-run-end-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function context(name: string): RunContext {
  const ctx = new RunContext({ runDir: join(scratch, name, 'run'), cacheDir: join(scratch, name, 'cache'), progress: false });
  ctx.events.emit({ type: 'run-start', runId: ctx.runId, argv: [], config: {} });
  return ctx;
}

describe('endRun', () => {
  test('the reports are written before teardown and again after it, with the outcome', async () => {
    const ctx = context('order');
    await runCheck(ctx, { id: 'SMOKE-1', suite: 'smoke', name: 'a finished check' }, async () => pass());
    let before: { outcome: string } | undefined;
    ctx.scope.defer('node', () => {
      before = JSON.parse(readFileSync(join(ctx.runDir, 'result.json'), 'utf8'));
    });
    const ended = await endRun(ctx, { startedAt: Date.now(), claims: {} });
    expect(before).toMatchObject({ outcome: 'incomplete', checks: [expect.objectContaining({ id: 'SMOKE-1' })] });
    expect(ended).toMatchObject({ interrupted: false, result: { outcome: 'completed' } });
    expect(JSON.parse(readFileSync(join(ctx.runDir, 'result.json'), 'utf8'))).toMatchObject({ outcome: 'completed' });
  });

  test('reports that cannot be written before teardown never skip it', async () => {
    const ctx = context('unwritable');
    mkdirSync(join(ctx.runDir, 'result.json'));
    let disposed = false;
    ctx.scope.defer('node', () => {
      disposed = true;
    });
    await expect(endRun(ctx, { startedAt: Date.now(), claims: {} })).rejects.toThrow(/result\.json/);
    expect(disposed).toBe(true);
  });
});

/** What `edgeproof run` exits with once the run has ended (runCommand: the run's error is rethrown, else the result decides). */
function runExitCode(ended: Awaited<ReturnType<typeof endRun>>): number {
  return ended.error ? exitCodeForError(ended.error) : exitCodeFor(ended.result);
}

describe('the exit code of an ended run', () => {
  test('a failed check: 1', async () => {
    const ctx = context('check-failed');
    await runCheck(ctx, { id: 'SMOKE-2', suite: 'smoke', name: 'HTTP pod to pod' }, async () => fail('connection refused'));
    const ended = await endRun(ctx, { startedAt: Date.now(), claims: {} });
    expect(ended.result.outcome).toBe('completed');
    expect(runExitCode(ended)).toBe(1);
  });

  test('a budget exceeded (checks passed): 1', async () => {
    const ctx = context('budget-failed');
    await runCheck(ctx, { id: 'SMOKE-1', suite: 'smoke', name: 'a Deployment of 2 pods becomes Running' }, async () => pass());
    ctx.events.emit({ type: 'measurement', id: 'BM-API-1/configmap-create', suite: 'api-latency', name: 'create ConfigMap', unit: 'ms', value: 40, stats: { p99: 40 } });
    const budgetsFile = join(scratch, 'strict-budgets.yaml');
    writeFileSync(budgetsFile, 'schemaVersion: 1\nbudgets:\n  api-p99:\n    measurement: "BM-API-1/*"\n    stat: p99\n    max: 5ms\n');
    const ended = await endRun(ctx, { startedAt: Date.now(), claims: {}, budgetsFile });
    expect(ended.result.checks).toContainEqual(expect.objectContaining({ id: expect.stringContaining('BUDGET/'), verdict: 'fail' }));
    expect(runExitCode(ended)).toBe(1);
  });

  test('a bring-up that errors after a check failed: the run errored, 3, and the reports say so', async () => {
    const ctx = context('bring-up-error');
    await runCheck(ctx, { id: 'BOOT-1', suite: 'smoke', name: 'nodes Ready' }, async () => fail('node ep-cp-0 NotReady'));
    const ended = await endRun(ctx, { startedAt: Date.now(), claims: {}, error: new BootFailedError('ep-cp-0', 'gave no login prompt within 5m', 'U-Boot 2024.01') });
    expect(JSON.parse(readFileSync(join(ctx.runDir, 'result.json'), 'utf8'))).toMatchObject({ outcome: 'failed', error: expect.stringContaining('no login prompt') });
    expect(exitCodeFor(ended.result)).toBe(3);
    expect(runExitCode(ended)).toBe(3);
  });
});
