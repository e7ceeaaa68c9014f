import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { assertQuorumSafe, formatTopology, parseTopology } from './topology.js';

describe('parseTopology', () => {
  it.each([
    ['1', { controlPlanes: 1, workers: 0 }],
    ['1+2', { controlPlanes: 1, workers: 2 }],
    ['3', { controlPlanes: 3, workers: 0 }],
    [' 3+1 ', { controlPlanes: 3, workers: 1 }],
  ])('reads %s', (text, topology) => {
    expect(parseTopology(text)).toEqual(topology);
    expect(formatTopology(topology)).toBe(text.trim());
  });

  it.each(['', 'three', '3+', '+1', '0+2', '1+-1', '3x1', '10+10'])('refuses %j with a usage error', (text) => {
    expect(() => parseTopology(text)).toThrow(UsageError);
  });

  it('refuses an even control-plane count before anything boots, and says what works', () => {
    const refusal = (() => {
      try {
        assertQuorumSafe({ controlPlanes: 2, workers: 1 }, 'upstream');
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as UsageError).message).toMatch(/even member count/);
    expect((refusal as UsageError).hint).toMatch(/3 for HA/);
    expect(() => assertQuorumSafe({ controlPlanes: 3, workers: 1 }, 'upstream')).not.toThrow();
  });
});
