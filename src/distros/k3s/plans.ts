/**
 * K3s command plans as data, from its own documentation:
 *   install script and pinned version: https://docs.k3s.io/installation/configuration (INSTALL_K3S_VERSION, K3S_TOKEN, K3S_URL)
 *   embedded etcd HA:  https://docs.k3s.io/datastore/ha-embedded (server --cluster-init; server --server https://<ip>:6443; odd server count)
 *   packaged components: https://docs.k3s.io/installation/packaged-components (--disable servicelb, traefik, ...)
 *   air gap:           https://docs.k3s.io/installation/airgap (images tarball in /var/lib/rancher/k3s/agent/images/,
 *                      binary in /usr/local/bin, INSTALL_K3S_SKIP_DOWNLOAD=true ./install.sh, INSTALL_K3S_EXEC)
 *   kubeconfig:        https://docs.k3s.io/cluster-access (/etc/rancher/k3s/k3s.yaml, replace the server address)
 *   architectures:     https://docs.k3s.io/installation/requirements (x86_64, armhf, arm64/aarch64)
 */
import { UsageError } from '../../core/errors.js';
import type { Arch } from '../../emulation/boards.js';
import type { FootprintTargets, NodeRole } from '../../cluster/distribution.js';
import type { AirgapFile, InstallSource } from '../../cluster/install-source.js';
import type { PlanStep } from '../plan.js';

export const K3S_API_PORT = 6443;
export const K3S_INSTALL_SCRIPT_URL = 'https://get.k3s.io';
export const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml';
export const K3S_IMAGES_DIR = '/var/lib/rancher/k3s/agent/images';
const AIRGAP_DIR = '/var/tmp/edgeproof-airgap';

/** Components `--disable` accepts (k3s server --help). */
export const K3S_PACKAGED_COMPONENTS = ['coredns', 'servicelb', 'traefik', 'local-storage', 'metrics-server', 'runtimes'] as const;

export interface K3sVersion {
  text: string;
  /** Kubernetes version it carries ('1.32.5'). */
  kubernetes: string;
}

const VERSION = /^v(\d+\.\d+\.\d+)(-rc\d+)?\+k3s\d+$/;

export function parseK3sVersion(text: string): K3sVersion {
  const match = VERSION.exec(text.trim());
  if (!match) {
    throw new UsageError(`Invalid K3s version "${text}"`, 'K3s versions name the Kubernetes release and the K3s revision, e.g. v1.32.5+k3s1 (https://github.com/k3s-io/k3s/releases)');
  }
  return { text: text.trim(), kubernetes: match[1]! };
}

/** The release asset names per architecture (the binary is `k3s` on amd64, `k3s-<arch>` elsewhere). */
export const K3S_ASSETS: Record<Arch, { binary: string; images: string }> = {
  amd64: { binary: 'k3s', images: 'k3s-airgap-images-amd64' },
  arm64: { binary: 'k3s-arm64', images: 'k3s-airgap-images-arm64' },
};

export function releaseUrl(version: K3sVersion, asset: string): string {
  return `https://github.com/k3s-io/k3s/releases/download/${encodeURIComponent(version.text)}/${asset}`;
}

/** What the online install reaches: the script, then the release binary (and images, pulled by containerd from docker.io). */
export function k3sSources(version: K3sVersion, arch: Arch): InstallSource[] {
  return [
    { step: 'download the install script', url: K3S_INSTALL_SCRIPT_URL },
    { step: `download the ${version.text} binary`, url: releaseUrl(version, K3S_ASSETS[arch].binary) },
  ];
}

export function k3sAirgapFiles(version: K3sVersion, arch: Arch): AirgapFile[] {
  const { binary, images } = K3S_ASSETS[arch];
  return [
    { what: 'k3s binary', name: binary, kind: 'binary', source: releaseUrl(version, binary), pattern: new RegExp(`^${binary.replace('-', '\\-')}$`), fetch: `curl -Lo ${binary} ${releaseUrl(version, binary)}` },
    { what: 'air-gap images', name: `${images}.tar.zst`, kind: 'tarball', source: releaseUrl(version, `${images}.tar.zst`), pattern: new RegExp(`^${images}\\.tar(\\.zst|\\.gz)?$`), fetch: `curl -LO ${releaseUrl(version, `${images}.tar.zst`)}` },
    { what: 'install script', name: 'install.sh', kind: 'installer', source: K3S_INSTALL_SCRIPT_URL, pattern: /^install\.sh$/, fetch: `curl -sfL ${K3S_INSTALL_SCRIPT_URL} -o install.sh` },
  ];
}

export interface K3sAirgap {
  binary: string;
  images: string;
  script: string;
}

export interface ServerOptions {
  version: K3sVersion;
  token: string;
  nodeName: string;
  nodeIp: string;
  /** First server of an embedded-etcd HA cluster. */
  clusterInit?: boolean;
  /** Joining servers and agents: https://<first server>:6443. */
  serverUrl?: string;
  /** Extra names/addresses in the apiserver certificate (where the harness reaches it). */
  tlsSans?: string[];
  /** Packaged components a suite replaces (servicelb for MetalLB, traefik for another ingress). */
  disable?: string[];
  airgap?: K3sAirgap;
  /** Where edgeproof's workload image tarballs are on the node. */
  workloadImagesDir?: string;
}

