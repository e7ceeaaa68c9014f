import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { sleep } from '../core/wait.js';
import {
  calibrateLoader,
  httpGet,
  intendedSendCount,
  operationSequence,
  runOpenModel,
  startLocalServer,
  type LocalServer,
} from './open-model-loader.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A real HTTP server on 127.0.0.1 that answers each request after `delayMs`, and a keep-alive client for it. */
async function slowServer(delayMs: number): Promise<{ server: LocalServer; get: () => Promise<number> }> {
  const server = await startLocalServer((_request, response) => {
    setTimeout(() => response.end('ok'), delayMs);
  });
  const agent = new http.Agent({ keepAlive: true });
  cleanups.push(async () => {
    agent.destroy();
    await server.close();
  });
  return { server, get: () => httpGet(agent, server.url) };
}

describe('operationSequence', () => {
  it('spreads weighted operations smoothly and deterministically', () => {
    const next = operationSequence({ a: 3, b: 1 });
    expect(Array.from({ length: 8 }, next).join('')).toBe('aabaaaba');
  });

  it('is plain round-robin in key order with equal weights, skipping zero weights', () => {
    const next = operationSequence({ x: 1, y: 1, z: 1, off: 0 });
    expect(Array.from({ length: 6 }, next)).toEqual(['x', 'y', 'z', 'x', 'y', 'z']);
  });
});

describe('intendedSendCount', () => {
  it('counts the sends with i / rate < duration', () => {
    expect(intendedSendCount(40, 2000)).toBe(80);
    expect(intendedSendCount(2.5, 1000)).toBe(3);
    expect(intendedSendCount(3, 1000)).toBe(3);
    expect(intendedSendCount(0.1, 1000)).toBe(1);
  });
});

describe('runOpenModel against a real HTTP server', () => {
  it('keeps the arrival rate and measures at least the server time', async () => {
    const { get } = await slowServer(50);
    const run = await runOpenModel({ operations: { get }, ratePerSecond: 40, durationMs: 2000, maxInFlight: 100 });
    const figures = run.operations.get!;

    expect(run.intendedSends).toBe(80);
    expect(run.sent).toBe(80);
    expect(figures).toMatchObject({ count: 80, errors: 0, dropped: 0, delayedByMaxInFlight: 0, unfinished: 0 });
    // 80 sends spaced 25 ms apart: the last leaves at 1975 ms, so the rate is 40/s unless the schedule slipped.
    expect(run.achievedRatePerSecond).toBeGreaterThan(34);
    expect(run.achievedRatePerSecond).toBeLessThan(46);
    expect(run.elapsedMs).toBeGreaterThanOrEqual(1975 + 50);
    expect(figures.latency!.p50Ms).toBeGreaterThanOrEqual(50);
    expect(figures.latency!.p50Ms).toBeLessThan(300);
    expect(figures.latency!.minMs).toBeGreaterThanOrEqual(49.9);
    expect(decodeFromCompressedBase64(figures.histogram).totalCount).toBe(80);
  });

  it('times from the intended send time: with one slot and a slow server, latency grows (no coordinated omission)', async () => {
    const { get } = await slowServer(100);
    // A send every 50 ms, each call takes 100 ms and only one may run: the backlog grows by 50 ms per send.
    const run = await runOpenModel({ operations: { get }, ratePerSecond: 20, durationMs: 2000, maxInFlight: 1 });
    const figures = run.operations.get!;

    expect(figures.count).toBe(40);
    expect(figures.delayedByMaxInFlight).toBeGreaterThanOrEqual(35);
    expect(run.elapsedMs).toBeGreaterThanOrEqual(40 * 100);
    // Send i completes near 100 (i + 1) ms but was intended at 50 i ms: latency ~ 100 + 50 i, up to ~2050 ms.
    // A loader timing from the actual send would report ~100 ms for every call.
    expect(figures.latency!.p50Ms).toBeGreaterThan(800);
    expect(figures.latency!.maxMs).toBeGreaterThan(1800);
    expect(figures.latency!.maxMs).toBeLessThan(6000);
  });

  it('drops sends instead of delaying them when asked, and counts them', async () => {
    const { get } = await slowServer(200);
    const run = await runOpenModel({ operations: { get }, ratePerSecond: 20, durationMs: 1000, maxInFlight: 1, whenSaturated: 'drop' });
    const figures = run.operations.get!;

    expect(figures.intended).toBe(20);
    expect(figures.sent + figures.dropped).toBe(20);
    expect(figures.dropped).toBeGreaterThanOrEqual(10);
    expect(figures.delayedByMaxInFlight).toBe(0);
    expect(figures.latency!.maxMs).toBeLessThan(1000);
  });
});

