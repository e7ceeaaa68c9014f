import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, CoreV1Api, CoordinationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { RunContext } from '../../core/context.js';
import { mapConcurrent } from '../../core/concurrency.js';
import { EdgeproofError, KubeApiError, describeError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { logger } from '../../core/log.js';
import { once } from '../../core/scope.js';
import { waitFor } from '../../core/wait.js';
import type { Machine } from '../../emulation/machine.js';
import { apiGet, kubeConfigWithServer, kubeRetrying } from '../../cluster/kube-access.js';
import type { ApiEndpoint, ClusterNode, DatastoreStatus, FootprintTargets, GuestClockSet, StartedCluster, Topology } from '../../cluster/distribution.js';
import { WORKLOAD_IMAGE } from './artifacts.js';
import { API_PORT, SERVICE_IP, planCluster, type ClusterPlan, type PlannedNode } from './cluster-plan.js';
import { parseEtcdMembers, parseEtcdStatus } from './etcd-status.js';
import { issueClient, issuePki, type Pki } from './pki.js';
import { GUEST, autostartScript, etcdctl, cniConfig, containerdConfig, kubeconfigYaml, kubeletConfig, localLoadBalancerConfig, type Stage } from './node-config.js';

const log = logger('upstream');

const CONTROLLER_ROLE_PREFIX = 'system:controller:';
const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';

const CONTROL_PLANE_PROCESSES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
const NODE_PROCESSES = ['containerd', 'containerd-shim-runc-v2', 'kubelet', 'kube-proxy'];

/** An upstream cluster of any topology on started machines: bring-up as named phases, then the StartedCluster handle. */
export class UpstreamCluster implements StartedCluster {
  readonly distro = 'upstream';
  readonly workloadImage = WORKLOAD_IMAGE;
  readonly nodes: ClusterNode[];
  readonly kubeconfigPath: string;
  readonly milestones: Record<string, number> = {};
  readonly plan: ClusterPlan;
  readonly #machines = new Map<string, Machine>();
  #pki?: Pki;
  #started = Date.now();

  constructor(
    private readonly ctx: RunContext,
    machines: Machine[],
    readonly topology: Topology,
    readonly version: string,
  ) {
    this.plan = planCluster(machines, topology);
    for (const machine of machines) this.#machines.set(machine.name, machine);
    this.nodes = this.plan.nodes.map((node) => ({ name: node.name, role: node.role, machine: this.#machine(node) }));
    this.kubeconfigPath = join(ctx.secretsDir(), 'kubeconfig');
  }

  kubeConfig(endpoint: ApiEndpoint = this.apiEndpoints()[0]!): KubeConfig {
    return kubeConfigWithServer(this.kubeconfigPath, endpoint.url);
  }

  apiEndpoints(): ApiEndpoint[] {
    return this.plan.controlPlanes.map((cp) => {
      const { host, port } = this.#machine(cp).hostEndpoint(API_PORT);
      return { node: cp.name, url: `https://${host}:${port}` };
    });
  }

  footprintTargets(node: ClusterNode): FootprintTargets {
    const planned = this.#planned(node.name);
    const controlPlane = planned.role === 'control-plane';
    return {
      processNames: [...(controlPlane ? CONTROL_PLANE_PROCESSES : this.plan.ha ? ['haproxy'] : []), ...NODE_PROCESSES],
      cgroupPaths: [planned.servicesCgroup],
      definition: controlPlane
        ? "Kubernetes services only: etcd, kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, containerd and its shims (the scope of MicroK8s' 540 MB)"
        : 'Kubernetes node services only: kubelet, kube-proxy, containerd and its shims' + (this.plan.ha ? ', and the local apiserver load balancer' : ''),
    };
  }

  async datastoreStatus(node: ClusterNode): Promise<DatastoreStatus> {
    const machine = this.#machine(this.#planned(node.name));
    const ctl = etcdctl(3);
    const result = await machine.exec(`${ctl} endpoint status -w json && echo '--' && ${ctl} member list -w json`, { check: false, timeoutMs: this.ctx.scaled(10_000) });
    const [statusJson, membersJson] = result.stdout.split('\n--\n');
    if (result.exitCode !== 0 || !statusJson || !membersJson) {
      return { observedFrom: node.name, healthy: false, members: [] };
    }
    const members = parseEtcdMembers(membersJson);
    const status = parseEtcdStatus(statusJson);
    const leader = members.find((m) => m.id === status.leaderId)?.name;
    return { observedFrom: node.name, healthy: true, members: members.map((m) => m.name), raftTerm: status.raftTerm, ...(leader ? { leader } : {}) };
  }

  /**
   * Staged: under TCG, everything starting at once starved the apiserver's
   * bootstrap (RBAC roles took minutes) and the controller-manager restarted.
   * The kubelets' own start-up overlaps the apiservers'; the controllers wait
   * until an apiserver is ready. Workers start with the control planes and
   * are waited for last, each in a phase that names it.
   */
  async bringUp(): Promise<void> {
    const { ctx } = this;
    this.#started = Date.now();
    this.#pki = await ctx.phase('issue PKI', ctx.scaled(20_000), () => this.#issuePki());
    await this.#onEach(this.plan.nodes, 'write node configuration', 30_000, (node) => this.#writeNodeFiles(node));
    await this.#onEach(this.plan.nodes, 'prepare node', 30_000, (node) => this.#stage(node, 'prepare'));
    await this.#onEach(this.plan.controlPlanes, 'start etcd and apiserver', 30_000, (node) => this.#stage(node, 'datastore'));
    await this.#onEach(this.plan.nodes, 'start containerd, kubelet and kube-proxy', 30_000, async (node) => {
      await this.#stage(node, 'node');
      await this.#stage(node, 'images');
    });
    await this.#waitEach(this.plan.controlPlanes, 'etcd ready', 60_000, (node, signal, budgetMs) => this.#waitEtcd(node, signal, budgetMs));
    this.#mark('etcdReady');
    await this.#waitEach(this.plan.controlPlanes, 'apiserver ready', 120_000, (node, signal, budgetMs) => this.#waitApiserver(node, signal, budgetMs));
    this.#mark('apiserverReady');
    await ctx.phase('grant controller roles', ctx.scaled(60_000), () => this.#grantControllerRoles());
    await this.#onEach(this.plan.controlPlanes, 'start controllers', 30_000, (node) => this.#stage(node, 'controllers'));
    await this.#waitEach(this.plan.nodes, 'images imported', 60_000, (node, signal, budgetMs) => this.#waitImages(node, signal, budgetMs));
    await this.#waitEach(this.plan.nodes, 'node Ready', 120_000, (node, signal, budgetMs) => this.#waitNodeReady(node, signal, budgetMs));
    this.#mark('nodeReady');
  }

  /**
   * Takes over a cluster restored from a snapshot (its machines resumed, their
   * clocks set from the host): this run's own admin client certificate,
   * signed by the cluster's CA (read from the first control plane, kept 0600
   * in the run's secrets while it runs), then the same readiness waits as a bring-up. A
   * node counts as Ready only once its kubelet has renewed its lease after
   * the clock was set: the Ready condition in the snapshot is from the time
   * it was saved. Nothing restarts: no component holds a credential that the
   * clock's move could expire (see #grantControllerRoles).
   */
  async resume(clock: GuestClockSet): Promise<void> {
    const { ctx } = this;
    this.#started = Date.now();
    await ctx.phase('issue run credentials', ctx.scaled(20_000), () => this.#issueRunCredentials());
    await this.#waitEach(this.plan.controlPlanes, 'apiserver ready', 60_000, (node, signal, budgetMs) => this.#waitApiserver(node, signal, budgetMs));
    this.#mark('apiserverReady');
    await this.#waitEach(this.plan.nodes, 'node Ready', 60_000, (node, signal, budgetMs) => this.#waitNodeReady(node, signal, budgetMs, clock.setAt));
    this.#mark('nodeReady');
  }

  /**
   * kube-controller-manager runs every controller with its own client
   * certificate (--use-service-account-credentials=false), bound here to
   * each controller's bootstrap role: the same permissions as per-controller
   * service accounts, without their tokens. v1.20 keeps a controller's
   * TokenRequest token until its own timer says it expires and does not
   * renew it on 401 (kubernetes#98885, fixed in 1.21), so a guest clock set
   * forward on restore (or by NTP on a board without a clock battery) left
   * every controller Unauthorized for up to an hour.
   */
  async #grantControllerRoles(): Promise<void> {
    const rbac = this.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    const budgetMs = this.ctx.scaled(30_000);
    const roles = await kubeRetrying('list cluster roles', () => rbac.listClusterRole(), budgetMs);
    const controllerRoles = roles.items.map((role) => role.metadata?.name ?? '').filter((name) => name.startsWith(CONTROLLER_ROLE_PREFIX));
    if (controllerRoles.length === 0) throw new EdgeproofError('BOOT_FAILED', `the apiserver has no ${CONTROLLER_ROLE_PREFIX}* cluster roles (its RBAC bootstrap did not run)`);
    await mapConcurrent(controllerRoles, 4, (role) => {
      const body = {
        metadata: { name: `edgeproof:${role.slice('system:'.length)}`, labels: { 'app.kubernetes.io/managed-by': 'edgeproof' } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: CONTROLLER_MANAGER_USER }],
      };
      return kubeRetrying(`bind ${role} to ${CONTROLLER_MANAGER_USER}`, () => rbac.createClusterRoleBinding({ body }), budgetMs).catch((error: unknown) => {
        if (!(error instanceof KubeApiError && error.status === 409)) throw error;
      });
    });
  }

  async #issueRunCredentials(): Promise<void> {
    const dir = join(this.ctx.secretsDir(), 'pki');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cp = this.#machine(this.plan.controlPlanes[0]!);
    writeFileSync(join(dir, 'ca.crt'), await cp.readFile(`${GUEST.pki}/ca.crt`));
    writeFileSync(join(dir, 'ca.key'), await cp.readFile(`${GUEST.pki}/ca.key`), { mode: 0o600 });
    await issueClient(dir, { name: 'admin', commonName: `edgeproof-admin-${this.ctx.runId}`, organization: 'system:masters' });
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    writeFileSync(this.kubeconfigPath, kubeconfigYaml({ server: this.apiEndpoints()[0]!.url, caPem: read('ca.crt'), certPem: read('admin.crt'), keyPem: read('admin.key'), user: 'edgeproof-admin' }), { mode: 0o600 });
  }

  #machine(node: PlannedNode): Machine {
    return this.#machines.get(node.name)!;
  }

  #planned(name: string): PlannedNode {
    const node = this.plan.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`node ${name} is not in this cluster`);
    return node;
  }

  /** One phase per node, run on all nodes at once. */
  async #onEach(nodes: PlannedNode[], name: string, baseMs: number, action: (node: PlannedNode) => Promise<void>): Promise<void> {
    await Promise.all(nodes.map((node) => this.ctx.phase(name, this.ctx.scaled(baseMs), () => action(node), node.name)));
  }

  /**
   * A wait per node, all at once: the wait's own budget runs out first, so
   * its timeout error (with the last observation) is the one reported.
   */
  async #waitEach(nodes: PlannedNode[], name: string, baseMs: number, wait: (node: PlannedNode, signal: AbortSignal, budgetMs: number) => Promise<void>): Promise<void> {
    const budgetMs = this.ctx.scaled(baseMs);
    await Promise.all(nodes.map((node) => this.ctx.phase(name, budgetMs + 15_000, (signal) => wait(node, signal, budgetMs), node.name)));
  }

  #mark(name: string): void {
    this.milestones[name] = Date.now() - this.#started;
  }

  async #stage(node: PlannedNode, stage: Stage | 'prepare' | 'images'): Promise<void> {
    await this.#machine(node).exec(`${GUEST.autostart} ${stage}`, { timeoutMs: this.ctx.scaled(30_000) });
  }

  async #issuePki(): Promise<Pki> {
    const dir = join(this.ctx.secretsDir(), 'pki');
    const cps = this.plan.controlPlanes;
    const harnessHosts = cps.map((cp) => this.#machine(cp).hostEndpoint(API_PORT).host);
    const pki = await issuePki({
      dir,
      apiServerNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost', ...cps.map((cp) => cp.name)],
      apiServerIps: [...new Set(['127.0.0.1', SERVICE_IP, ...cps.map((cp) => cp.address), ...harnessHosts])],
      clients: [
        { name: 'admin', commonName: 'edgeproof-admin', organization: 'system:masters' },
        { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters' },
        { name: 'controller-manager', commonName: CONTROLLER_MANAGER_USER },
        { name: 'scheduler', commonName: 'system:kube-scheduler' },
        { name: 'kube-proxy', commonName: 'system:kube-proxy' },
        ...this.plan.nodes.map((node) => ({ name: `kubelet-${node.name}`, commonName: `system:node:${node.name}`, organization: 'system:nodes' })),
      ],
      peers: cps.map((cp) => ({ name: `etcd-peer-${cp.name}`, commonName: cp.name, ips: [cp.address, '127.0.0.1'] })),
    });
    writeFileSync(
      this.kubeconfigPath,
      kubeconfigYaml({ server: this.apiEndpoints()[0]!.url, caPem: pki.read('ca.crt'), certPem: pki.read('admin.crt'), keyPem: pki.read('admin.key'), user: 'edgeproof-admin' }),
      { mode: 0o600 },
    );
    return pki;
  }

  /** Every file the node needs, staged on the host and sent in one tar stream. */
  async #writeNodeFiles(node: PlannedNode): Promise<void> {
    const pki = this.#pki!;
    const stage = mkdtempSync(join(this.ctx.secretsDir(), 'stage-'));
    try {
      const put = (guestPath: string, content: string, mode = 0o644) => {
        const path = join(stage, guestPath);
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, content, { mode });
      };
      const kubeconfig = (user: string, file: string) =>
        kubeconfigYaml({ server: node.apiServerUrl, caPem: pki.read('ca.crt'), certPem: pki.read(`${file}.crt`), keyPem: pki.read(`${file}.key`), user });
      put(`${GUEST.pki}/ca.crt`, pki.read('ca.crt'));
      if (node.role === 'control-plane') {
        for (const name of ['ca.key', 'apiserver.crt', 'apiserver.key', 'apiserver-kubelet-client.crt', 'apiserver-kubelet-client.key', 'sa.key', 'sa.pub']) {
          put(`${GUEST.pki}/${name}`, pki.read(name), name.endsWith('.key') ? 0o600 : 0o644);
        }
        put(`${GUEST.pki}/etcd-peer.crt`, pki.read(`etcd-peer-${node.name}.crt`));
        put(`${GUEST.pki}/etcd-peer.key`, pki.read(`etcd-peer-${node.name}.key`), 0o600);
        put(`${GUEST.etc}/controller-manager.kubeconfig`, kubeconfig(CONTROLLER_MANAGER_USER, 'controller-manager'), 0o600);
        put(`${GUEST.etc}/scheduler.kubeconfig`, kubeconfig('system:kube-scheduler', 'scheduler'), 0o600);
      }
      put(`${GUEST.etc}/kube-proxy.kubeconfig`, kubeconfig('system:kube-proxy', 'kube-proxy'), 0o600);
      put(`${GUEST.etc}/kubelet.kubeconfig`, kubeconfig(`system:node:${node.name}`, `kubelet-${node.name}`), 0o600);
      put(`${GUEST.etc}/kubelet.yaml`, kubeletConfig(node));
      put('/etc/containerd/config.toml', containerdConfig({ restrictOomScoreAdj: node.inContainer }));
      put('/etc/cni/net.d/10-edgeproof.conflist', cniConfig(node.podCidr));
      if (this.plan.ha && node.role === 'worker') put('/etc/haproxy/edgeproof.cfg', localLoadBalancerConfig(this.plan));
      put(GUEST.autostart, autostartScript(this.plan, node), 0o755);
      const archive = execFileSync('tar', ['-C', stage, '--owner=0', '--group=0', '-czf', '-', '.']);
      await this.#machine(node).exec(
        // sync: a power-off is a hard kill, and a node must find its autostart script when it comes back.
        `test -x ${GUEST.bin}/kubelet || { echo "Kubernetes binaries missing in ${GUEST.bin}" >&2; exit 3; }; tar -xzf - -C / --no-same-owner --no-overwrite-dir && sync`,
        { input: archive },
      );
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }

  async #waitEtcd(node: PlannedNode, signal: AbortSignal, budgetMs: number): Promise<void> {
    const machine = this.#machine(node);
    await waitFor(
      async () => {
        const result = await machine.exec(`${etcdctl(5)} endpoint health`, { check: false, timeoutMs: 10_000, signal });
        if (result.exitCode === 0) return { done: true, value: undefined };
        return { done: false, observed: `${lastLine(result.stderr || result.stdout) || 'no answer'}; ${await this.#serviceState(machine, 'etcd')}` };
      },
      { what: 'etcd healthy (a quorum of members)', budgetMs, pollMs: 1000, where: node.name, signal },
    );
  }

  async #waitApiserver(node: PlannedNode, signal: AbortSignal, budgetMs: number): Promise<void> {
    const endpoint = this.apiEndpoints().find((e) => e.node === node.name)!;
    const kc = this.kubeConfig(endpoint);
    const machine = this.#machine(node);
    await waitFor(
      async () => {
        const answer = await apiGet(kc, '/readyz', 10_000).catch((error: unknown) => ({ status: 0, body: describeError(error) }));
        if (answer.status === 200) return { done: true, value: undefined };
        return { done: false, observed: `HTTP ${answer.status} ${lastLine(answer.body)}; ${await this.#serviceState(machine, 'kube-apiserver')}` };
      },
      { what: 'kube-apiserver /readyz', budgetMs, pollMs: 1000, where: node.name, signal },
    );
  }

  async #waitImages(node: PlannedNode, signal: AbortSignal, budgetMs: number): Promise<void> {
    const machine = this.#machine(node);
    await waitFor(
      async () => {
        const result = await machine.exec('test -f /run/edgeproof/images-imported && echo ok || tail -n 2 /var/log/edgeproof/image-import.log', { check: false, signal });
        return result.stdout.trim() === 'ok' ? { done: true, value: undefined } : { done: false, observed: lastLine(result.stdout) || 'importing' };
      },
      { what: 'workload images imported into containerd', budgetMs, pollMs: 1000, where: node.name, signal },
    );
  }

  /** Ready; with `renewedAfter`, also a lease renewed since then and no unreachable/not-ready taint (fresh evidence, not the snapshot's). */
  async #waitNodeReady(node: PlannedNode, signal: AbortSignal, budgetMs: number, renewedAfter?: number): Promise<void> {
    const api = this.kubeConfig().makeApiClient(CoreV1Api);
    const leases = this.kubeConfig().makeApiClient(CoordinationV1Api);
    const machine = this.#machine(node);
    await waitFor(
      async () => {
        const found = await api.readNode({ name: node.name }).catch(() => undefined);
        if (!found) return { done: false, observed: `node not registered; ${await this.#serviceState(machine, 'kubelet')}` };
        const ready = found.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') return { done: false, observed: `Ready=${ready?.status ?? 'unknown'}: ${ready?.message ?? ready?.reason ?? ''}` };
        if (renewedAfter === undefined) return { done: true, value: undefined };
        const taint = found.spec?.taints?.find((t) => t.key === 'node.kubernetes.io/unreachable' || t.key === 'node.kubernetes.io/not-ready');
        if (taint) return { done: false, observed: `Ready=True but tainted ${taint.key}:${taint.effect}` };
        const lease = await leases.readNamespacedLease({ name: node.name, namespace: 'kube-node-lease' }).catch(() => undefined);
        const renewed = lease?.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string).getTime() : 0;
        if (renewed < renewedAfter) return { done: false, observed: `Ready=True in the saved state; lease last renewed ${renewed ? new Date(renewed).toISOString() : 'never'}, waiting for a renewal after the clock was set` };
        return { done: true, value: undefined };
      },
      { what: `node ${node.name} Ready`, budgetMs, pollMs: 500, where: node.name, signal },
    );
  }

  /** Restart count and last log line of a supervised service: what a timeout reports as last seen. */
  async #serviceState(machine: Machine, service: string): Promise<string> {
    const result = await machine.exec(
      `echo "$(cat /run/edgeproof/${service}.restarts 2>/dev/null || echo 0)"; tail -n 1 /var/log/edgeproof/${service}.log 2>/dev/null`,
      { check: false, timeoutMs: 10_000 },
    ).catch((error: unknown) => ({ stdout: `0\n(unreachable: ${describeError(error)})` }));
    const [restarts, ...lines] = result.stdout.trim().split('\n');
    return `${service} restarted ${restarts || 0}x, last log: ${lines.join(' ').slice(0, 200) || '(empty)'}`;
  }

  /** Exports every node's service logs (kind's rule: logs before delete). */
  async collectLogs(): Promise<void> {
    await Promise.all(this.plan.nodes.map((node) => this.#collectNodeLogs(node).catch((error: unknown) => log('%s: log collection failed: %s', node.name, describeError(error)))));
  }

  async #collectNodeLogs(node: PlannedNode): Promise<void> {
    const dir = join(this.ctx.runDir, 'machines', node.name, 'logs');
    mkdirSync(dir, { recursive: true });
    const result = await this.#machine(node).exec('cd /var/log && tar -czf - edgeproof sshd.log 2>/dev/null | base64', { check: false, timeoutMs: this.ctx.scaled(30_000) });
    if (!result.stdout.trim()) return;
    const archive = join(dir, 'logs.tar.gz');
    writeFileSync(archive, Buffer.from(result.stdout, 'base64'));
    await hostRun('tar', ['-xzf', archive, '-C', dir]).catch(() => undefined);
    rmSync(archive, { force: true });
  }

  dispose = once(async () => {
    await this.collectLogs();
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1)?.slice(0, 200) ?? '';
}
