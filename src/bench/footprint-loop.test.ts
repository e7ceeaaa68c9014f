import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { footprintLoopScript, parseFootprintLoop } from './footprint.js';

describe('in-guest footprint loop', () => {
  it('runs on a fixed grid with dash and yields stamped, complete samples', async () => {
    const script = footprintLoopScript({ processNames: ['node'], cgroupPaths: [] }, 200, 4);
    const started = Date.now();
    const { stdout } = await execa('dash', ['-c', script]);
    const elapsed = Date.now() - started;
    const { samples, failures } = parseFootprintLoop(stdout);
    expect(failures).toEqual([]);
    expect(samples).toHaveLength(4);
    // Four probes on a 200 ms grid: the loop waits between them rather than running back to back.
    expect(elapsed).toBeGreaterThanOrEqual(550);
    for (const sample of samples) {
      expect(sample.memTotalBytes).toBeGreaterThan(0);
      expect(sample.processes.some((p) => p.name === 'node' && p.pid === process.pid)).toBe(true);
    }
    const gaps = samples.slice(1).map((s, i) => s.at - samples[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150);
  });

  it('refuses an interval or count that cannot make a sampling grid', () => {
    expect(() => footprintLoopScript({ processNames: [], cgroupPaths: [] }, 10, 3)).toThrow(/interval >= 100 ms/);
    expect(() => footprintLoopScript({ processNames: [], cgroupPaths: [] }, 1000, 0)).toThrow(/count >= 1/);
  });

  it('keeps a cut-short sample as a failure, not a sample', () => {
    const { samples, failures } = parseFootprintLoop('@@sample-at-ms 1000\n@@edgeproof-footprint 1\n@@meminfo\nMemTotal: 10 kB\n');
    expect(samples).toEqual([]);
    expect(failures[0]).toMatch(/end marker/);
  });
});
