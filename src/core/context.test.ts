import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunContext } from './context.js';
import { CleanupError, InterruptedError, UsageError, WaitTimeoutError } from './errors.js';
import type { RunEvent } from './events.js';
import type { Progress } from './progress.js';
import type { SessionRecord } from './session.js';
import { sleep } from './wait.js';

let root: string;
let contexts: RunContext[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-context-test-'));
  contexts = [];
});

afterEach(async () => {
  for (const ctx of contexts) await ctx.dispose().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

function newContext(options: { progress?: Progress | false; timeoutScale?: number; runId?: string } = {}): RunContext {
  const ctx = new RunContext({ runDir: join(root, 'runs', 'r'), cacheDir: join(root, 'cache'), progress: false, ...options });
  contexts.push(ctx);
  return ctx;
}

const eventsOnDisk = (ctx: RunContext) =>
  readFileSync(join(ctx.runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);

const phaseEvents = (ctx: RunContext) => ctx.events.events.filter((e) => e.type === 'phase-start' || e.type === 'phase-end');

describe('RunContext', () => {
  it('creates the run dir, a session record that tracks its temp dir, and a short tag', () => {
    const ctx = newContext({ runId: '20261124-063500-a1b2' });
    expect(existsSync(ctx.runDir)).toBe(true);
    expect(ctx.tag).toMatch(/^[0-9a-f]{8}$/);
    expect(ctx.tag.endsWith('a1b2')).toBe(true);
    expect(ctx.tempDir).toBe(join(root, 'cache', 'tmp', '20261124-063500-a1b2'));
    const record = JSON.parse(readFileSync(join(root, 'cache', 'sessions', `${ctx.runId}.json`), 'utf8')) as SessionRecord;
    expect(record.ownerPid).toBe(process.pid);
    expect(record.resources.tempDirs).toEqual([ctx.tempDir]);
  });

  it('scales base timeouts by its factor', () => {
    const ctx = newContext({ timeoutScale: 2.5 });
    expect(ctx.scaled(1_000)).toBe(2_500);
    ctx.timeoutScale = 1;
    expect(ctx.scaled(333)).toBe(333);
  });
});

describe('RunContext.phase', () => {
  it('records phase-start and phase-end (ok) around a successful phase and returns its value', async () => {
    const ctx = newContext();
    const value = await ctx.phase('boot', 5_000, async (signal) => {
      expect(signal.aborted).toBe(false);
      await sleep(10, signal);
      return 'booted';
    });
    expect(value).toBe('booted');
    const [start, end] = phaseEvents(ctx);
    expect(start).toMatchObject({ type: 'phase-start', phase: 'boot', budgetMs: 5_000 });
    expect(start).not.toHaveProperty('node');
    expect(end).toMatchObject({ type: 'phase-end', phase: 'boot', outcome: 'ok' });
    expect(end).not.toHaveProperty('error');
    expect(end!.type === 'phase-end' && end!.durationMs).toBeGreaterThanOrEqual(5);
    expect(eventsOnDisk(ctx)).toEqual(ctx.events.events);
  });

  it('records outcome failed and rethrows the original error when the phase throws', async () => {
    const ctx = newContext();
    const original = new Error('kubeadm init exited 1');
    const caught = await ctx
      .phase(
        'install',
        5_000,
        async () => {
          throw original;
        },
        'ep-1-cp-0',
      )
      .catch((e: unknown) => e);
    expect(caught).toBe(original);
    const [start, end] = phaseEvents(ctx);
    expect(start).toMatchObject({ type: 'phase-start', phase: 'install', node: 'ep-1-cp-0' });
    expect(end).toMatchObject({ type: 'phase-end', phase: 'install', node: 'ep-1-cp-0', outcome: 'failed', error: 'kubeadm init exited 1' });
  });

  it('rejects with a WaitTimeoutError naming the phase when it overruns its budget', async () => {
    const ctx = newContext();
    const started = Date.now();
    const caught = await ctx.phase('join workers', 50, (signal) => sleep(10_000, signal), 'ep-1-w-0').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(caught).toBeInstanceOf(WaitTimeoutError);
    const error = caught as WaitTimeoutError;
    expect(error.message).toMatch(/^phase "join workers" on ep-1-w-0: not reached after 50ms; last seen: /);
    expect(error.what).toBe('phase "join workers"');
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).name).toBe('TimeoutError');
    const end = phaseEvents(ctx)[1]!;
    expect(end).toMatchObject({ type: 'phase-end', phase: 'join workers', outcome: 'failed' });
    expect(end.type === 'phase-end' && end.error).toContain('phase "join workers"');
  });

  it('keeps an edgeproof error raised after the budget ran out as it is', async () => {
    const ctx = newContext();
    const own = new UsageError('bad input');
    const caught = await ctx
      .phase('check', 20, async (signal) => {
        await sleep(10_000, signal).catch(() => undefined);
        throw own;
      })
      .catch((e: unknown) => e);
    expect(caught).toBe(own);
  });

  it('ends a phase in progress with outcome interrupted after ctx.abort()', async () => {
    const ctx = newContext();
    const reason = new InterruptedError('SIGINT');
    setTimeout(() => ctx.abort(reason), 20);
    const started = Date.now();
    const caught = await ctx.phase('bring-up', 60_000, (signal) => sleep(10_000, signal)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(caught).toBe(reason);
    expect(ctx.signal.aborted).toBe(true);
    const end = phaseEvents(ctx)[1]!;
    expect(end).toMatchObject({ type: 'phase-end', phase: 'bring-up', outcome: 'interrupted', error: 'Interrupted by SIGINT' });
    expect(eventsOnDisk(ctx).at(-1)).toEqual(end);
  });

  it('reports start and end to progress', async () => {
    const seen: string[] = [];
    const progress: Progress = {
      start: (task, detail) => seen.push(`start ${task} ${detail}`),
      end: (task, _ms, outcome, detail) => seen.push(`end ${task} ${outcome}${detail ? ` ${detail}` : ''}`),
      info: (message) => seen.push(`info ${message}`),
    };
    const ctx = newContext({ progress });
    await ctx.phase('boot', 90_000, async () => undefined, 'ep-1-cp-0');
    await ctx.phase('smoke', 1_000, async () => {
      throw new Error('first line\nsecond line');
    }).catch(() => undefined);
    expect(seen).toEqual(['start boot [ep-1-cp-0] <= 1m30s', 'end boot [ep-1-cp-0] ok', 'start smoke <= 1.0s', 'end smoke failed first line']);
  });
});

describe('RunContext.dispose', () => {
  it('disposes the scope newest first, then removes the temp dir and the session record', async () => {
    const ctx = newContext();
    const order: string[] = [];
    mkdirSync(ctx.tempDir, { recursive: true });
    writeFileSync(join(ctx.tempDir, 'overlay.qcow2'), 'x');
    ctx.scope.defer('vm', () => order.push(`vm (tmp exists: ${existsSync(ctx.tempDir)})`));
    ctx.scope.defer('network', () => order.push('network'));
    const record = join(ctx.cacheDir, 'sessions', `${ctx.runId}.json`);
    expect(existsSync(record)).toBe(true);

    await ctx.dispose();

    expect(order).toEqual(['network', 'vm (tmp exists: true)']);
    expect(existsSync(ctx.tempDir)).toBe(false);
    expect(existsSync(record)).toBe(false);
    expect(ctx.scope.disposed).toBe(true);
  });

  it('keeps the session record (for the reaper) when disposing the scope failed', async () => {
    const ctx = newContext();
    ctx.scope.defer('vm', () => {
      throw new Error('qemu would not die');
    });
    await expect(ctx.dispose()).rejects.toBeInstanceOf(CleanupError);
    expect(existsSync(join(ctx.cacheDir, 'sessions', `${ctx.runId}.json`))).toBe(true);
  });

  it('await using disposes it', async () => {
    let record: string;
    {
      await using ctx = new RunContext({ runDir: join(root, 'runs', 'u'), cacheDir: join(root, 'cache'), progress: false });
      record = join(ctx.cacheDir, 'sessions', `${ctx.runId}.json`);
      mkdirSync(ctx.tempDir, { recursive: true });
      expect(existsSync(record)).toBe(true);
    }
    expect(existsSync(record)).toBe(false);
  });
});
