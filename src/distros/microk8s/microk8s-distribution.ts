import type { RunContext } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { waitFor } from '../../core/wait.js';
import type { Arch } from '../../emulation/boards.js';
import type { Machine } from '../../emulation/machine.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };
import type {
  ClusterNode,
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
import { checkInstallSources, imagesCommand, requireReachableFromNode, type AirgapFile, type InstallSource } from '../../cluster/install-source.js';
import type { NeededImage } from '../../cluster/run-needs.js';
import { forHarness } from '../../cluster/kubeconfig.js';
import { runStep, runSteps } from '../plan.js';
import { assignRoles, startPlannedCluster, randomToken, type RoleAssignment } from '../planned-cluster.js';
import { WORKLOAD_IMAGE } from '../upstream/artifacts.js';
import { IMAGES_ON_DISK, InstalledDistribution } from '../installed-distribution.js';
import { parseChannel, validateChannel, type Microk8sChannel } from './channel.js';
import { parseAddNode, joinUrlFor, parseStatusYaml, type Microk8sStatus } from './parsers.js';
import {
  MICROK8S_API_PORT,
  SNAP_STORE_URL,
  addNodePlan,
  addonEnablePlan,
  importImagesPlan,
  installPlan,
  joinPlan,
  kubeconfigPlan,
  microk8sAirgapFiles,
  microk8sFootprint,
  statusPlan,
  waitReadyPlan,
  type Microk8sAirgapFiles,
} from './plans.js';

const NAME = 'microk8s';

export const MICROK8S_CLAIMS: DistributionClaims = {
  memoryMB: versions.claims.microk8s,
  memorySource: 'Canonical, MicroK8s vs K3s vs minikube (https://microk8s.io/compare)',
  architectures: ['amd64', 'arm64'],
  ha: true,
  haMode: 'automatic with 3 or more nodes: dqlite voters (https://microk8s.io/docs/high-availability)',
  runtimes: ['containerd', 'kata (addon)'],
  cnis: ['calico (default)', 'flannel (with ha-cluster disabled)', 'cilium (addon)', 'multus (addon)'],
  storage: ['hostpath-storage (addon)', 'openebs (addon)', 'rook-ceph (addon)'],
  sources: ['https://microk8s.io/compare', 'https://microk8s.io/docs/high-availability', 'https://microk8s.io/docs/addons'],
};

export const MICROK8S_REQUIREMENTS: NodeRequirements = {
  systemd: true,
  snapd: true,
  minMemoryMiB: versions.claims.microk8s,
  memoryCgroup: true,
  commands: [{ name: 'snap', fix: 'apt-get install snapd && systemctl enable --now snapd.socket' }],
};

/** MicroK8s from its snap (classic or strict channel, online or from `snap download` files). */
export class Microk8sDistribution extends InstalledDistribution {
  readonly name = NAME;
  readonly apiPort = MICROK8S_API_PORT;
  readonly claims = MICROK8S_CLAIMS;
  readonly requirements = MICROK8S_REQUIREMENTS;
  readonly channel: Microk8sChannel;
  readonly #airgapDir: string | undefined;

  constructor(options: DistributionOptions = {}) {
    super();
    if (options.version) throw new UsageError('MicroK8s is chosen by snap channel, not --version', `use --channel ${options.version.replace(/^v/, '').split('.').slice(0, 2).join('.')}/stable`);
    this.channel = parseChannel(options.channel ?? versions.distributions.microk8s.channel);
    this.#airgapDir = options.airgapDir;
  }

  get version(): string {
    return this.channel.text;
  }

  /** snapd needs systemd, squashfs and AppArmor (strict confinement); 8 GiB holds the snaps, their revisions and the images. */
  guestImage(arch: Arch): GuestImageSpec {
    return systemdGuestImage(arch, {
      packages: ['snapd', 'squashfs-tools', 'apparmor', 'fuse3', 'squashfuse'],
      size: '8G',
      note: `MicroK8s ${this.channel.text}: snapd + core base + microk8s snap + addon images`,
      enable: ['snapd.socket', 'snapd.service', 'apparmor.service'],
    });
  }

  sourcePlan(): { sources: InstallSource[]; airgapFiles: ReturnType<typeof microk8sAirgapFiles> } {
    return {
      sources: [{ step: `snap install microk8s --channel=${this.channel.text}`, url: SNAP_STORE_URL }],
      airgapFiles: microk8sAirgapFiles(this.channel),
    };
  }

  airgapFiles(_arch: Arch): AirgapFile[] {
    return microk8sAirgapFiles(this.channel);
  }

  imagesCommand(arch: Arch): string {
    return imagesCommand(NAME, { channel: this.channel.text, arch });
  }

  /** The snap carries no images: Calico, CoreDNS and pause come from registries (a mirror, or `microk8s images import`). */
  protected distroImages(arch: Arch): NeededImage[] {
    return [{ ref: 'https://microk8s.io/docs/install-offline', registry: 'docker.io, registry.k8s.io', archs: [arch], neededBy: NAME, listedIn: true, note: `calico (cni, node, kube-controllers), coredns and pause of ${this.channel.text}: list them on an online node with \`microk8s ctr images ls\`, then mirror them or side-load with \`microk8s images import\`` }];
  }

  validate(arch: Arch, topology: Topology): void {
    validateChannel(this.channel, arch, topology);
  }

  async preflight(ctx: PreflightContext): Promise<PreflightReport> {
    validateChannel(this.channel, ctx.arch);
    const { sources, airgapFiles } = this.sourcePlan();
    return checkInstallSources(
      { distribution: NAME, resolved: `channel ${this.channel.text}`, listCommand: this.imagesCommand(ctx.arch), airgapFiles, sources, ...(this.#airgapDir ? { airgapDir: this.#airgapDir } : {}) },
      ctx,
    );
  }

  async formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster> {
    const roles = assignRoles(NAME, machines, topology);
    validateChannel(this.channel, machines[0]!.arch, topology);
    const started = Date.now();
    const milestones: Record<string, number> = {};
    const airgap = this.#airgap(machines[0]!.arch);
    await Promise.all(roles.map(({ machine }) => this.#installNode(ctx, machine, airgap)));
    milestones.installed = Date.now() - started;
    const [first, ...others] = roles;
    const tokens: string[] = [];
    for (const joiner of others) tokens.push(await this.#join(ctx, first!.machine, joiner));
    if (topology.controlPlanes >= 3) {
      await this.#waitHa(ctx, first!.machine, topology.controlPlanes);
      milestones.haFormed = Date.now() - started;
    }
    const nodes = await nodeNames(roles);
    const kubeconfig = await this.#kubeconfig(ctx, first!.machine);
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
        footprint: (node) => microk8sFootprint(node.role),
        logUnits: ['snap.microk8s.daemon-kubelite', 'snap.microk8s.daemon-containerd', 'snap.microk8s.daemon-k8s-dqlite', 'snap.microk8s.daemon-cluster-agent'],
        secrets: tokens,
        enableAddon: (addon) => runSteps(ctx, first!.machine, addonEnablePlan([addon])).then(() => undefined),
      },
      started,
    );
  }

  #airgap(machineArch: Arch): Microk8sAirgapFiles | undefined {
    if (!this.#airgapDir) return undefined;
    const found = this.resolveAirgap(this.#airgapDir, machineArch);
    return { snap: found['microk8s.snap']!, assert: found['microk8s.assert']!, baseSnap: found['base snap (core22 or core20)']!, baseAssert: found['base snap assertion']! };
  }

  async #installNode(ctx: RunContext, machine: Machine, airgap: Microk8sAirgapFiles | undefined): Promise<void> {
    if (!airgap) await requireReachableFromNode(ctx, machine, NAME, this.sourcePlan().sources);
    await runSteps(ctx, machine, [...installPlan(this.channel, airgap), waitReadyPlan(Math.round(ctx.scaled(300_000) / 1000)), importImagesPlan(IMAGES_ON_DISK)]);
  }

  /** One node at a time: a fresh token on the first node, the join on the new one. */
  async #join(ctx: RunContext, first: Machine, joiner: RoleAssignment): Promise<string> {
    const token = randomToken();
    const printed = await runStep(ctx, first, addNodePlan(token, 3600));
    const url = joinUrlFor(parseAddNode(printed.stdout), first.address);
    await runStep(ctx, joiner.machine, joinPlan(url.url, joiner.role));
    return token;
  }

  async #waitHa(ctx: RunContext, first: Machine, controlPlanes: number): Promise<Microk8sStatus> {
    const budgetMs = ctx.scaled(300_000);
    return ctx.phase(
      'HA formed',
      budgetMs + 15_000,
      (signal) =>
        waitFor(
          async () => {
            const status = parseStatusYaml((await runStep(ctx, first, statusPlan())).stdout);
            if (status.ha.formed && status.ha.voters.length >= Math.min(3, controlPlanes)) return { done: true, value: status };
            return { done: false, observed: `ha enabled=${status.ha.enabled}, voters ${status.ha.voters.join(' ') || 'none'}` };
          },
          { what: 'MicroK8s datastore with 3 voters (microk8s status)', budgetMs, pollMs: 5_000, where: first.name, signal },
        ),
      first.name,
    );
  }

  /** `microk8s config`, its server pointed where the harness reaches port 16443. */
  async #kubeconfig(ctx: RunContext, first: Machine) {
    const printed = await runStep(ctx, first, kubeconfigPlan());
    return forHarness(printed.stdout, 'microk8s config', first.hostEndpoint(MICROK8S_API_PORT));
  }
}

/** MicroK8s registers each node under its hostname, lowercased. */
async function nodeNames(roles: RoleAssignment[]): Promise<ClusterNode[]> {
  return Promise.all(
    roles.map(async ({ machine, role }) => ({ name: (await machine.exec('hostname')).stdout.trim().toLowerCase(), role, machine })),
  );
}
