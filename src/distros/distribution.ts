import type { KubeConfig } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import type { Arch } from '../emulation/boards.js';
import type { DiskPayload } from '../emulation/images/guest-images.js';
import type { Machine } from '../emulation/machine.js';

export type NodeRole = 'control-plane' | 'worker';

export interface ClusterNode {
  name: string;
  role: NodeRole;
  /** Absent on the `existing` backend: checks that need it are not applicable. */
  machine?: Machine;
}

export interface Topology {
  controlPlanes: number;
  workers: number;
}

/** What the vendor advertises, set beside what edgeproof measures. */
export interface DistributionClaims {
  /** Advertised minimum memory, MB. */
  memoryMB?: number;
  memorySource?: string;
  architectures: Arch[];
  ha: boolean;
}

/** The processes and cgroups that make up "the distribution's own" memory on a node. */
export interface FootprintTargets {
  processNames: string[];
  /** Memory-cgroup paths relative to the controller's root. */
  cgroupPaths: string[];
  /** What the figure covers, in words, for the report. */
  definition: string;
}

/** An apiserver the harness can reach, and the node that serves it. */
export interface ApiEndpoint {
  node: string;
  /** https://host:port as reachable from the harness. */
  url: string;
}

/** The datastore as one member sees it: who leads, who is in, whether it answers. */
export interface DatastoreStatus {
  observedFrom: string;
  healthy: boolean;
  leader?: string;
  members: string[];
  raftTerm?: number;
}

export interface StartedCluster extends AsyncDisposable {
  readonly distro: string;
  readonly version: string;
  readonly topology: Topology;
  readonly nodes: ClusterNode[];
  /** Kubeconfig for the harness (0600 in the run dir). */
  readonly kubeconfigPath: string;
  /** Admin credentials, against `endpoint` when given (else the first control plane). */
  kubeConfig(endpoint?: ApiEndpoint): KubeConfig;
  /** Every control plane's apiserver, as the harness reaches it. */
  apiEndpoints(): ApiEndpoint[];
  /** The datastore seen from a control-plane node; absent where the distribution cannot say (or the node is gone). */
  datastoreStatus?(node: ClusterNode): Promise<DatastoreStatus>;
  /** Image the suites run their workloads from (present on every node). */
  readonly workloadImage: string;
  footprintTargets(node: ClusterNode): FootprintTargets;
  /** Named phase timings of the bring-up, in ms since the first machine started. */
  readonly milestones: Record<string, number>;
  dispose(): Promise<void>;
}

export interface Distribution {
  readonly name: string;
  readonly version: string;
  readonly claims: DistributionClaims;
  /** Debian packages the guest root filesystem needs for this distribution. */
  guestPackages(arch: Arch): string[];
  /** Files baked into the guest disk (binaries, images), built and cached on the host. */
  diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]>;
  /** Refuses, before anything boots, a topology this distribution cannot form (UsageError). */
  validateTopology(topology: Topology): void;
  /** Installs, configures and starts the distribution on started machines; resolves when Ready. */
  formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster>;
}
