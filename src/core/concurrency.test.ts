import { describe, expect, it } from 'vitest';
import { allOrFirstError, mapConcurrent } from './concurrency.js';
import { sleep } from './wait.js';

describe('mapConcurrent', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapConcurrent([30, 5, 20, 1, 10, 2], 2, async (delay, index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(delay);
      inFlight--;
      return `${index}:${delay}`;
    });
    expect(results).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10', '5:2']);
    expect(most).toBe(2);
  });

  it('handles no items, and rejects with the first error', async () => {
    expect(await mapConcurrent([], 4, async () => 1)).toEqual([]);
    await expect(mapConcurrent([1, 2, 3], 2, async (n) => { if (n === 2) throw new Error('two'); return n; })).rejects.toThrow('two');
  });
});

describe('allOrFirstError', () => {
  it('rejects with the first failure only after the slower siblings have settled', async () => {
    const settled: string[] = [];
    const slow = sleep(50).then(() => { settled.push('slow'); return 'slow'; });
    const failing = sleep(5).then(() => { settled.push('failed'); throw new Error('node 0 failed'); });
    await expect(allOrFirstError([failing, slow])).rejects.toThrow('node 0 failed');
    expect(settled).toEqual(['failed', 'slow']);
  });

  it('resolves to every value in order', async () => {
    expect(await allOrFirstError([sleep(20).then(() => 1), Promise.resolve(2)])).toEqual([1, 2]);
  });
});
