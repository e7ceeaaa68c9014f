import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { RunContext } from '../core/context.js';
import { pass, runCheck } from '../suites/check.js';
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
