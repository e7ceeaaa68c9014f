/**
 * minikube command plans as data, from its own documentation:
 *   install:     https://minikube.sigs.k8s.io/docs/start/ (minikube-linux-<arch> from the release bucket)
 *   none driver: https://minikube.sigs.k8s.io/docs/drivers/none/ (root, systemd, a CRI, crictl, conntrack; one instance, no -p)
 *   docker:      https://minikube.sigs.k8s.io/docs/drivers/docker/ (--listen-address and --ports expose the apiserver)
 *   nodes:       https://minikube.sigs.k8s.io/docs/tutorials/multi_node/ (--nodes N, names <profile>-m02...)
 *   HA:          https://minikube.sigs.k8s.io/docs/tutorials/multi_control_plane_ha_clusters/ (--ha, minikube > v1.32.0)
 *   status:      https://minikube.sigs.k8s.io/docs/commands/status/ (-o json: one object, or an array for several nodes)
 *   kubeconfig:  https://minikube.sigs.k8s.io/docs/commands/update-context/ (the profile's context in ~/.kube/config)
 *   addons:      https://minikube.sigs.k8s.io/docs/commands/addons/ (minikube addons enable ADDON_NAME)
 *   offline:     https://minikube.sigs.k8s.io/docs/handbook/offline/ (copy ~/.minikube/cache to the offline host)
 */
import { isIP } from 'node:net';
import { UsageError } from '../../core/errors.js';
import type { Arch } from '../../emulation/boards.js';
import type { AddonRequest, FootprintTargets, Topology } from '../../cluster/distribution.js';
import type { AirgapFile, InstallSource } from '../../cluster/install-source.js';
import type { PlanStep } from '../plan.js';
import { compareVersions } from '../versions.js';

export const MINIKUBE_API_PORT = 8443;
export type MinikubeDriver = 'none' | 'docker';
const AIRGAP_DIR = '/var/tmp/edgeproof-airgap';
const MINIKUBE_HOME = '/root/.minikube';

export interface MinikubeVersion {
  text: string;
}

export function parseMinikubeVersion(text: string): MinikubeVersion {
  if (!/^v\d+\.\d+\.\d+(-beta\.\d+)?$/.test(text.trim())) {
    throw new UsageError(`Invalid minikube version "${text}"`, 'minikube versions look like v1.36.0 (https://github.com/kubernetes/minikube/releases)');
  }
  return { text: text.trim() };
}

/**
 * Which minikube versions run what on which architecture (minikube's CHANGELOG):
 * linux/arm64 packages from v1.16.0, the docker driver on arm64 from v1.17.0,
 * --ha (multi-control plane) from v1.33.0, --nodes from v1.10.0.
 */
export const MINIKUBE_SUPPORT = {
  none: { amd64: 'v1.10.0', arm64: 'v1.16.0' },
  docker: { amd64: 'v1.10.0', arm64: 'v1.17.0' },
  ha: 'v1.33.0',
} as const;

/** The driver a board gets: `none` for a lone node (no nested containers), `docker` for several nodes on one board. */
export function defaultDriver(topology: Topology): MinikubeDriver {
  return topology.controlPlanes + topology.workers > 1 ? 'docker' : 'none';
}

export function validateMinikube(version: MinikubeVersion, arch: Arch, driver: MinikubeDriver, topology: Topology): void {
  const since = MINIKUBE_SUPPORT[driver][arch];
  if (compareVersions(version.text, since) < 0) {
    throw new UsageError(`minikube ${version.text} has no ${driver} driver for ${arch} (it arrived in ${since})`, `use --version ${since} or newer`);
  }
  const nodes = topology.controlPlanes + topology.workers;
  if (driver === 'none' && nodes > 1) {
    throw new UsageError(`minikube's none driver runs one node (asked for ${nodes})`, 'use the docker driver for several nodes on one board (https://minikube.sigs.k8s.io/docs/drivers/none/)');
  }
  if (topology.controlPlanes === 2) {
    throw new UsageError('minikube forms 1 control plane, or 3 and more with --ha; 2 is not a minikube topology', 'use 1 or 3 control-plane nodes');
  }
  if (topology.controlPlanes >= 3 && compareVersions(version.text, MINIKUBE_SUPPORT.ha) < 0) {
    throw new UsageError(`minikube ${version.text} has no --ha (multi-control plane arrived in ${MINIKUBE_SUPPORT.ha})`, `use --version ${MINIKUBE_SUPPORT.ha} or newer`);
  }
}

