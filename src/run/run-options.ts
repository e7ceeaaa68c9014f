import type { AddonRequest } from '../cluster/addons/catalog.js';
import type { Topology } from '../cluster/distribution.js';
import type { AnyDistributionOptions, DistroName } from '../distros/registry.js';
import type { BackendName } from '../emulation/machine.js';
import type { HostEntry } from '../emulation/ssh/hosts-file.js';
import type { ConformancePresetName } from '../suites/conformance/presets.js';
import type { OutsideTarget } from '../suites/route-table.js';
import type { SuiteName } from '../suites/registry.js';

/** What `edgeproof run` asked for, validated: the lead's runCommand trusts every field. */
export interface RunOptions {
  board: string;
  /** What makes the machines: emulated boards, node containers, real boards over SSH, or an existing cluster. */
  backend: BackendName;
  topology: Topology;
  distro: string;
  /** Everything the backend and the driver were given (hosts, kubeconfig, version, channel, air-gap dir), validated together. */
  clusterSource: BackendOptions;
  suites: SuiteName[];
  /** As typed ('2G', '2048M'); already checked against the board's choices (boardMemory parses it). */
  memory?: string;
  /** vCPUs per board; already checked against the board's cores. */
  cpus?: number;
  /** Multiplies every base timeout; a positive float. Absent: the run picks one from the host. */
  timeoutScale?: number;
  /** Absolute. */
  reportsDir: string;
  /** Absolute; absent means the default cache (EDGEPROOF_CACHE_DIR or ~/.cache/edgeproof). */
  cacheDir?: string;
  /** Addons the addon suites may use (`--addon metallb:10.0.0.10-10.0.0.20`), validated against the distribution. */
  addons: AddonRequest[];
  /** Install requested addons the distribution's own way before their suites (off: suites only find what is there). */
  installAddons: boolean;
  /** A budgets file overriding the shipped defaults (fixtures/budgets.yaml); already parsed once. */
  budgetsFile?: string;
  footprintWindowMs: number;
  latencyRate: number;
  latencyDurationMs: number;
  /** Addresses the air-gap check (BOOT-6) must fail to reach from cut-off nodes (`--airgap-target`); empty: its default. */
  airgapTargets: OutsideTarget[];
  /** The conformance suite: preset, Ginkgo nodes, and the conformance image for the in-cluster way. */
  conformance: ConformanceRunOptions;
  cold: boolean;
  keep: boolean;
  debug: boolean;
}

export interface ConformanceRunOptions {
  preset: ConformancePresetName;
  parallel?: number;
  image?: string;
  /** Absolute path of a KUBE_TEST_REPO_LIST file (a mirror's, or an empty one for the upstream registries). */
  repoList?: string;
}
export interface BackendOptions {
  backend: BackendName;
  distro: DistroName;
  /** Passed to distributionByName (already validated by constructing it). */
  distroOptions: AnyDistributionOptions;
  topology: Topology;
  /** ssh: the hosts, control planes first (the order drivers assign roles in). */
  hosts?: HostEntry[];
  hostsFile?: string;
  /** existing: absolute path and context. */
  kubeconfig?: string;
  context?: string;
}

