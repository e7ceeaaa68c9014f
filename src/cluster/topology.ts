import { UsageError } from '../core/errors.js';
import type { Topology } from './distribution.js';

/** `1`, `1+2`, `3`, `3+1`: control planes, then workers. */
export function parseTopology(text: string): Topology {
  const match = /^(\d+)(?:\+(\d+))?$/.exec(text.trim());
  if (!match) throw new UsageError(`Invalid topology "${text}"`, 'write control planes, optionally +workers: 1, 1+2, 3, 3+1');
  const topology = { controlPlanes: Number(match[1]), workers: Number(match[2] ?? 0) };
  if (topology.controlPlanes < 1) throw new UsageError(`Invalid topology "${text}": a cluster needs at least one control plane`, 'e.g. 1, 1+2, 3, 3+1');
  if (topology.controlPlanes + topology.workers > 16) throw new UsageError(`Topology "${text}" asks for ${topology.controlPlanes + topology.workers} nodes`, 'at most 16 nodes per cluster');
  return topology;
}

export function formatTopology(topology: Topology): string {
  return topology.workers ? `${topology.controlPlanes}+${topology.workers}` : String(topology.controlPlanes);
}

export function nodeCount(topology: Topology): number {
  return topology.controlPlanes + topology.workers;
}

/**
 * An etcd-backed control plane keeps quorum only with an odd member count:
 * two members lose the API when either fails (k3s's "even-member" warning),
 * so it is refused before anything boots.
 */
export function assertQuorumSafe(topology: Topology, distro: string): void {
  if (topology.controlPlanes % 2 === 0) {
    throw new UsageError(
      `${distro} cannot form an HA control plane of ${topology.controlPlanes} nodes: etcd with an even member count loses quorum when one fails`,
      `use 1 control plane, or 3 for HA (e.g. --topology 3 or 3+1)`,
    );
  }
}