export const binaryName = (arch: Arch) => `minikube-linux-${arch}`;
export const releaseUrl = (version: MinikubeVersion, arch: Arch) => `https://storage.googleapis.com/minikube/releases/${version.text}/${binaryName(arch)}`;

/** What `minikube start` reaches: its binary, then the node image (docker) or the Kubernetes binaries (none). */
export function minikubeSources(version: MinikubeVersion, arch: Arch, driver: MinikubeDriver): InstallSource[] {
  return [
    { step: `download minikube ${version.text}`, url: releaseUrl(version, arch) },
    driver === 'docker'
      ? { step: 'pull the kicbase node image', url: 'https://gcr.io/v2/' }
      : { step: 'download kubeadm, kubelet and kubectl', url: 'https://dl.k8s.io/' },
    { step: 'download the preloaded images tarball', url: 'https://storage.googleapis.com/minikube-preloaded-volume-tarballs/' },
  ];
}

export function minikubeAirgapFiles(version: MinikubeVersion, arch: Arch): AirgapFile[] {
  return [
    { what: 'minikube binary', name: binaryName(arch), kind: 'binary', source: releaseUrl(version, arch), pattern: new RegExp(`^${binaryName(arch)}$`), fetch: `curl -LO ${releaseUrl(version, arch)}` },
    {
      what: 'minikube cache',
      name: 'minikube-cache.tar.gz',
      kind: 'tarball',
      source: 'minikube start --download-only: ~/.minikube/cache (preloaded images tarball, Kubernetes binaries, kicbase image)',
      pattern: /^minikube-cache\.tar(\.gz)?$/,
      fetch: `minikube start --download-only (same version, driver and arch), then tar -C ~/.minikube -czf minikube-cache.tar.gz cache`,
    },
  ];
}

export interface MinikubeAirgap {
  binary: string;
  cache: string;
}

export function installPlan(version: MinikubeVersion, arch: Arch, airgap?: MinikubeAirgap): PlanStep[] {
  if (!airgap) {
    return [{ name: `install minikube ${version.text}`, shell: `curl -fsSLo /usr/local/bin/minikube ${releaseUrl(version, arch)} && chmod 0755 /usr/local/bin/minikube`, timeoutMs: 300_000 }];
  }
  const cacheOnNode = `${AIRGAP_DIR}/${airgap.cache.split('/').at(-1)}`;
  return [
    {
      name: 'copy minikube binary and cache',
      argv: ['mkdir', '-p', MINIKUBE_HOME],
      uploads: [
        { hostPath: airgap.binary, path: '/usr/local/bin/minikube', mode: 0o755 },
        { hostPath: airgap.cache, path: cacheOnNode, mode: 0o644 },
      ],
      timeoutMs: 600_000,
    },
    { name: 'unpack minikube cache', argv: ['tar', '-xf', cacheOnNode, '-C', MINIKUBE_HOME], timeoutMs: 300_000 },
  ];
}

export interface StartOptions {
  profile: string;
  driver: MinikubeDriver;
  topology: Topology;
  /** The board's address, added to the apiserver certificate. */
  nodeAddress: string;
  /** Where the harness connects, when another name or address (added to the certificate). */
  harnessHosts?: string[];
}