describe('runOpenModel bookkeeping', () => {
  it('splits sends by weight and counts errors with their first distinct messages', async () => {
    let calls = 0;
    const run = await runOpenModel({
      operations: {
        ok: async () => undefined,
        flaky: async () => {
          calls++;
          if (calls % 2 === 0) throw new Error(`refused #${calls % 4}`);
        },
      },
      weights: { ok: 1, flaky: 3 },
      ratePerSecond: 200,
      durationMs: 400,
      maxInFlight: 10,
    });

    expect(run.operations.ok!.count).toBe(20);
    expect(run.operations.flaky!).toMatchObject({ intended: 60, sent: 60, count: 30, errors: 30 });
    expect(run.operations.flaky!.errorSamples).toEqual(['refused #2', 'refused #0']);
    expect(run.all).toMatchObject({ count: 50, errors: 30, sent: 80 });
    expect(run.all.errorSamples[0]).toBe('flaky: refused #2');
  });

  it('leaves untimed setup out of the latency', async () => {
    const run = await runOpenModel({
      operations: {
        'delete-after-create': async (call) => {
          await call.untimed(() => sleep(150));
          await sleep(20);
        },
      },
      ratePerSecond: 20,
      durationMs: 500,
      maxInFlight: 20,
    });
    const latency = run.operations['delete-after-create']!.latency!;

    expect(latency.p50Ms).toBeGreaterThanOrEqual(19);
    expect(latency.maxMs).toBeLessThan(150);
  });

  it('stops on abort and returns what it measured', async () => {
    const started = performance.now();
    const run = await runOpenModel({
      operations: { quick: async () => undefined },
      ratePerSecond: 20,
      durationMs: 10_000,
      maxInFlight: 5,
      signal: AbortSignal.timeout(300),
    });

    expect(run.interrupted).toBe(true);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(run.sent).toBeGreaterThanOrEqual(3);
    expect(run.sent).toBeLessThan(100);
    expect(run.operations.quick!.count).toBe(run.sent);
  });

  it('counts calls that never finish as unfinished after the drain timeout', async () => {
    const run = await runOpenModel({
      operations: { hang: () => new Promise(() => {}) },
      ratePerSecond: 10,
      durationMs: 200,
      maxInFlight: 5,
      drainTimeoutMs: 100,
    });
    expect(run.operations.hang).toMatchObject({ sent: 2, count: 0, unfinished: 2, latency: null });
  });

  it('refuses options that cannot describe a schedule', async () => {
    const operations = { a: async () => undefined };
    await expect(runOpenModel({ operations, ratePerSecond: 10, durationMs: 100, maxInFlight: 0 })).rejects.toThrow(/maxInFlight/);
    await expect(runOpenModel({ operations, ratePerSecond: 0, durationMs: 100, maxInFlight: 1 })).rejects.toThrow(/ratePerSecond/);
    await expect(
      runOpenModel({ operations, ratePerSecond: 10, durationMs: 100, maxInFlight: 1, weights: { b: 1 } }),
    ).rejects.toThrow(/unknown operation "b"/);
    await expect(runOpenModel({ operations: {}, ratePerSecond: 10, durationMs: 100, maxInFlight: 1 })).rejects.toThrow(/at least one/);
  });
});

describe('calibrateLoader', () => {
  it('measures its own overhead against a local no-op server and closes it afterwards', async () => {
    const calibration = await calibrateLoader({ ratePerSecond: 200, durationMs: 1000 });

    expect(calibration).toMatchObject({ count: 200, errors: 0, ratePerSecond: 200 });
    expect(calibration.target).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(calibration.overhead!.p50Ms).toBeGreaterThan(0);
    expect(calibration.overhead!.p50Ms).toBeLessThan(50);
    expect(calibration.overhead!.maxMs).toBeGreaterThanOrEqual(calibration.overhead!.p99Ms);

    const agent = new http.Agent();
    await expect(httpGet(agent, calibration.target)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });
});
