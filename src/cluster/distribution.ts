import type { KubeConfig } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import type { Arch } from '../emulation/boards.js';
import type { DiskPayload, GuestVariant } from '../emulation/images/guest-images.js';
import type { Machine } from '../emulation/machine.js';
import type { HostRequirements } from '../emulation/ssh/host-checks.js';
import type { AirgapFile } from './install-source.js';
import type { NeedsOptions, RunNeeds } from './run-needs.js';

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
  /** How HA is reached, in words ("automatic at 3 nodes", "--cluster-init + 3 servers"). */
  haMode?: string;
  /** Container runtimes, CNIs and storage the distribution ships or supports out of the box. */
  runtimes?: string[];
  cnis?: string[];
  storage?: string[];
  /** Where these claims come from (documentation URLs). */
  sources?: string[];
}

/** What a node must offer before this distribution can be installed on it (checked on ssh hosts). */
export type NodeRequirements = HostRequirements;

/** A root filesystem able to host a distribution: data for the image builder (Debian packages, size, init). */
/** A distribution's guest image: the variant the backends build and boot, its packages, and why. */
export interface GuestImageSpec extends GuestVariant {
  /** Debian packages beyond the base set. */
  packages: string[];
  /** Why this size and these packages, for the image's label. */
  note: string;
}

/** Options a user gives a distribution on the command line. */
export interface DistributionOptions {
  /** Distribution version (K3s v1.30.4+k3s1, minikube v1.34.0, upstream v1.35.4). */
  version?: string;
  /** `module@version` of components to build instead of the catalog's pins (distributions built from Go modules). */
  sources?: string[];
  /** MicroK8s snap channel (1.30/stable, 1.30-strict/stable). */
  channel?: string;
  /** Directory holding the installer's files for machines without internet. */
  airgapDir?: string;
}

/** Before anything boots: is this version right for the arch, and can the installer get its files? */
export interface PreflightContext {
  arch: Arch;
  signal?: AbortSignal;
  /** Budget of one reachability probe (default 5 s). */
  probeTimeoutMs?: number;
}

export interface PreflightReport {
  /** What will be installed, resolved (e.g. channel 1.30/stable). */
  resolved: string;
  /** 'airgap' when every file comes from --airgap, else the sources probed and reachable. */
  source: 'airgap' | 'online';
  probed: { url: string; ok: boolean; detail: string }[];
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
  /** Kubeconfig for the harness: 0600 in the run's secrets, which end with the run (existing backend: the user's own file, read where it is). */
  readonly kubeconfigPath: string;
  /** The context of that file that tools on the host must use (`--context`); absent: the file's current-context. */
  readonly kubeContext?: string;
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
  /** Enables a distribution addon (MicroK8s `enable`, minikube `addons enable`); absent where there is none. */
  enableAddon?(addon: AddonRequest): Promise<void>;
  dispose(): Promise<void>;
}

/** An addon with its argument, as the distribution's CLI takes it (`metallb:10.64.140.43-10.64.140.49`). */
export interface AddonRequest {
  name: string;
  args?: string;
}

export interface Distribution {
  readonly name: string;
  readonly version: string;
  /** The apiserver's port on a control-plane node (forwarded to the harness on emulated boards). */
  readonly apiPort?: number;
  readonly claims: DistributionClaims;
  /** What a node needs before install (the ssh backend checks it on each host). */
  readonly requirements?: NodeRequirements;
  /** Debian packages the guest root filesystem needs for this distribution. */
  guestPackages(arch: Arch): string[];
  /** The whole guest image variant: packages, size and init (absent: the base image with guestPackages). */
  guestImage?(arch: Arch): GuestImageSpec;
  /** A version, channel or topology this arch cannot run: UsageError, pure and instant (called while parsing flags). */
  validate?(arch: Arch, topology: Topology): void;
  /**
   * Runs before any machine boots: a version or channel the arch cannot run is
   * a UsageError; an install source this host cannot reach (and no air-gap
   * files) is an InstallSourceUnreachableError naming the step and the URL.
   */
  preflight?(ctx: PreflightContext): Promise<PreflightReport>;
  /** The files an --airgap DIR must hold for this arch; absent: the distribution reads nothing from DIR (upstream). */
  airgapFiles?(arch: Arch): AirgapFile[];
  /** Every file and image a run on `arch` needs, and where each comes from (`edgeproof images`). */
  needs?(arch: Arch, options?: NeedsOptions): Promise<RunNeeds>;
  /** Files baked into the guest disk (binaries, images), built and cached on the host. */
  diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]>;
  /** Installs, configures and starts the distribution on started machines; resolves when Ready. */
  formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster>;
  /**
   * Takes over a cluster whose machines were restored from a snapshot of a
   * cluster this driver formed (their clocks set from the host, see
   * GuestClockSet): this run's own credentials, then Ready again. Absent:
   * the driver's clusters are never snapshotted (every run is cold).
   */
  resumeCluster?(ctx: RunContext, machines: Machine[], topology: Topology, clock: GuestClockSet): Promise<StartedCluster>;
}

/** Restored guests' clocks, set from the host: when (host ms), so the driver can tell fresh status from the snapshot's. */
export interface GuestClockSet {
  setAt: number;
}
