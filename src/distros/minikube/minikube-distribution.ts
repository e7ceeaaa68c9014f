import type { RunContext } from '../../core/context.js';
import { EdgeproofError, UsageError } from '../../core/errors.js';
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
  NodeRole,
  PreflightContext,
  PreflightReport,
  StartedCluster,
  Topology,
} from '../../cluster/distribution.js';
import { systemdGuestImage } from '../guest-variants.js';
import { checkInstallSources, imagesCommand, requireReachableFromNode, type AirgapFile } from '../../cluster/install-source.js';
import type { NeededImage } from '../../cluster/run-needs.js';
import { fileReferences, inlineFiles, minify, parseKubeconfig, withServer } from '../../cluster/kubeconfig.js';
import { runStep, runSteps } from '../plan.js';
import { startPlannedCluster } from '../planned-cluster.js';
import { WORKLOAD_IMAGE } from '../upstream/artifacts.js';
import { IMAGES_ON_DISK, InstalledDistribution } from '../installed-distribution.js';
import { NodeContainerMachine, inspectNodesCommand, parseInspectNodes } from './node-container.js';
import { parseMinikubeStatus, type MinikubeNodeStatus } from './parsers.js';
import {
  MINIKUBE_API_PORT,
  addonEnablePlan,
  defaultDriver,
  installPlan,
  kubeconfigPlan,
  minikubeAirgapFiles,
  minikubeFootprint,
  minikubeSources,
  nodeNamesFor,
  parseMinikubeVersion,
  profileFor,
  startPlan,
  statusPlan,
  validateMinikube,
  type MinikubeAirgap,
  type MinikubeDriver,
  type MinikubeVersion,
} from './plans.js';

const NAME = 'minikube';

export const MINIKUBE_CLAIMS: DistributionClaims = {
  memoryMB: versions.claims.minikube,
  memorySource: 'Canonical, MicroK8s vs K3s vs minikube (https://microk8s.io/compare)',
  architectures: ['amd64', 'arm64'],
  ha: true,
  haMode: '--ha: 3 control planes with kube-vip, minikube >= v1.33.0 (https://minikube.sigs.k8s.io/docs/tutorials/multi_control_plane_ha_clusters/)',
  runtimes: ['docker', 'containerd', 'cri-o'],
  cnis: ['auto (bridge or kindnet)', 'bridge', 'calico', 'cilium', 'flannel', 'kindnet'],
  storage: ['storage-provisioner (hostpath, default)', 'csi-hostpath-driver (addon)'],
  sources: ['https://microk8s.io/compare', 'https://minikube.sigs.k8s.io/docs/commands/start/', 'https://minikube.sigs.k8s.io/docs/drivers/none/'],
};

export interface MinikubeOptions extends DistributionOptions {
  /** Forced driver; default: none for one node, docker for several. */
  driver?: MinikubeDriver;
}

/** minikube on a board: the none driver for one node, the docker driver for several (and --ha). */
export class MinikubeDistribution extends InstalledDistribution {
  readonly name = NAME;
  readonly apiPort = MINIKUBE_API_PORT;
  readonly claims = MINIKUBE_CLAIMS;
  readonly minikubeVersion: MinikubeVersion;
  readonly #airgapDir: string | undefined;
  readonly #driver: MinikubeDriver | undefined;

  constructor(options: MinikubeOptions = {}) {
    super();
    if (options.channel) throw new UsageError('minikube takes --version, not --channel', 'e.g. --version v1.36.0');
    this.minikubeVersion = parseMinikubeVersion(options.version ?? versions.distributions.minikube.version);
    this.#airgapDir = options.airgapDir;
    this.#driver = options.driver;
  }

  get version(): string {
    return this.minikubeVersion.text;
  }

