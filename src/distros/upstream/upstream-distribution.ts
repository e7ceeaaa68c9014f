import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import type { RunContext } from '../../core/context.js';
import { EdgeproofError, UsageError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { logger } from '../../core/log.js';
import { once } from '../../core/scope.js';
import { waitFor } from '../../core/wait.js';
import type { Arch } from '../../emulation/boards.js';
import type { DiskPayload } from '../../emulation/images/guest-images.js';
import type { Machine } from '../../emulation/machine.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };
import type { ClusterNode, Distribution, FootprintTargets, NodeRequirements, StartedCluster, Topology } from '../distribution.js';
import { ensureKubernetesBinaries, ensureWorkloadImages, UPSTREAM_GUEST_PACKAGES, WORKLOAD_IMAGE } from './artifacts.js';
import { issuePki, type Pki } from './pki.js';
import {
  GUEST,
  cniConfig,
  containerdConfig,
  controlPlaneServices,
  kubeconfigYaml,
  kubeletConfig,
  nodeServices,
  superviseCommand,
  type NodeNetwork,
} from './node-config.js';

const log = logger('upstream');

export const API_PORT = 6443;
const SERVICE_CIDR = '10.96.0.0/12';
const CLUSTER_CIDR = '10.244.0.0/16';
const SERVICE_IP = '10.96.0.1';
const SERVICE_PROCESSES = ['containerd', 'containerd-shim-runc-v2', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'];

/**
 * What a node needs for the upstream driver: edgeproof's own supervisor runs
 * the services (no systemd), from Debian's runtime packages and the binaries
 * edgeproof built (copied to /opt/edgeproof on ssh hosts).
 */
export const UPSTREAM_REQUIREMENTS: NodeRequirements = {
  systemd: false,
  snapd: false,
  minMemoryMiB: 1024,
  memoryCgroup: true,
  commands: [
    { name: 'containerd', fix: 'apt-get install containerd' },
    { name: 'runc', fix: 'apt-get install runc' },
    { name: 'etcd', fix: 'apt-get install etcd-server' },
    { name: 'iptables', fix: 'apt-get install iptables' },
    { name: 'conntrack', fix: 'apt-get install conntrack' },
    { name: 'setsid', fix: 'apt-get install util-linux' },
  ],
};

/** Upstream Kubernetes built from Debian's source package: the baseline distribution. */
export class UpstreamDistribution implements Distribution {
  readonly name = 'upstream';
  readonly version = versions.kubernetes.version;
  readonly apiPort = API_PORT;
  readonly claims = { architectures: ['arm64', 'amd64'] as Arch[], ha: true };
  readonly requirements: NodeRequirements = UPSTREAM_REQUIREMENTS;

  guestPackages(): string[] {
    return UPSTREAM_GUEST_PACKAGES;
  }

  async diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]> {
    return [await ensureKubernetesBinaries(ctx, arch), await ensureWorkloadImages(ctx, arch)];
  }

  validate(_arch: Arch, topology: Topology): void {
    if (topology.controlPlanes !== 1 || topology.workers !== 0) {
      throw new UsageError(`The upstream distribution forms single-node clusters in this version (asked for ${topology.controlPlanes}+${topology.workers})`, 'use --topology 1');
    }
  }

  async formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster> {
    this.validate(machines[0]?.arch ?? 'arm64', topology);
    if (machines.length !== 1) throw new UsageError(`The upstream distribution runs on one machine (${machines.length} given)`, 'use --topology 1');
    const machine = machines[0]!;
    const cluster = new UpstreamCluster(ctx, machine, topology);
    ctx.scope.defer('upstream cluster', () => cluster.dispose());
    await cluster.bringUp();
    return cluster;
  }
}

class UpstreamCluster implements StartedCluster {
  readonly distro = 'upstream';
  readonly version = versions.kubernetes.version;
  readonly workloadImage = WORKLOAD_IMAGE;
  readonly nodes: ClusterNode[];
  readonly kubeconfigPath: string;
  readonly milestones: Record<string, number> = {};
  readonly #net: NodeNetwork;
  #pki?: Pki;
  #started = Date.now();

  constructor(
    private readonly ctx: RunContext,
    private readonly machine: Machine,
    readonly topology: Topology,
  ) {
    this.nodes = [{ name: machine.name, role: 'control-plane', machine }];
    this.kubeconfigPath = join(ctx.runDir, 'secrets', 'kubeconfig');
    this.#net = {
      nodeName: machine.name,
      nodeIp: machine.address,
      podCidr: '10.244.0.0/24',
      clusterCidr: CLUSTER_CIDR,
      serviceCidr: SERVICE_CIDR,
      apiServerUrl: `https://127.0.0.1:${API_PORT}`,
    };
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  footprintTargets(): FootprintTargets {
    return {
      processNames: SERVICE_PROCESSES,
      cgroupPaths: [GUEST.cgroup],
      definition: 'Kubernetes services only: etcd, kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, containerd and its shims (the scope of MicroK8s\' 540 MB)',
    };
  }

  async bringUp(): Promise<void> {
    const { ctx, machine } = this;
    const node = machine.name;
    this.#started = Date.now();
    this.#pki = await ctx.phase('issue PKI', 10_000, () => this.#issuePki());
    await ctx.phase('write node configuration', ctx.scaled(30_000), () => this.#writeNodeFiles(), node);
    // Staged: under TCG, everything starting at once starved the apiserver's
    // bootstrap (RBAC roles took minutes) and the controller-manager restarted.
    // The kubelet's own start-up (~40 s of Go init under TCG) overlaps the
    // apiserver's; the controllers wait until the apiserver is ready.
    await ctx.phase('start etcd, apiserver and kubelet', ctx.scaled(30_000), () => this.#startServices('control-plane'), node);
    await this.#waitPhase('etcd ready', 60_000, (signal, budgetMs) => this.#waitEtcd(signal, budgetMs));
    this.#mark('etcdReady');
    await this.#waitPhase('apiserver ready', 120_000, (signal, budgetMs) => this.#waitApiserver(signal, budgetMs));
    this.#mark('apiserverReady');
    await ctx.phase('start controllers', ctx.scaled(30_000), () => this.#startServices('controllers'), node);
    await this.#waitPhase('images imported', 60_000, (signal, budgetMs) => this.#waitImages(signal, budgetMs));
    await this.#waitPhase('node Ready', 120_000, (signal, budgetMs) => this.#waitNodeReady(signal, budgetMs));
    this.#mark('nodeReady');
  }

  /**
   * A phase that is one wait: the wait's own budget runs out first, so its
   * timeout error (with the last observation) is the one reported.
   */
  #waitPhase(name: string, baseMs: number, wait: (signal: AbortSignal, budgetMs: number) => Promise<void>): Promise<void> {
    const budgetMs = this.ctx.scaled(baseMs);
    return this.ctx.phase(name, budgetMs + 15_000, (signal) => wait(signal, budgetMs), this.machine.name);
  }

  #mark(name: string): void {
    this.milestones[name] = Date.now() - this.#started;
  }

  async #issuePki(): Promise<Pki> {
    const dir = join(this.ctx.runDir, 'secrets', 'pki');
    const node = this.machine.name;
    const endpoint = this.machine.hostEndpoint(API_PORT);
    // Where the harness connects (an ssh host's address) must be in the certificate too.
    const harnessName = isIP(endpoint.host) ? [] : [endpoint.host];
    const harnessIp = isIP(endpoint.host) && !['127.0.0.1', this.machine.address].includes(endpoint.host) ? [endpoint.host] : [];
    const pki = await issuePki({
      dir,
      apiServerNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost', node, ...harnessName],
      apiServerIps: ['127.0.0.1', this.machine.address, SERVICE_IP, ...harnessIp],
      clients: [
        { name: 'admin', commonName: 'edgeproof-admin', organization: 'system:masters' },
        { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters' },
        { name: 'controller-manager', commonName: 'system:kube-controller-manager' },
        { name: 'scheduler', commonName: 'system:kube-scheduler' },
        { name: 'kube-proxy', commonName: 'system:kube-proxy' },
        { name: `kubelet-${node}`, commonName: `system:node:${node}`, organization: 'system:nodes' },
      ],
    });
    writeFileSync(
      this.kubeconfigPath,
      kubeconfigYaml({ server: `https://${endpoint.host}:${endpoint.port}`, caPem: pki.read('ca.crt'), certPem: pki.read('admin.crt'), keyPem: pki.read('admin.key'), user: 'edgeproof-admin' }),
      { mode: 0o600 },
    );
    return pki;
  }

  /** Every file the node needs, staged on the host and sent in one tar stream. */
  async #writeNodeFiles(): Promise<void> {
    const pki = this.#pki!;
    const node = this.machine.name;
    const stage = mkdtempSync(join(this.ctx.runDir, 'secrets', 'stage-'));
    try {
      const put = (guestPath: string, content: string, mode = 0o644) => {
        const path = join(stage, guestPath);
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, content, { mode });
      };
      for (const name of ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'apiserver-kubelet-client.crt', 'apiserver-kubelet-client.key', 'sa.key', 'sa.pub']) {
        put(`${GUEST.pki}/${name}`, pki.read(name), name.endsWith('.key') ? 0o600 : 0o644);
      }
      const kubeconfig = (user: string, file: string) =>
        kubeconfigYaml({ server: this.#net.apiServerUrl, caPem: pki.read('ca.crt'), certPem: pki.read(`${file}.crt`), keyPem: pki.read(`${file}.key`), user });
      put(`${GUEST.etc}/controller-manager.kubeconfig`, kubeconfig('system:kube-controller-manager', 'controller-manager'), 0o600);
      put(`${GUEST.etc}/scheduler.kubeconfig`, kubeconfig('system:kube-scheduler', 'scheduler'), 0o600);
      put(`${GUEST.etc}/kube-proxy.kubeconfig`, kubeconfig('system:kube-proxy', 'kube-proxy'), 0o600);
      put(`${GUEST.etc}/kubelet.kubeconfig`, kubeconfig(`system:node:${node}`, `kubelet-${node}`), 0o600);
      put(`${GUEST.etc}/kubelet.yaml`, kubeletConfig(this.#net));
      put('/etc/containerd/config.toml', containerdConfig({ restrictOomScoreAdj: false }));
      put('/etc/cni/net.d/10-edgeproof.conflist', cniConfig(this.#net.podCidr));
      const archive = execFileSync('tar', ['-C', stage, '--owner=0', '--group=0', '-czf', '-', '.']);
      await this.machine.exec('tar -xzf - -C / --no-same-owner --no-overwrite-dir', { input: archive });
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
    await this.machine.exec(
      [
        `test -x ${GUEST.bin}/kube-apiserver || { echo "Kubernetes binaries missing in ${GUEST.bin}" >&2; exit 3; }`,
        'modprobe -a overlay br_netfilter bridge veth nf_conntrack xt_conntrack ip_tables iptable_nat iptable_filter xt_MASQUERADE xt_comment xt_mark',
        'sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1',
        'mkdir -p /var/lib/etcd /var/lib/kubelet /var/log/edgeproof',
      ].join(' && '),
    );
  }

  async #startServices(stage: 'control-plane' | 'controllers'): Promise<void> {
    const [etcd, apiserver, ...controllers] = controlPlaneServices(this.#net, this.machine.arch);
    const containerd = { name: 'containerd', command: ['/usr/bin/containerd', '--config', '/etc/containerd/config.toml'] };
    const services = stage === 'control-plane' ? [etcd!, apiserver!, containerd, ...nodeServices(this.#net)] : controllers;
    await this.machine.exec(services.map(superviseCommand).join('\n'));
    if (stage === 'controllers') return;
    // Image import runs in the guest while the control plane starts.
    await this.machine.exec(
      `setsid -f sh -c 'for i in $(seq 1 120); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.5; done; ` +
        `for f in ${GUEST.images}/*.tar; do ctr -n k8s.io images import --no-unpack "$f" || exit 1; done; touch /run/edgeproof/images-imported' ` +
        '</dev/null >/var/log/edgeproof/image-import.log 2>&1',
    );
  }

  async #waitEtcd(signal: AbortSignal, budgetMs: number): Promise<void> {
    await waitFor(
      async () => {
        const result = await this.machine.exec(
          `bash -c 'exec 3<>/dev/tcp/127.0.0.1/2379 && printf "GET /health HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`,
          { check: false, timeoutMs: 10_000, signal },
        );
        return /"health":\s*"true"/.test(result.stdout) ? { done: true, value: undefined } : { done: false, observed: lastLine(result.stdout + result.stderr) || 'no answer on 127.0.0.1:2379' };
      },
      { what: 'etcd /health', budgetMs, pollMs: 1000, where: this.machine.name, signal },
    );
  }

  async #waitApiserver(signal: AbortSignal, budgetMs: number): Promise<void> {
    const endpoint = this.machine.hostEndpoint(API_PORT);
    const pki = this.#pki!;
    await waitFor(
      async () => {
        const { status, body } = await httpsGet(endpoint, '/readyz', pki);
        if (status === 200) return { done: true, value: undefined };
        return { done: false, observed: `HTTP ${status} ${lastLine(body)}; ${await this.#serviceState('kube-apiserver')}` };
      },
      { what: 'kube-apiserver /readyz', budgetMs, pollMs: 1000, where: this.machine.name, signal },
    );
  }

  async #waitImages(signal: AbortSignal, budgetMs: number): Promise<void> {
    await waitFor(
      async () => {
        const result = await this.machine.exec('test -f /run/edgeproof/images-imported && echo ok || tail -n 2 /var/log/edgeproof/image-import.log', { check: false, signal });
        return result.stdout.trim() === 'ok' ? { done: true, value: undefined } : { done: false, observed: lastLine(result.stdout) || 'importing' };
      },
      { what: 'workload images imported into containerd', budgetMs, pollMs: 1000, where: this.machine.name, signal },
    );
  }

  async #waitNodeReady(signal: AbortSignal, budgetMs: number): Promise<void> {
    const api = this.kubeConfig().makeApiClient(CoreV1Api);
    const name = this.machine.name;
    await waitFor(
      async () => {
        const nodes = await api.listNode();
        const node = nodes.items.find((n) => n.metadata?.name === name);
        if (!node) return { done: false, observed: `node not registered (${nodes.items.length} nodes)` };
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True') return { done: true, value: undefined };
        return { done: false, observed: `Ready=${ready?.status ?? 'unknown'}: ${ready?.message ?? ready?.reason ?? ''}` };
      },
      { what: `node ${name} Ready`, budgetMs, pollMs: 1000, where: name, signal },
    );
  }

  /** Restart count and last log line of a supervised service: what a timeout reports as last seen. */
  async #serviceState(service: string): Promise<string> {
    const result = await this.machine.exec(
      `echo "$(cat /run/edgeproof/${service}.restarts 2>/dev/null || echo 0)"; tail -n 1 /var/log/edgeproof/${service}.log 2>/dev/null`,
      { check: false, timeoutMs: 10_000 },
    );
    const [restarts, ...log] = result.stdout.trim().split('\n');
    return `${service} restarted ${restarts || 0}x, last log: ${log.join(' ').slice(0, 200) || '(empty)'}`;
  }

  /** Exports the service logs (kind's rule: logs before delete). */
  async collectLogs(): Promise<void> {
    const dir = join(this.ctx.runDir, 'machines', this.machine.name, 'logs');
    mkdirSync(dir, { recursive: true });
    const result = await this.machine.exec('cd /var/log && tar -czf - edgeproof sshd.log 2>/dev/null | base64', { check: false, timeoutMs: this.ctx.scaled(30_000) });
    if (!result.stdout.trim()) return;
    const archive = join(dir, 'logs.tar.gz');
    writeFileSync(archive, Buffer.from(result.stdout, 'base64'));
    await hostRun('tar', ['-xzf', archive, '-C', dir]).catch(() => undefined);
    rmSync(archive, { force: true });
  }

  dispose = once(async () => {
    try {
      await this.collectLogs();
    } catch (error) {
      log('log collection failed: %s', (error as Error).message);
    }
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1)?.slice(0, 200) ?? '';
}

function httpsGet(endpoint: { host: string; port: number }, path: string, pki: Pki): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: endpoint.host, port: endpoint.port, path, method: 'GET', ca: pki.read('ca.crt'), cert: pki.read('admin.crt'), key: pki.read('admin.key'), timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new EdgeproofError('WAIT_TIMEOUT', `GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