/** `minikube start` and the `node add` calls that complete the topology. */
export function startPlan(options: StartOptions): PlanStep[] {
  const { profile, driver, topology } = options;
  const ha = topology.controlPlanes >= 3;
  const extra = options.harnessHosts ?? [];
  const ips = [options.nodeAddress, ...extra.filter((h) => isIP(h))].map((ip) => `--apiserver-ips=${ip}`);
  const names = extra.filter((h) => !isIP(h)).map((name) => `--apiserver-names=${name}`);
  const common = ['--container-runtime=containerd', ...ips, ...names, '--wait=all'];
  const driverArgs =
    driver === 'none'
      ? ['--driver=none']
      : // Root over SSH needs --force for the docker driver; the apiserver of the primary node is published on the board's 8443.
        ['--driver=docker', '--force', '--listen-address=0.0.0.0', `--ports=${MINIKUBE_API_PORT}:${MINIKUBE_API_PORT}`];
  // The none driver supports no profiles: it always runs as "minikube".
  const profileArgs = driver === 'none' ? [] : ['-p', profile];
  const topologyArgs = ha ? ['--ha'] : driver === 'docker' ? [`--nodes=${1 + topology.workers}`] : [];
  const steps: PlanStep[] = [{ name: `minikube start (${driver}${ha ? ', --ha' : ''})`, argv: ['minikube', 'start', ...profileArgs, ...driverArgs, ...topologyArgs, ...common], timeoutMs: 1_800_000 }];
  if (ha) {
    for (let i = 3; i < topology.controlPlanes; i++) steps.push({ name: 'minikube node add --control-plane', argv: ['minikube', 'node', 'add', ...profileArgs, '--control-plane'], timeoutMs: 900_000 });
    for (let i = 0; i < topology.workers; i++) steps.push({ name: 'minikube node add', argv: ['minikube', 'node', 'add', ...profileArgs], timeoutMs: 900_000 });
  }
  return steps;
}

/** The profile minikube uses for a driver (none has only the default one). */
export function profileFor(driver: MinikubeDriver, wanted: string): string {
  return driver === 'none' ? 'minikube' : wanted;
}

/** Node names as minikube gives them: the profile, then <profile>-m02, -m03... in the order nodes were added. */
export function nodeNamesFor(profile: string, topology: Topology): string[] {
  const count = topology.controlPlanes + topology.workers;
  return Array.from({ length: count }, (_, i) => (i === 0 ? profile : `${profile}-m${String(i + 1).padStart(2, '0')}`));
}

/** Status as JSON; its exit code encodes what is down, so the output is read whatever the code. */
export function statusPlan(profile: string): PlanStep {
  return { name: 'minikube status', shell: `minikube -p ${profile} status -o json; true`, timeoutMs: 120_000 };
}

export function addonEnablePlan(profile: string, addons: AddonRequest[]): PlanStep[] {
  return addons.map((addon) => {
    if (addon.args) throw new UsageError(`minikube addons take no inline arguments (${addon.name}:${addon.args})`, `configure it with \`minikube addons configure ${addon.name}\` first`);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(addon.name)) throw new UsageError(`Invalid minikube addon name "${addon.name}"`);
    return { name: `minikube addons enable ${addon.name}`, argv: ['minikube', '-p', profile, 'addons', 'enable', addon.name], timeoutMs: 600_000 };
  });
}

/** update-context fixes the profile's server address, then the kubeconfig is read (its certificates are files). */
export function kubeconfigPlan(profile: string): PlanStep[] {
  return [
    { name: 'minikube update-context', argv: ['minikube', '-p', profile, 'update-context'], timeoutMs: 60_000 },
    { name: 'read kubeconfig', argv: ['cat', '/root/.kube/config'], timeoutMs: 30_000 },
  ];
}

/**
 * With the none driver the node is the board: kubelet and containerd are
 * systemd services and the control plane runs as static pods. With the docker
 * driver a node is a container; measured inside it, its cgroup is the node.
 */
export function minikubeFootprint(driver: MinikubeDriver, role: 'control-plane' | 'worker'): FootprintTargets {
  const controlPlane = role === 'control-plane' ? ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] : [];
  const processNames = [...controlPlane, 'kubelet', 'kube-proxy', 'containerd'];
  if (driver === 'docker') {
    return {
      processNames,
      cgroupPaths: [''],
      definition: 'minikube node container (docker driver): its whole cgroup, read inside the node (kubelet, containerd, control-plane static pods, system pods)',
    };
  }
  return {
    processNames,
    cgroupPaths: ['system.slice/kubelet.service', 'system.slice/containerd.service', 'kubepods.slice', 'kubepods'],
    definition: 'minikube none driver: kubelet and containerd services plus the kubepods cgroup (control-plane static pods and system pods, the scope of the 644 MB)',
  };
}