  /** What a board needs for the driver this run will use (one node unless told otherwise). */
  get requirements(): NodeRequirements {
    const docker = this.#driver === 'docker';
    return {
      systemd: true,
      snapd: false,
      // The none driver checks kubeadm's 2 CPUs / 2 GB; the advertised figure is the floor edgeproof enforces.
      minMemoryMiB: versions.claims.minikube,
      memoryCgroup: true,
      commands: docker
        ? [{ name: 'docker', fix: 'apt-get install docker.io && systemctl enable --now docker' }]
        : [
            { name: 'containerd', fix: 'apt-get install containerd' },
            { name: 'conntrack', fix: 'apt-get install conntrack' },
            { name: 'crictl', fix: 'install crictl from https://github.com/kubernetes-sigs/cri-tools/releases (not packaged in Debian bookworm)' },
          ],
    };
  }

  /** Both drivers' needs; 16 GiB holds the kicbase image (about 1.2 GB) per node container and the preload tarball. */
  guestImage(arch: Arch): GuestImageSpec {
    return systemdGuestImage(arch, {
      packages: ['docker.io', 'containerd', 'runc', 'conntrack', 'iptables', 'containernetworking-plugins', 'socat', 'ethtool'],
      size: '16G',
      note: `minikube ${this.version}: docker (node containers) or none driver (containerd, conntrack; crictl comes with the air-gap cache)`,
      enable: ['docker.service', 'containerd.service'],
    });
  }

  airgapFiles(arch: Arch): AirgapFile[] {
    return minikubeAirgapFiles(this.minikubeVersion, arch);
  }

  imagesCommand(arch: Arch): string {
    return imagesCommand(NAME, { version: this.version, arch });
  }

  /** minikube's images (preload tarball, and kicbase for the docker driver) travel in its download cache. */
  protected distroImages(arch: Arch): NeededImage[] {
    return [{ ref: 'minikube-cache.tar.gz', registry: 'gcr.io, registry.k8s.io', archs: [arch], neededBy: NAME, listedIn: true, note: `the preloaded-images tarball of ${this.version} (and the kicbase image for the docker driver), cached by \`minikube start --download-only\`; \`minikube image list\` names them` }];
  }

  validate(arch: Arch, topology: Topology): void {
    validateMinikube(this.minikubeVersion, arch, this.#driver ?? defaultDriver(topology), topology);
  }

  async preflight(ctx: PreflightContext): Promise<PreflightReport> {
    const driver = this.#driver ?? 'none';
    validateMinikube(this.minikubeVersion, ctx.arch, driver, { controlPlanes: 1, workers: 0 });
    return checkInstallSources(
      {
        distribution: NAME,
        resolved: `version ${this.version} (${driver} driver) for ${ctx.arch}`,
        listCommand: this.imagesCommand(ctx.arch),
        airgapFiles: minikubeAirgapFiles(this.minikubeVersion, ctx.arch),
        sources: minikubeSources(this.minikubeVersion, ctx.arch, driver),
        ...(this.#airgapDir ? { airgapDir: this.#airgapDir } : {}),
      },
      ctx,
    );
  }

  async formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster> {
    if (machines.length !== 1) {
      throw new UsageError(`minikube runs all its nodes on one machine (${machines.length} given)`, 'give one board; --topology sets how many minikube nodes it hosts');
    }
    const board = machines[0]!;
    const driver = this.#driver ?? defaultDriver(topology);
    validateMinikube(this.minikubeVersion, board.arch, driver, topology);
    const profile = profileFor(driver, `ep-${ctx.tag}`);
    const airgap = this.#airgap(board.arch);
    const started = Date.now();
    const milestones: Record<string, number> = {};
    if (!airgap) await requireReachableFromNode(ctx, board, NAME, minikubeSources(this.minikubeVersion, board.arch, driver));
    await runSteps(ctx, board, installPlan(this.minikubeVersion, board.arch, airgap));
    const endpoint = board.hostEndpoint(MINIKUBE_API_PORT);
    await runSteps(ctx, board, startPlan({ profile, driver, topology, nodeAddress: board.address, ...(endpoint.host !== '127.0.0.1' && endpoint.host !== board.address ? { harnessHosts: [endpoint.host] } : {}) }));
    milestones.started = Date.now() - started;
    const names = nodeNamesFor(profile, topology);
    await this.#waitStatus(ctx, board, profile, names);
    await this.#loadWorkloadImages(ctx, board, profile);
    const nodes = await this.#nodes(board, driver, names, topology);
    const kubeconfig = await this.#kubeconfig(ctx, board, profile);
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
        footprint: (node) => minikubeFootprint(driver, node.role),
        logUnits: driver === 'docker' ? ['docker'] : ['kubelet', 'containerd'],
        enableAddon: (addon) => runSteps(ctx, board, addonEnablePlan(profile, [addon])).then(() => undefined),
      },
      started,
    );
  }

