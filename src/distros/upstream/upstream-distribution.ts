import type { RunContext } from '../../core/context.js';
import type { Arch } from '../../emulation/boards.js';
import type { DiskPayload } from '../../emulation/images/guest-images.js';
import type { Machine } from '../../emulation/machine.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };
import { EdgeproofError } from '../../core/errors.js';
import type { Distribution, StartedCluster, Topology } from '../distribution.js';
import { assertQuorumSafe, nodeCount } from '../topology.js';
import { ensureKubernetesBinaries, ensureWorkloadImages, UPSTREAM_GUEST_PACKAGES } from './artifacts.js';
import { UpstreamCluster } from './upstream-cluster.js';

export { API_PORT } from './cluster-plan.js';

/** Upstream Kubernetes built from Debian's source package: the baseline distribution. */
export class UpstreamDistribution implements Distribution {
  readonly name = 'upstream';
  readonly version = versions.kubernetes.version;
  readonly claims = { architectures: ['arm64', 'amd64'] as Arch[], ha: true };

  guestPackages(): string[] {
    return UPSTREAM_GUEST_PACKAGES;
  }

  async diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]> {
    return [await ensureKubernetesBinaries(ctx, arch), await ensureWorkloadImages(ctx, arch)];
  }

  /** Said before anything boots: a topology this distribution cannot form. */
  validateTopology(topology: Topology): void {
    assertQuorumSafe(topology, this.name);
  }

  async formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster> {
    this.validateTopology(topology);
    if (machines.length !== nodeCount(topology)) {
      throw new EdgeproofError('INTERNAL', `topology ${topology.controlPlanes}+${topology.workers} needs ${nodeCount(topology)} machines, got ${machines.length}`);
    }
    const cluster = new UpstreamCluster(ctx, machines, topology);
    ctx.scope.defer('upstream cluster', () => cluster.dispose());
    await cluster.bringUp();
    return cluster;
  }
}
