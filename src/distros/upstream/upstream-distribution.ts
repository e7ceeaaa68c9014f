import type { RunContext } from '../../core/context.js';
import type { Arch } from '../../emulation/boards.js';
import type { DiskPayload } from '../../emulation/images/guest-images.js';
import type { Machine } from '../../emulation/machine.js';
import { distroComponents, withSources, type Component } from '../../components/component.js';
import { EdgeproofError } from '../../core/errors.js';
import type { Distribution, DistributionOptions, GuestClockSet, NodeRequirements, StartedCluster, Topology } from '../../cluster/distribution.js';
import { assertQuorumSafe, nodeCount } from '../../cluster/topology.js';
import { ensureUpstreamComponents, ensureWorkloadImages, upstreamNeeds, UPSTREAM_GUEST_PACKAGES } from './artifacts.js';
import { ensureE2eImages } from '../../cluster/e2e-images.js';
import type { NeedsOptions, RunNeeds } from '../../cluster/run-needs.js';
import { API_PORT } from './cluster-plan.js';
import { UpstreamCluster } from './upstream-cluster.js';

export { API_PORT } from './cluster-plan.js';

/**
 * What a node needs for the upstream driver: edgeproof's own supervisor runs
 * the services (no systemd). Kubernetes, etcd, containerd and runc are the
 * binaries edgeproof built (copied to /opt/edgeproof on ssh hosts); the rest
 * comes from Debian's packages.
 */
export const UPSTREAM_REQUIREMENTS: NodeRequirements = {
  systemd: false,
  snapd: false,
  minMemoryMiB: 1024,
  memoryCgroup: true,
  commands: [
    { name: 'iptables', fix: 'apt-get install iptables' },
    { name: 'conntrack', fix: 'apt-get install conntrack' },
    { name: 'setsid', fix: 'apt-get install util-linux' },
  ],
};

/** Upstream Kubernetes built from its Go module: the baseline distribution. */
export class UpstreamDistribution implements Distribution {
  readonly name = 'upstream';
  readonly version: string;
  /** The catalog's pins, with --version (Kubernetes) and --source (any component) applied. */
  readonly components: Component[];
  readonly apiPort = API_PORT;
  readonly claims = { architectures: ['arm64', 'amd64'] as Arch[], ha: true };
  readonly requirements: NodeRequirements = UPSTREAM_REQUIREMENTS;

  constructor(options: DistributionOptions = {}) {
    const sources = [...(options.version ? [`k8s.io/kubernetes@${options.version}`] : []), ...(options.sources ?? [])];
    this.components = withSources(distroComponents('upstream').components, sources);
    this.version = this.components.find((c) => c.name === 'kubernetes')!.version;
  }

  guestPackages(): string[] {
    return UPSTREAM_GUEST_PACKAGES;
  }

  /** Nothing from outside at run time; --airgap is accepted and its directory is not read. */
  needs(arch: Arch, options: NeedsOptions = {}): Promise<RunNeeds> {
    return upstreamNeeds(this.components, this.version, arch, options);
  }

  async diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]> {
    // The e2e suite's images ride along on every upstream node: the baseline is where conformance is checked.
    return [...(await ensureUpstreamComponents(ctx, this.components, arch)), await ensureWorkloadImages(ctx, arch), await ensureE2eImages(ctx, arch)];
  }

  /** Said before anything boots: a topology this distribution cannot form (both architectures are built). */
  validate(_arch: Arch, topology: Topology): void {
    assertQuorumSafe(topology, this.name);
  }

  async formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster> {
    this.validate(machines[0]?.arch ?? 'arm64', topology);
    if (machines.length !== nodeCount(topology)) {
      throw new EdgeproofError('INTERNAL', `topology ${topology.controlPlanes}+${topology.workers} needs ${nodeCount(topology)} machines, got ${machines.length}`);
    }
    const cluster = new UpstreamCluster(ctx, machines, topology, this.version);
    ctx.scope.defer('upstream cluster', () => cluster.dispose());
    await cluster.bringUp();
    return cluster;
  }

  async resumeCluster(ctx: RunContext, machines: Machine[], topology: Topology, clock: GuestClockSet): Promise<StartedCluster> {
    const cluster = new UpstreamCluster(ctx, machines, topology, this.version);
    ctx.scope.defer('upstream cluster', () => cluster.dispose());
    await cluster.resume(clock);
    return cluster;
  }
}