  #airgap(arch: Arch): MinikubeAirgap | undefined {
    if (!this.#airgapDir) return undefined;
    const found = this.resolveAirgap(this.#airgapDir, arch);
    return { binary: found['minikube binary']!, cache: found['minikube cache']! };
  }

  /** `minikube status -o json` until every expected node is healthy. */
  async #waitStatus(ctx: RunContext, board: Machine, profile: string, names: string[]): Promise<MinikubeNodeStatus[]> {
    const budgetMs = ctx.scaled(300_000);
    return ctx.phase(
      'minikube status',
      budgetMs + 15_000,
      (signal) =>
        waitFor(
          async () => {
            const nodes = parseMinikubeStatus((await runStep(ctx, board, statusPlan(profile))).stdout);
            const healthy = new Set(nodes.filter((n) => n.healthy).map((n) => n.name));
            const missing = names.filter((n) => !healthy.has(n));
            if (missing.length === 0) return { done: true, value: nodes };
            return { done: false, observed: nodes.map((n) => `${n.name}: host ${n.host}, kubelet ${n.kubelet}, apiserver ${n.apiServer}`).join('; ') };
          },
          { what: `minikube nodes ${names.join(', ')} running`, budgetMs, pollMs: 5_000, where: board.name, signal },
        ),
      board.name,
    );
  }

  /** edgeproof's workload images (busybox, pause), loaded into every node. */
  async #loadWorkloadImages(ctx: RunContext, board: Machine, profile: string): Promise<void> {
    await runStep(ctx, board, { name: 'minikube image load', shell: `for f in ${IMAGES_ON_DISK}/*.tar; do minikube -p ${profile} image load "$f" || exit 1; done`, timeoutMs: 600_000 });
  }

  async #nodes(board: Machine, driver: MinikubeDriver, names: string[], topology: Topology): Promise<ClusterNode[]> {
    const roleOf = (i: number): NodeRole => (i < topology.controlPlanes ? 'control-plane' : 'worker');
    if (driver === 'none') return [{ name: names[0]!, role: 'control-plane', machine: board }];
    const addresses = parseInspectNodes((await board.exec(inspectNodesCommand(names))).stdout);
    return names.map((name, i) => {
      const address = addresses.get(name);
      if (!address) throw new EdgeproofError('INTERNAL', `minikube node container ${name} not found on ${board.name}`);
      const published = i === 0 ? new Map([[MINIKUBE_API_PORT, MINIKUBE_API_PORT]]) : new Map<number, number>();
      return { name, role: roleOf(i), machine: new NodeContainerMachine(board, name, address, published) };
    });
  }

  /** The profile's context from ~/.kube/config, certificates inlined, server where the harness reaches 8443. */
  async #kubeconfig(ctx: RunContext, board: Machine, profile: string) {
    const [, printed] = await runSteps(ctx, board, kubeconfigPlan(profile));
    const doc = minify(parseKubeconfig(printed!.stdout, '~/.kube/config'), '~/.kube/config', profile);
    const files: Record<string, Buffer> = {};
    for (const path of fileReferences(doc)) files[path] = await board.readFile(path);
    const endpoint = board.hostEndpoint(MINIKUBE_API_PORT);
    return withServer(inlineFiles(doc, files), `https://${endpoint.host}:${endpoint.port}`);
  }
}
