import { describe, expect, it } from 'vitest';
import { evictionCause, zoneState, type EvictionFacts, type NodeFacts } from './eviction-diagnosis.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const node = (name: string, ready: string, taint?: string): NodeFacts => ({
  name, zone: '', ready, noExecuteTaints: taint ? [{ key: taint, timeAdded: ago(60) }] : [],
});

function facts(overrides: Partial<EvictionFacts>): EvictionFacts {
  return {
    now: NOW,
    targets: ['cp-0'],
    nodes: [node('cp-0', 'Unknown'), node('cp-1', 'True'), node('cp-2', 'True'), node('w-0', 'True')],
    stuckPods: [{ name: 'web-a', node: 'cp-0', deleting: false, tolerationSeconds: 10 }],
    evictionEvents: [],
    controllerManager: { holder: 'cp-1_3f2a', renewTime: ago(2), leaseDurationSeconds: 15 },
    ...overrides,
  };
}

describe('zoneState (the node lifecycle controller\'s view)', () => {
  it('is a partial disruption from three NotReady nodes and 55 %, full when none is Ready', () => {
    expect(zoneState([node('a', 'Unknown'), node('b', 'True'), node('c', 'True'), node('d', 'True')]).state).toBe('normal');
    expect(zoneState([node('a', 'Unknown'), node('b', 'False'), node('c', 'True'), node('d', 'True')]).state).toBe('normal');
    expect(zoneState([node('a', 'Unknown'), node('b', 'False'), node('c', 'Unknown'), node('d', 'True')])).toEqual({ state: 'partial-disruption', notReady: 3, size: 4 });
    expect(zoneState([node('a', 'Unknown'), node('b', 'Unknown')]).state).toBe('full-disruption');
  });
});

describe('evictionCause names the first broken link', () => {
  it('a zone in partial disruption stops the tainting', () => {
    const cause = evictionCause(facts({ nodes: [node('cp-0', 'Unknown'), node('cp-1', 'Unknown'), node('cp-2', 'False'), node('w-0', 'True')] }));
    expect(cause).toMatch(/^cp-0 \(Ready=Unknown\) carries no NoExecute taint: 3 of 4 nodes .* partial disruption/);
  });

  it('a controller-manager lease still held by the failed node: no live controller', () => {
    expect(evictionCause(facts({ controllerManager: { holder: 'cp-0_91bc', renewTime: ago(40), leaseDurationSeconds: 15 } })))
      .toMatch(/lease is held by cp-0, last renewed 40s ago: no live node lifecycle controller/);
    expect(evictionCause(facts({ controllerManager: { holder: 'cp-1_3f2a', renewTime: ago(90), leaseDurationSeconds: 15 } })))
      .toMatch(/lease is held by cp-1, last renewed 1m30s ago/);
  });

  it('a tainted node whose pod was never marked: the taint manager', () => {
    const cause = evictionCause(facts({ nodes: [node('cp-0', 'Unknown', 'node.kubernetes.io/unreachable'), node('cp-1', 'True')] }));
    expect(cause).toMatch(/cp-0 was tainted node\.kubernetes\.io\/unreachable:NoExecute 1m00s ago, yet the taint manager never marked web-a for deletion \(toleration 10 s\)/);
  });

  it('a pod marked for deletion that was never deleted: the delete failed and was not retried', () => {
    const cause = evictionCause(facts({
      nodes: [node('cp-0', 'Unknown', 'node.kubernetes.io/unreachable'), node('cp-1', 'True')],
      evictionEvents: [{ pod: 'web-a', at: ago(45), message: 'Marking for deletion Pod ns/web-a' }],
    }));
    expect(cause).toMatch(/marked web-a for deletion at .*never deleted: the delete failed/);
  });

  it('a normal zone, a live controller, and still no taint is said as such', () => {
    expect(evictionCause(facts({}))).toMatch(/zone \(no zone label\) is normal \(1 of 4 NotReady\) and cp-1 leads the controller-manager .*yet the node was not tainted: .*kubernetes#94183/);
  });

  it('no pod left on the failed node points at the replacement, not eviction', () => {
    expect(evictionCause(facts({ stuckPods: [] }))).toMatch(/replacements are not Ready/);
  });
});