const SAFE_ARG = /^[A-Za-z0-9._:/@=,-]+$/;

/** `server` (or `agent`) and its flags, as the install script passes them to k3s. */
export function k3sArgs(role: NodeRole, options: ServerOptions): string[] {
  const disable = options.disable ?? [];
  for (const component of disable) {
    if (!(K3S_PACKAGED_COMPONENTS as readonly string[]).includes(component)) {
      throw new UsageError(`K3s cannot disable "${component}"`, `packaged components: ${K3S_PACKAGED_COMPONENTS.join(', ')}`);
    }
  }
  const args =
    role === 'control-plane'
      ? [
          'server',
          ...(options.clusterInit ? ['--cluster-init'] : []),
          ...(options.serverUrl ? ['--server', options.serverUrl] : []),
          '--node-name', options.nodeName,
          '--node-ip', options.nodeIp,
          ...(options.tlsSans ?? []).flatMap((san) => ['--tls-san', san]),
          ...disable.flatMap((component) => ['--disable', component]),
        ]
      : ['agent', '--node-name', options.nodeName, '--node-ip', options.nodeIp];
  const unsafe = args.find((arg) => !SAFE_ARG.test(arg));
  if (unsafe) throw new UsageError(`K3s argument "${unsafe}" has characters the installer would misread`);
  return args;
}

/** Steps that install K3s on one node, online through get.k3s.io or from the air-gap files. */
export function installPlan(role: NodeRole, options: ServerOptions): PlanStep[] {
  if (role === 'worker' && !options.serverUrl) throw new UsageError('a K3s agent needs the server URL to join');
  const args = k3sArgs(role, options);
  const env: Record<string, string> = { K3S_TOKEN: options.token, ...(role === 'worker' ? { K3S_URL: options.serverUrl! } : {}) };
  const steps: PlanStep[] = [];
  if (options.airgap) steps.push(airgapStagingStep(options.airgap));
  if (options.workloadImagesDir) {
    // K3s imports every tarball in its agent images directory when it starts.
    steps.push({ name: 'stage workload images', shell: `mkdir -p ${K3S_IMAGES_DIR} && cp ${options.workloadImagesDir}/*.tar ${K3S_IMAGES_DIR}/`, timeoutMs: 120_000 });
  }
  const name = `install k3s ${args[0]} (${options.version.text})`;
  steps.push(
    options.airgap
      ? { name, shell: `sh ${AIRGAP_DIR}/install.sh`, env: { ...env, INSTALL_K3S_SKIP_DOWNLOAD: 'true', INSTALL_K3S_EXEC: args.join(' ') }, secrets: [options.token], timeoutMs: 600_000 }
      : { name, shell: `curl -sfL ${K3S_INSTALL_SCRIPT_URL} | sh -s - ${args.join(' ')}`, env: { ...env, INSTALL_K3S_VERSION: options.version.text }, secrets: [options.token], timeoutMs: 600_000 },
  );
  return steps;
}

function airgapStagingStep(airgap: K3sAirgap): PlanStep {
  const imagesName = airgap.images.split('/').at(-1)!;
  return {
    name: 'copy air-gap binary, images and install script',
    argv: ['ls', '-l', '/usr/local/bin/k3s', `${K3S_IMAGES_DIR}/${imagesName}`, `${AIRGAP_DIR}/install.sh`],
    uploads: [
      { hostPath: airgap.binary, path: '/usr/local/bin/k3s', mode: 0o755 },
      { hostPath: airgap.images, path: `${K3S_IMAGES_DIR}/${imagesName}`, mode: 0o644 },
      { hostPath: airgap.script, path: `${AIRGAP_DIR}/install.sh`, mode: 0o755 },
    ],
    timeoutMs: 600_000,
  };
}

/** Waits for the server to write its kubeconfig, then prints it. */
export function kubeconfigPlan(waitS: number): PlanStep {
  return {
    name: 'read k3s.yaml',
    shell: `i=0; while [ ! -s ${K3S_KUBECONFIG} ] && [ $i -lt ${waitS} ]; do i=$((i+1)); sleep 1; done; cat ${K3S_KUBECONFIG}`,
    timeoutMs: (waitS + 30) * 1000,
  };
}

/**
 * What K3s' 512 MB covers: the single k3s process (server or agent, which
 * embeds apiserver, controllers, scheduler, kubelet, proxy, flannel, and the
 * datastore) and its containerd, all in the k3s(-agent).service cgroup.
 */
export function k3sFootprint(role: NodeRole): FootprintTargets {
  const unit = role === 'control-plane' ? 'k3s.service' : 'k3s-agent.service';
  return {
    processNames: [role === 'control-plane' ? 'k3s-server' : 'k3s-agent', 'containerd', 'containerd-shim-runc-v2'],
    cgroupPaths: [`system.slice/${unit}`],
    definition: `K3s services only: the ${unit} cgroup (the k3s ${role === 'control-plane' ? 'server' : 'agent'} process with its embedded components and containerd)`,
  };
}
