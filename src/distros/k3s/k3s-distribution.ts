import { isIP } from 'node:net';
import type { RunContext } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import type { Arch } from '../../emulation/boards.js';
import type { Machine } from '../../emulation/machine.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };
import type {
  DistributionClaims,
  DistributionOptions,
  GuestImageSpec,
  NodeRequirements,
  PreflightContext,
  PreflightReport,
  StartedCluster,
  Topology,
} from '../../cluster/distribution.js';
import { systemdGuestImage } from '../guest-variants.js';
import { checkInstallSources, imagesCommand, requireReachableFromNode, type AirgapFile } from '../../cluster/install-source.js';
import type { NeededImage } from '../../cluster/run-needs.js';
import { forHarness } from '../../cluster/kubeconfig.js';
import { runStep, runSteps } from '../plan.js';
import { assignRoles, startPlannedCluster, randomToken, type RoleAssignment } from '../planned-cluster.js';
import { WORKLOAD_IMAGE } from '../upstream/artifacts.js';
import { IMAGES_ON_DISK, InstalledDistribution } from '../installed-distribution.js';
import { K3S_API_PORT, K3S_ASSETS, releaseUrl, installPlan, k3sAirgapFiles, k3sFootprint, k3sSources, kubeconfigPlan, parseK3sVersion, type K3sAirgap, type K3sVersion } from './plans.js';

const NAME = 'k3s';

export const K3S_CLAIMS: DistributionClaims = {
  memoryMB: versions.claims.k3s,
  memorySource: 'Canonical, MicroK8s vs K3s vs minikube (https://microk8s.io/compare); K3s requirements list 512 MB for an agent (https://docs.k3s.io/installation/requirements)',
  architectures: ['amd64', 'arm64'],
  ha: true,
  haMode: 'embedded etcd: first server --cluster-init, odd number (3+) of servers (https://docs.k3s.io/datastore/ha-embedded)',
  runtimes: ['containerd (embedded)'],
  cnis: ['flannel (embedded)'],
  storage: ['local-path-provisioner (packaged)'],
  sources: ['https://docs.k3s.io/installation/requirements', 'https://docs.k3s.io/datastore/ha-embedded', 'https://docs.k3s.io/installation/packaged-components'],
};

export const K3S_REQUIREMENTS: NodeRequirements = {
  systemd: true,
  snapd: false,
  minMemoryMiB: versions.claims.k3s,
  memoryCgroup: true,
  commands: [{ name: 'curl', fix: 'apt-get install curl (the K3s install script is fetched and runs with curl)' }],
};

export interface K3sOptions extends DistributionOptions {
  /** Packaged components to disable (servicelb when MetalLB is used, traefik for another ingress). */
  disable?: string[];
}

/** K3s through its install script, pinned version and shared token; embedded etcd for HA. */
export class K3sDistribution extends InstalledDistribution {
  readonly name = NAME;
  readonly apiPort = K3S_API_PORT;
  readonly claims = K3S_CLAIMS;
  readonly requirements = K3S_REQUIREMENTS;
  readonly k3sVersion: K3sVersion;
  readonly #airgapDir: string | undefined;
  readonly #disable: string[];

  constructor(options: K3sOptions = {}) {
    super();
    if (options.channel) throw new UsageError('K3s takes --version, not --channel', 'e.g. --version v1.32.5+k3s1');
    this.k3sVersion = parseK3sVersion(options.version ?? versions.distributions.k3s.version);
    this.#airgapDir = options.airgapDir;
    this.#disable = options.disable ?? [];
  }

  get version(): string {
    return this.k3sVersion.text;
  }

  /** The binary bundles containerd, flannel and its tools; 4 GiB holds it, the images tarball and images. */
  guestImage(arch: Arch): GuestImageSpec {
    return systemdGuestImage(arch, { packages: ['iptables'], size: '4G', note: `K3s ${this.version}: systemd guest, binary and air-gap images in /var/lib/rancher` });
  }

  /** Every K3s release ships amd64 and arm64 binaries; what can be wrong is the server count. */
  validate(_arch: Arch, topology: Topology): void {
    validateK3sTopology(topology);
  }

  airgapFiles(arch: Arch): AirgapFile[] {
    return k3sAirgapFiles(this.k3sVersion, arch);
  }

  imagesCommand(arch: Arch): string {
    return imagesCommand(NAME, { version: this.version, arch });
  }

  /** K3s' own images travel in its air-gap images tarball; the release lists them in k3s-images.txt. */
  protected distroImages(arch: Arch): NeededImage[] {
    return [{ ref: releaseUrl(this.k3sVersion, 'k3s-images.txt'), registry: 'docker.io', archs: [arch], neededBy: NAME, listedIn: true, note: `coredns, local-path-provisioner, metrics-server, klipper, traefik and pause of ${this.version}; the ${K3S_ASSETS[arch].images} tarball carries them` }];
  }

