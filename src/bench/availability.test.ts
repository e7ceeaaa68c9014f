import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { anyOf, outageStats, PeriodicProbe, timeline, type ProbeSample } from './availability.js';

const s = (t: number, ok: boolean): ProbeSample => ({ t, ok, ms: 5 });

describe('outageStats', () => {
  it('measures the longest run of failures from the first failure to the next success', () => {
    const samples = [s(0, true), s(1000, false), s(2000, false), s(3000, true), s(4000, false), s(5000, true)];
    expect(outageStats(samples, 0, 6000)).toEqual({
      samples: 6, failed: 3, availabilityPct: 50, longestOutageMs: 2000, longestOutageFrom: 1000, firstFailureAt: 1000, recoveredAt: 5000,
    });
  });

  it('runs an outage that never ended to the end of the window and reports no recovery', () => {
    const stats = outageStats([s(0, true), s(1000, false), s(2000, false)], 0, 10_000);
    expect(stats.longestOutageMs).toBe(9000);
    expect(stats.recoveredAt).toBeUndefined();
  });

  it('ignores samples outside the window and reports full availability without failures', () => {
    const stats = outageStats([s(0, false), s(1000, true), s(2000, true), s(9000, false)], 500, 5000);
    expect(stats).toEqual({ samples: 2, failed: 0, availabilityPct: 100, longestOutageMs: 0 });
  });
});

describe('anyOf', () => {
  it('is ok in a tick when any probe succeeded in it', () => {
    const a = [s(0, true), s(1000, false), s(2000, false)];
    const b = [s(10, false), s(1010, true), s(2010, false)];
    expect(anyOf([a, b], 0, 1000).map((x) => x.ok)).toEqual([true, true, false]);
    expect(timeline(anyOf([a, b], 0, 1000), 0)).toEqual([[0, 1], [1000, 1], [2000, 0]]);
  });
});

describe('PeriodicProbe', () => {
  it('samples a real server once per interval and records the outage while it is down', async () => {
    let healthy = true;
    const server = createServer((_req, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const probe = new PeriodicProbe('http', 50, async (signal) => {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal });
      return { ok: res.status === 200, detail: `HTTP ${res.status}` };
    }).start();
    await new Promise((r) => setTimeout(r, 300));
    healthy = false;
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    healthy = true;
    await new Promise((r) => setTimeout(r, 300));
    const samples = await probe.stop();
    server.close();
    const stats = outageStats(samples, samples[0]!.t, Date.now());
    expect(samples.length).toBeGreaterThanOrEqual(10);
    expect(stats.failed).toBeGreaterThanOrEqual(3);
    expect(stats.longestOutageMs).toBeGreaterThanOrEqual(200);
    expect(stats.longestOutageMs).toBeLessThan(1500);
    expect(stats.firstFailureAt! - downAt).toBeLessThan(500);
    expect(samples.find((x) => !x.ok)?.detail).toBe('HTTP 503');
  });
});
