import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { WaitTimeoutError } from './errors.js';
import { describeBudget, sleep, untilAborted, waitFor } from './wait.js';

describe('waitFor', () => {
  it('returns the value once the probe is done, polling until then', async () => {
    let calls = 0;
    const starts: [string, number][] = [];
    const value = await waitFor(
      async () => {
        calls += 1;
        return calls < 3 ? { done: false, observed: `attempt ${calls}` } : { done: true, value: { ready: calls } };
      },
      { what: 'node Ready', budgetMs: 5_000, pollMs: 5, onStart: (what, budget) => starts.push([what, budget]) },
    );
    expect(value).toEqual({ ready: 3 });
    expect(calls).toBe(3);
    expect(starts).toEqual([['node Ready', 5_000]]);
  });

  it('on budget exhaustion throws WaitTimeoutError with what, where, budget and the last observation', async () => {
    let calls = 0;
    const started = Date.now();
    const error = await waitFor(async () => ({ done: false as const, observed: `phase=Pending #${++calls}` }), {
      what: 'pod web-0 Running',
      where: 'ep-1234-cp-0',
      budgetMs: 120,
      pollMs: 20,
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    const timeout = error as WaitTimeoutError;
    expect(timeout.code).toBe('WAIT_TIMEOUT');
    expect(timeout.what).toBe('pod web-0 Running');
    expect(timeout.budgetMs).toBe(120);
    expect(calls).toBeGreaterThan(1);
    expect(timeout.lastObservation).toBe(`phase=Pending #${calls}`);
    expect(timeout.message).toBe(`pod web-0 Running on ep-1234-cp-0: not reached after 120ms; last seen: phase=Pending #${calls}`);
  });

  it('reports an observation that came from a thrown probe error', async () => {
    let calls = 0;
    const error = await waitFor<never>(
      async () => {
        calls += 1;
        if (calls === 1) return { done: false, observed: 'first look' };
        throw new Error(`connect ECONNREFUSED 10.0.2.15:6443 (try ${calls})`);
      },
      { what: 'API server answering', budgetMs: 150, pollMs: 10 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    const message = (error as Error).message;
    expect(message).toContain('API server answering');
    expect(message).toContain('not reached after 150ms');
    expect(message).toContain(`last seen: connect ECONNREFUSED 10.0.2.15:6443 (try ${calls})`);
    expect(message).not.toContain('first look');
  });

  it('formats budgets in minutes and says "(nothing)" when nothing was observed', async () => {
    const error = new WaitTimeoutError('node Ready', 240_000, '');
    expect(error.message).toBe('node Ready: not reached after 4m00s; last seen: (nothing)');
    expect(new WaitTimeoutError('ssh', 1_500, 'refused', { where: 'ep-1-cp-0' }).message).toBe('ssh on ep-1-cp-0: not reached after 1.5s; last seen: refused');
    const real = await waitFor(async () => ({ done: false as const, observed: '' }), { what: 'x', budgetMs: 0 }).catch((e: unknown) => e);
    expect((real as Error).message).toBe('x: not reached after 0ms; last seen: (nothing)');
  });

  it('rejects promptly with the abort reason when the signal aborts mid-wait', async () => {
    const controller = new AbortController();
    const reason = new Error('Ctrl-C');
    let calls = 0;
    setTimeout(() => controller.abort(reason), 30);
    const started = Date.now();
    const error = await waitFor(
      async () => {
        calls += 1;
        return { done: false, observed: 'not yet' };
      },
      { what: 'never', budgetMs: 60_000, pollMs: 10_000, signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls).toBe(1);
  });

  it('does not probe at all when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already'));
    let calls = 0;
    await expect(
      waitFor(
        async () => {
          calls += 1;
          return { done: true, value: 1 };
        },
        { what: 'x', budgetMs: 1_000, signal: controller.signal },
      ),
    ).rejects.toThrow('already');
    expect(calls).toBe(0);
  });
});

describe('sleep', () => {
  it('resolves after roughly the given time', async () => {
    const started = Date.now();
    await sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('rejects promptly with the reason when aborted during the sleep', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(sleep(10_000, controller.signal)).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('before'));
    await expect(sleep(10_000, controller.signal)).rejects.toThrow('before');
  });

  it('removes its abort listener once it resolves (a later abort is harmless)', async () => {
    const controller = new AbortController();
    await sleep(1, controller.signal);
    controller.abort(new Error('late'));
    await sleep(1, AbortSignal.timeout(1_000));
  });
});

describe('untilAborted', () => {
  it('holds the process until the signal aborts (an abort listener alone would let it exit)', async () => {
    const child = fileURLToPath(new URL('./test-fixtures/until-aborted-child.ts', import.meta.url));
    const started = Date.now();
    const run = await execa(process.execPath, ['--import', 'tsx', child, '1500'], { reject: false });
    expect({ exitCode: run.exitCode, stdout: run.stdout }).toEqual({ exitCode: 0, stdout: 'kept until abort' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });

  it('resolves at once for a signal already aborted', async () => {
    await untilAborted(AbortSignal.abort());
  });
});

describe('describeBudget', () => {
  it('says what is awaited and for how long', () => {
    expect(describeBudget('node ep-1-cp-0 Ready', 90_000)).toBe('waiting <= 1m30s for node ep-1-cp-0 Ready');
  });
});