  async preflight(ctx: PreflightContext): Promise<PreflightReport> {
    return checkInstallSources(
      {
        distribution: NAME,
        resolved: `version ${this.version} for ${ctx.arch}`,
        listCommand: this.imagesCommand(ctx.arch),
        airgapFiles: k3sAirgapFiles(this.k3sVersion, ctx.arch),
        sources: k3sSources(this.k3sVersion, ctx.arch),
        ...(this.#airgapDir ? { airgapDir: this.#airgapDir } : {}),
      },
      ctx,
    );
  }

  async formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster> {
    validateK3sTopology(topology);
    const roles = assignRoles(NAME, machines, topology);
    const arch = machines[0]!.arch;
    const airgap = this.#airgap(arch);
    const token = randomToken(24);
    const started = Date.now();
    const milestones: Record<string, number> = {};
    if (!airgap) await Promise.all(roles.map(({ machine }) => requireReachableFromNode(ctx, machine, NAME, k3sSources(this.k3sVersion, arch))));
    const [first, ...others] = roles;
    const serverUrl = `https://${first!.machine.address}:${K3S_API_PORT}`;
    await runSteps(ctx, first!.machine, this.#plan(first!, { token, airgap, clusterInit: topology.controlPlanes >= 3 }));
    milestones.firstServer = Date.now() - started;
    // Servers join one at a time (etcd membership changes are serial); agents after.
    for (const node of others) await runSteps(ctx, node.machine, this.#plan(node, { token, airgap, serverUrl }));
    milestones.joined = Date.now() - started;
    const kubeconfig = await this.#kubeconfig(ctx, first!.machine);
    const nodes = roles.map(({ machine, role }) => ({ name: machine.name, role, machine }));
    return startPlannedCluster(
      ctx,
      {
        distro: NAME,
        version: this.version,
        topology,
        nodes,
        kubeconfig,
        workloadImage: WORKLOAD_IMAGE,
        milestones,
        footprint: (node) => k3sFootprint(node.role),
        logUnits: ['k3s', 'k3s-agent'],
        secrets: [token],
      },
      started,
    );
  }

  #plan(node: RoleAssignment, join: { token: string; airgap: K3sAirgap | undefined; clusterInit?: boolean; serverUrl?: string }) {
    const endpointHost = node.machine.hostEndpoint(K3S_API_PORT).host;
    return installPlan(node.role, {
      version: this.k3sVersion,
      token: join.token,
      nodeName: node.machine.name,
      nodeIp: node.machine.address,
      workloadImagesDir: IMAGES_ON_DISK,
      ...(join.clusterInit ? { clusterInit: true } : {}),
      ...(join.serverUrl ? { serverUrl: join.serverUrl } : {}),
      ...(join.airgap ? { airgap: join.airgap } : {}),
      ...(node.role === 'control-plane' ? { disable: this.#disable, tlsSans: tlsSansFor(endpointHost, node.machine.address) } : {}),
    });
  }

  #airgap(arch: Arch): K3sAirgap | undefined {
    if (!this.#airgapDir) return undefined;
    const found = this.resolveAirgap(this.#airgapDir, arch);
    return { binary: found['k3s binary']!, images: found['air-gap images']!, script: found['install script']! };
  }

  /** /etc/rancher/k3s/k3s.yaml with its 127.0.0.1 server replaced by where the harness reaches 6443. */
  async #kubeconfig(ctx: RunContext, first: Machine) {
    const printed = await runStep(ctx, first, kubeconfigPlan(Math.round(ctx.scaled(120_000) / 1000)));
    return forHarness(printed.stdout, 'k3s.yaml', first.hostEndpoint(K3S_API_PORT));
  }
}

/** Embedded etcd needs an odd number of servers; one server without --cluster-init keeps SQLite. */
export function validateK3sTopology(topology: Topology): void {
  if (topology.controlPlanes > 1 && topology.controlPlanes % 2 === 0) {
    throw new UsageError(
      `K3s with embedded etcd needs an odd number of servers (asked for ${topology.controlPlanes})`,
      'use 1 or 3 control-plane nodes (https://docs.k3s.io/datastore/ha-embedded)',
    );
  }
}

/** The certificate already covers 127.0.0.1 and the node's own address; add where else the harness connects. */
export function tlsSansFor(endpointHost: string, nodeAddress: string): string[] {
  return endpointHost === '127.0.0.1' || endpointHost === nodeAddress || endpointHost === 'localhost' ? [] : [endpointHost].filter((h) => isIP(h) || /^[A-Za-z0-9.-]+$/.test(h));
}
