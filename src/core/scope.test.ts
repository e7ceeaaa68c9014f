import { describe, expect, it } from 'vitest';
import { CleanupError } from './errors.js';
import { AsyncScope, once, startOrDispose } from './scope.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AsyncScope', () => {
  it('disposes in LIFO order, awaiting async disposers one at a time', async () => {
    const scope = new AsyncScope();
    const order: string[] = [];
    scope.defer('first', () => order.push('first'));
    scope.defer('second', async () => {
      order.push('second:start');
      await tick();
      order.push('second:end');
    });
    scope.defer('third', () => order.push('third'));
    expect(scope.disposed).toBe(false);
    await scope.dispose();
    expect(scope.disposed).toBe(true);
    expect(order).toEqual(['third', 'second:start', 'second:end', 'first']);
  });

  it('use() registers the resource and returns it; await using disposes it', async () => {
    const disposed: string[] = [];
    const resource = { name: 'r', async [Symbol.asyncDispose]() { disposed.push('r'); } };
    {
      await using scope = new AsyncScope();
      expect(scope.use('resource', resource)).toBe(resource);
      expect(disposed).toEqual([]);
    }
    expect(disposed).toEqual(['r']);
  });

  it('runs every disposer even when some throw, then throws a CleanupError naming each failure', async () => {
    const scope = new AsyncScope();
    const ran: string[] = [];
    scope.defer('vm ep-1', () => ran.push('vm'));
    scope.defer('network', async () => {
      ran.push('network');
      throw new Error('network busy');
    });
    scope.defer('tmp dir', () => ran.push('tmp'));
    scope.defer('container', () => {
      ran.push('container');
      throw new Error('no such container');
    });

    const error = await scope.dispose().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ran).toEqual(['container', 'tmp', 'network', 'vm']);
    expect(error).toBeInstanceOf(CleanupError);
    expect(error).toBeInstanceOf(AggregateError);
    const cleanup = error as CleanupError;
    expect(cleanup.code).toBe('CLEANUP');
    expect(cleanup.name).toBe('CleanupError');
    expect(cleanup.errors).toHaveLength(2);
    expect((cleanup.errors as Error[]).map((e) => e.message)).toEqual(['container: no such container', 'network: network busy']);
    expect(cleanup.message).toContain('container: no such container');
    expect(cleanup.message).toContain('network: network busy');
  });

  it('keeps non-Error throwables in the aggregate', async () => {
    const scope = new AsyncScope();
    scope.defer('odd', () => {
      throw 'a string';
    });
    const error = (await scope.dispose().catch((e: unknown) => e)) as CleanupError;
    expect(error).toBeInstanceOf(CleanupError);
    expect(error.errors).toEqual(['a string']);
    expect(error.message).toContain('a string');
  });

  it('runs disposers once when disposed twice, sequentially or concurrently', async () => {
    const scope = new AsyncScope();
    let runs = 0;
    scope.defer('slow', async () => {
      runs += 1;
      await tick();
    });
    const first = scope.dispose();
    const second = scope.dispose();
    expect(second).toBe(first);
    await Promise.all([first, second, scope[Symbol.asyncDispose]()]);
    await scope.dispose();
    expect(runs).toBe(1);
  });

  it('a second dispose of a failed scope reports the same failure without re-running disposers', async () => {
    const scope = new AsyncScope();
    let runs = 0;
    scope.defer('bad', () => {
      runs += 1;
      throw new Error('boom');
    });
    const a = await scope.dispose().catch((e: unknown) => e);
    const b = await scope.dispose().catch((e: unknown) => e);
    expect(a).toBeInstanceOf(CleanupError);
    expect(b).toBe(a);
    expect(runs).toBe(1);
  });

  it('refuses defer() after dispose() started, naming the disposer', async () => {
    const scope = new AsyncScope();
    await scope.dispose();
    expect(() => scope.defer('late vm', () => undefined)).toThrow(/already disposed.*late vm/);
    const other = new AsyncScope();
    other.defer('slow', tick);
    const pending = other.dispose();
    expect(() => other.defer('during', () => undefined)).toThrow(/already disposed/);
    await pending;
  });
});

describe('startOrDispose', () => {
  it('returns the value and leaves the scope alone when start succeeds', async () => {
    const scope = new AsyncScope();
    let disposed = false;
    scope.defer('x', () => {
      disposed = true;
    });
    await expect(startOrDispose(scope, async () => 42)).resolves.toBe(42);
    expect(disposed).toBe(false);
    expect(scope.disposed).toBe(false);
  });

  it('disposes the scope and rethrows the original error, even when cleanup also fails', async () => {
    const scope = new AsyncScope();
    const ran: string[] = [];
    scope.defer('a', () => ran.push('a'));
    scope.defer('b', () => {
      ran.push('b');
      throw new Error('cleanup failed too');
    });
    const original = new Error('boot failed');
    const caught = await startOrDispose(scope, async () => {
      throw original;
    }).catch((e: unknown) => e);
    expect(caught).toBe(original);
    expect(ran).toEqual(['b', 'a']);
    expect(scope.disposed).toBe(true);
  });
});

describe('once', () => {
  it('memoises: sequential and concurrent calls share one run', async () => {
    let runs = 0;
    const stop = once(async () => {
      runs += 1;
      await tick();
    });
    const a = stop();
    const b = stop();
    expect(b).toBe(a);
    await Promise.all([a, b]);
    await stop();
    expect(runs).toBe(1);
  });

  it('memoises a failure too', async () => {
    let runs = 0;
    const stop = once(async () => {
      runs += 1;
      throw new Error('stop failed');
    });
    await expect(stop()).rejects.toThrow('stop failed');
    await expect(stop()).rejects.toThrow('stop failed');
    expect(runs).toBe(1);
  });
});
