import { performance } from 'node:perf_hooks';
import { NetworkingV1Api, type AppsV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { PrerequisiteMissingError, WaitTimeoutError, describeError, formatMs } from '../core/errors.js';
import type { Evidence } from '../core/events.js';
import { sleep, waitFor } from '../core/wait.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, notApplicable, pass, runCheck, type CheckOutcome, type CheckSpec } from './check.js';
import {
  CNI_SUITE,
  CLIENT_APP,
  CLIENT_CONTAINER,
  ECHO_CONTAINER,
  POLICY_SERVER_APP,
  ECHO_PORT,
  allowIngressFromAppPolicy,
  classifyPolicySample,
  clusterDomainFromResolvConf,
  cniConfigProbe,
  cniDaemonSetProblems,
  cniManifests,
  cniPlan,
  denyAllIngressPolicy,
  describeStaticCni,
  findCniDaemonSets,
  nameserversFromResolvConf,
  parseCniConfigProbe,
  parseNslookupAddresses,
  resolveSource,
  resolveTarget,
  type ClusterView,
  type CniDaemonSet,
  type CniNode,
  type CniPlan,
  type NodeCniConfig,
  type ResolvedTarget,
  type Source,
} from './cni-plan.js';
import { runConnectivityMatrix, type Deployed, type ProbeRun } from './cni-matrix.js';
import { kube, kubeClients, type KubeClients } from '../cluster/kube-access.js';
import { execInPod } from './pod-exec.js';
import { describePods, isPodReady, withSuiteNamespace } from './suite-kit.js';
import { NO_PROBE_TOOL_EXIT, httpProbeFailure, httpRequestCommand, nodeHttpRequestCommand, parseHttpProbeOutput, type HttpProbeResult } from './workloads.js';

// Base timeouts, multiplied by the run's timeout scale (checks.md NET-2: connect 2 s, max 10 s, Eventually 120 s).
const CONNECT_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 10_000;
const CELL_BUDGET_MS = 120_000;
const RETRY_PAUSE_MS = 2_000;
/** NET-5: deny must hold this long, in real time (a requirement, not a wait: never scaled). */
const POLICY_WINDOW_MS = 20_000;
const POLICY_SAMPLE_MS = 2_000;
/** NET-5: how long (x scale) a policy may take to be enforced, and the allow policy to let traffic through. */
const POLICY_BUDGET_MS = 20_000;
/** Probes in flight at once: each is an exec (a process in a container) on a small, shared machine. */
const PROBE_CONCURRENCY = 4;

interface CniEnv {
  ctx: RunContext;
  cluster: StartedCluster;
  kc: KubeConfig;
  clients: KubeClients & { networking: NetworkingV1Api };
  namespace: string;
  outcomes: CheckOutcome[];
}

/**
 * The CNI suite: CNI pods healthy (NET-1), the connectivity matrix (NET-2,
 * hairpin NET-3/hairpin), DNS (NET-3/dns) and NetworkPolicy enforcement
 * (NET-5). CNI-agnostic: pods pinned to nodes, Services, NetworkPolicies
 * and exec through the Kubernetes API, node-side probes through the nodes'
 * shells. Everything lives in one namespace, deleted at the end.
 */
export async function runCniSuite(ctx: RunContext, cluster: StartedCluster): Promise<CheckOutcome[]> {
  const kc = cluster.kubeConfig();
  const env: CniEnv = { ctx, cluster, kc, clients: { ...kubeClients(kc), networking: kc.makeApiClient(NetworkingV1Api) }, namespace: '', outcomes: [] };
  const nodes = await cniNodes(env);
  await check(env, { id: 'NET-1', name: 'CNI pods healthy on every node' }, () => cniPodsHealthy(env, nodes));
  await withSuiteNamespace(ctx, env.clients, CNI_SUITE, async (namespace) => {
    env.namespace = namespace;
    const plan = cniPlan(nodes);
    const deployed = await deploy(env, plan);
    await runMatrix(env, plan, deployed);
    await check(env, { id: 'NET-3/dns', name: 'a pod resolves kubernetes.default to the kubernetes Service ClusterIP' }, () => dns(env, plan, deployed));
    await check(env, { id: 'NET-5', name: 'NetworkPolicy: deny-all holds for 20 s, then an allow policy lets the client through' }, () => networkPolicy(env, plan, deployed));
  });
  return env.outcomes;
}

async function check(env: CniEnv, spec: Omit<CheckSpec, 'suite'>, body: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  const outcome = await runCheck(env.ctx, { ...spec, suite: CNI_SUITE }, body);
  env.outcomes.push(outcome);
  return outcome;
}

/** The cluster's nodes with their InternalIP from the Node objects and whether the harness has a shell on them. */
async function cniNodes(env: CniEnv): Promise<CniNode[]> {
  const list = await kube('list nodes', () => env.clients.core.listNode());
  const internalIp = (name: string) => list.items.find((n) => n.metadata?.name === name)?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (env.cluster.nodes.length > 0) return env.cluster.nodes.map((n) => ({ name: n.name, internalIp: internalIp(n.name), hasShell: Boolean(n.machine) }));
  return list.items.map((n) => ({ name: n.metadata!.name!, internalIp: internalIp(n.metadata!.name!), hasShell: false }));
}

// ---------------------------------------------------------------- NET-1

async function cniPodsHealthy(env: CniEnv, nodes: CniNode[]): Promise<CheckOutcome> {
  const { apps } = env.clients;
  const listCni = async () => findCniDaemonSets((await kube('list daemonsets', () => apps.listDaemonSetForAllNamespaces())).items);
  const initial = await listCni();
  if (initial.length === 0) {
    const nodeConfigs = await nodeCniConfigs(env);
    return notApplicable(describeStaticCni(nodeConfigs), { daemonSets: [], nodeConfigs });
  }
  let found = initial;
  try {
    await waitFor(
      async () => {
        found = await listCni();
        const problems = cniDaemonSetProblems(found, nodes.length);
        return problems.length === 0 ? { done: true as const, value: found } : { done: false as const, observed: problems.join('; ') };
      },
      { what: `CNI DaemonSets ready on all ${nodes.length} nodes`, budgetMs: env.ctx.scaled(CELL_BUDGET_MS), pollMs: 2000, signal: env.ctx.signal },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) return fail(error.message, { daemonSets: found, pods: await cniPods(env, found) });
    throw error;
  }
  const controllers = await calicoKubeControllers(apps);
  const evidence = { daemonSets: found, pods: await cniPods(env, found), ...(controllers ? { calicoKubeControllers: controllers } : {}) };
  if (controllers && controllers.ready < controllers.replicas) return fail(`${controllers.namespace}/calico-kube-controllers has ${controllers.ready}/${controllers.replicas} replicas ready`, evidence);
  return pass(evidence);
}

/** The CNI's pods, where they run and how often they restarted. */
async function cniPods(env: CniEnv, found: CniDaemonSet[]): Promise<Evidence[]> {
  const { apps } = env.clients;
  const rows: Evidence[] = [];
  for (const ds of found) {
    const full = await kube(`read daemonset ${ds.namespace}/${ds.name}`, () => apps.readNamespacedDaemonSet({ name: ds.name, namespace: ds.namespace }));
    const selector = Object.entries(full.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = await kube('list CNI pods', () => env.clients.core.listNamespacedPod({ namespace: ds.namespace, labelSelector: selector }));
    for (const p of pods.items) {
      rows.push({ pod: `${ds.namespace}/${p.metadata?.name}`, node: p.spec?.nodeName, ready: isPodReady(p), restarts: p.status?.containerStatuses?.reduce((n, c) => n + c.restartCount, 0) ?? 0 });
    }
  }
  return rows;
}

/** MicroK8s and Calico's manifests also run calico-kube-controllers (a Deployment): it must be Ready when present. */
async function calicoKubeControllers(apps: AppsV1Api): Promise<{ namespace: string; replicas: number; ready: number } | undefined> {
  for (const namespace of ['kube-system', 'calico-system']) {
    const deployment = await kube('read calico-kube-controllers', () => apps.readNamespacedDeployment({ name: 'calico-kube-controllers', namespace })).catch(() => undefined);
    if (deployment) return { namespace, replicas: deployment.spec?.replicas ?? 1, ready: deployment.status?.readyReplicas ?? 0 };
  }
  return undefined;
}

/** Each node's CNI configuration files, read through its shell (evidence for a CNI that is not a DaemonSet). */
async function nodeCniConfigs(env: CniEnv): Promise<NodeCniConfig[]> {
  return Promise.all(
    env.cluster.nodes.map(async (node): Promise<NodeCniConfig> => {
      if (!node.machine) return { node: node.name, error: 'no shell on this node to read its CNI configuration' };
      try {
        const run = await node.machine.exec(cniConfigProbe(), { timeoutMs: env.ctx.scaled(REQUEST_TIMEOUT_MS), signal: env.ctx.signal });
        return { node: node.name, files: parseCniConfigProbe(run.stdout) };
      } catch (error) {
        if (env.ctx.signal.aborted) throw error;
        return { node: node.name, error: describeError(error) };
      }
    }),
  );
}

// ---------------------------------------------------------------- workloads

/**
 * Creates the pinned pods and the Services and waits (bounded) for them. A
 * pod that does not come up is not fatal: the cells that need it fail with
 * its status, the others run.
 */
async function deploy(env: CniEnv, plan: CniPlan): Promise<Deployed> {
  const { ctx, clients, namespace } = env;
  const { pods, services } = cniManifests(plan, env.cluster.workloadImage);
  try {
    for (const body of pods) await kube(`create pod ${body.metadata!.name}`, () => clients.core.createNamespacedPod({ namespace, body }));
    for (const body of services) await kube(`create service ${body.metadata!.name}`, () => clients.core.createNamespacedService({ namespace, body }));
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { view: { pods: {}, services: {}, nodeIps: {} }, problem: describeError(error) };
  }
  ctx.progress.info(`waiting <= ${formatMs(ctx.scaled(CELL_BUDGET_MS))} for ${pods.length} pods pinned to ${plan.nodes.length} node(s)`);
  await waitFor(
    async () => {
      const list = (await kube('list pods', () => clients.core.listNamespacedPod({ namespace }))).items;
      const pending = list.filter((p) => !(p.metadata?.labels?.app === CLIENT_APP ? p.status?.phase === 'Running' : isPodReady(p)));
      return pending.length === 0 && list.length === pods.length ? { done: true as const, value: list } : { done: false as const, observed: describePods(pending) };
    },
    { what: "the CNI suite's pods Running (servers Ready)", budgetMs: ctx.scaled(CELL_BUDGET_MS), pollMs: 1000, signal: ctx.signal },
  ).catch((error: unknown) => {
    if (!(error instanceof WaitTimeoutError)) throw error;
    ctx.progress.info(describeError(error));
  });
  try {
    return { view: await clusterView(env, plan) };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { view: { pods: {}, services: {}, nodeIps: {} }, problem: describeError(error) };
  }
}

async function clusterView(env: CniEnv, plan: CniPlan): Promise<ClusterView> {
  const pods = (await kube('list pods', () => env.clients.core.listNamespacedPod({ namespace: env.namespace }))).items;
  const services = (await kube('list services', () => env.clients.core.listNamespacedService({ namespace: env.namespace }))).items;
  return {
    pods: Object.fromEntries(pods.map((p) => [p.metadata!.name!, podView(p)])),
    services: Object.fromEntries(services.map((s) => [s.metadata!.name!, { clusterIp: s.spec?.clusterIP, nodePort: s.spec?.ports?.[0]?.nodePort }])),
    nodeIps: Object.fromEntries(plan.nodes.map((n) => [n.name, n.internalIp])),
  };
}

function podView(p: V1Pod) {
  return { ip: p.status?.podIP, node: p.spec?.nodeName, running: p.status?.phase === 'Running', ready: isPodReady(p), summary: describePods([p]) };
}

// ---------------------------------------------------------------- NET-2 matrix

async function runMatrix(env: CniEnv, plan: CniPlan, deployed: Deployed): Promise<void> {
  const timing = { budgetMs: env.ctx.scaled(CELL_BUDGET_MS), pauseMs: RETRY_PAUSE_MS, concurrency: PROBE_CONCURRENCY };
  env.outcomes.push(...(await runConnectivityMatrix(env.ctx, plan.cells, deployed, (source, url) => probe(env, source, url), timing)));
}

/** One HTTP request from a pod (exec into it) or a node (its shell). */
async function probe(env: CniEnv, source: Source, url: string): Promise<ProbeRun> {
  const { ctx } = env;
  const started = performance.now();
  const timeoutMs = ctx.scaled(CONNECT_TIMEOUT_MS + REQUEST_TIMEOUT_MS);
  try {
    if (source.kind === 'pod') {
      const command = httpRequestCommand(url, ctx.scaled(CONNECT_TIMEOUT_MS) / 1000);
      const out = await execInPod(env.kc, { namespace: env.namespace, pod: source.pod, container: source.container, command, timeoutMs, signal: ctx.signal });
      return { result: parseHttpProbeOutput(out.stdout + out.stderr), roundTripMs: out.durationMs };
    }
    const machine = env.cluster.nodes.find((n) => n.name === source.node)?.machine;
    if (!machine) throw new PrerequisiteMissingError(`a shell on node ${source.node}`, 'node-side probes need the qemu, container or ssh backend');
    const out = await machine.exec(nodeHttpRequestCommand(url, ctx.scaled(REQUEST_TIMEOUT_MS) / 1000), { timeoutMs, check: false, signal: ctx.signal });
    if (out.exitCode === NO_PROBE_TOOL_EXIT && out.stdout.includes('probe-tool=none')) {
      throw new PrerequisiteMissingError(`a TCP client (bash with timeout, or nc) on node ${source.node}`, 'the node image has neither: node-to-pod probes cannot run there');
    }
    return { result: parseHttpProbeOutput(out.stdout + out.stderr), roundTripMs: out.durationMs };
  } catch (error) {
    if (ctx.signal.aborted || error instanceof PrerequisiteMissingError) throw error;
    return { error: describeError(error), roundTripMs: Math.round(performance.now() - started) };
  }
}

// ---------------------------------------------------------------- NET-3 DNS

async function dns(env: CniEnv, plan: CniPlan, deployed: Deployed): Promise<CheckOutcome> {
  const { ctx, clients } = env;
  const kubeSystem = (await kube('list kube-system services', () => clients.core.listNamespacedService({ namespace: 'kube-system' }))).items;
  const dnsService = kubeSystem.find((s) => s.metadata?.name === 'kube-dns');
  if (!dnsService) {
    const names = kubeSystem.map((s) => s.metadata?.name);
    return notApplicable('the cluster has no DNS service: kube-system has no kube-dns Service (neither CoreDNS nor kube-dns is installed)', { kubeSystemServices: names });
  }
  if (deployed.problem) return fail(`the suite's pods did not all start: ${deployed.problem}`);
  const kubernetes = await kube('read the kubernetes Service', () => clients.core.readNamespacedService({ name: 'kubernetes', namespace: 'default' }));
  const expected = kubernetes.spec?.clusterIP;
  const client = plan.clients[0]!;
  const source = resolveSource({ kind: 'pod', pod: client.pod, container: CLIENT_CONTAINER, node: client.node }, deployed.view);
  if ('problem' in source) return fail(source.problem);
  const inClient = (command: string[]) =>
    execInPod(env.kc, { namespace: env.namespace, pod: client.pod, container: CLIENT_CONTAINER, command, timeoutMs: ctx.scaled(REQUEST_TIMEOUT_MS), signal: ctx.signal });
  const resolvConf = (await inClient(['cat', '/etc/resolv.conf'])).stdout;
  const domain = clusterDomainFromResolvConf(resolvConf, env.namespace);
  const evidence: Evidence = { pod: client.pod, node: client.node, dnsService: dnsService.spec?.clusterIP, nameservers: nameserversFromResolvConf(resolvConf), expected, clusterDomain: domain };
  if (!domain) return fail(`the pod's /etc/resolv.conf has no "${env.namespace}.svc.<domain>" search entry: ${resolvConf.trim().slice(0, 200)}`, evidence);
  // busybox >= 1.28.4 nslookup ignores search domains (docker-library/busybox#48): the FQDN decides, the short name is recorded.
  const fqdn = `kubernetes.default.svc.${domain}`;
  let answer: { addresses: string[]; durationMs: number };
  try {
    answer = await waitFor(
      async () => {
        const run = await inClient(['nslookup', fqdn]);
        const addresses = parseNslookupAddresses(run.stdout);
        if (expected && addresses.includes(expected)) return { done: true as const, value: { addresses, durationMs: run.durationMs } };
        return { done: false as const, observed: `${addresses.join(', ') || 'no address'}: ${(run.stdout + run.stderr).trim().slice(0, 300)}` };
      },
      { what: `${fqdn} resolving to the kubernetes Service ClusterIP ${expected}`, budgetMs: ctx.scaled(CELL_BUDGET_MS), pollMs: RETRY_PAUSE_MS, signal: ctx.signal },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) return fail(error.message, evidence);
    throw error;
  }
  const short = await inClient(['nslookup', 'kubernetes.default']).catch((error: Error) => ({ stdout: '', stderr: error.message }));
  return pass({ ...evidence, name: fqdn, addresses: answer.addresses, roundTripMs: answer.durationMs, shortName: { name: 'kubernetes.default', addresses: parseNslookupAddresses(short.stdout), raw: (short.stdout + short.stderr).trim().slice(0, 300) } });
}

// ---------------------------------------------------------------- NET-5 NetworkPolicy

interface PolicySample {
  /** ms since the phase started. */
  atMs: number;
  outcome: 'reached' | 'blocked' | 'error';
  detail: string;
}

/**
 * NET-5, in four steps on one client -> server pair (server on another node when there is one):
 * 1. before any policy the client reaches the server (Eventually, 120 s x scale);
 * 2. deny-all ingress on the server: probes every 2 s until one is blocked (the CNI programmed it,
 *    within 20 s x scale). None blocked and traffic passing: the CNI does not enforce
 *    NetworkPolicy, not applicable;
 * 3. the window: a probe starts every 2 s for 20 s of real time; every one must be blocked;
 * 4. an allow policy from the client's label: the client gets through within 20 s x scale, and a
 *    pod without the label (the outsider) stays blocked.
 * Blocked means the probe ran to its end without an HTTP answer; a probe that could not run
 * (exec failed) never counts as blocked.
 */
async function networkPolicy(env: CniEnv, plan: CniPlan, deployed: Deployed): Promise<CheckOutcome> {
  const { ctx } = env;
  const { server, client, outsider } = plan.policy;
  if (deployed.problem) return fail(`the suite's pods did not all start: ${deployed.problem}`);
  const clientSource: Source = { kind: 'pod', pod: client.pod, container: CLIENT_CONTAINER, node: client.node };
  const outsiderSource: Source = { kind: 'pod', pod: outsider.pod, container: ECHO_CONTAINER, node: outsider.node };
  const target = resolveTarget({ kind: 'pod-ip', pod: server.pod, node: server.node }, deployed.view);
  const source = resolveSource(clientSource, deployed.view);
  if ('problem' in target) return fail(target.problem);
  if ('problem' in source) return fail(source.problem);
  const evidence: Evidence = { server: target.describe, client: source.describe, outsider: { pod: outsider.pod, node: outsider.node }, url: target.url, windowMs: POLICY_WINDOW_MS, sampleEveryMs: POLICY_SAMPLE_MS };

  const baseline = await untilReached(env, clientSource, target, ctx.scaled(CELL_BUDGET_MS));
  evidence.baseline = baseline;
  if (!baseline.reached) return fail(`before any policy, ${client.pod} never reached ${server.pod}: ${baseline.last}`, evidence);

  await kube('create deny-all policy', () => env.clients.networking.createNamespacedNetworkPolicy({ namespace: env.namespace, body: denyAllIngressPolicy(POLICY_SERVER_APP) }));
  const enforcement = await untilBlocked(env, clientSource, target, ctx.scaled(POLICY_BUDGET_MS));
  evidence.enforcement = enforcement;
  if (enforcement.blockedAtMs === undefined) {
    const reached = enforcement.samples.filter((s) => s.outcome === 'reached').length;
    const errors = enforcement.samples.length - reached;
    const unrun = errors > 0 ? ` (${errors} more probes could not run)` : '';
    if (reached > 0) return notApplicable(`the CNI does not enforce NetworkPolicy: traffic passed ${reached} times under deny-all over ${formatMs(ctx.scaled(POLICY_BUDGET_MS))}${unrun}`, evidence);
    return fail(`under deny-all no probe could run, so enforcement is unproven: ${enforcement.samples[0]?.detail}`, evidence);
  }
  emitLatency(env, 'NET-9/netpol-deny', 'deny-all enforced after the policy was created (to within the 2 s sampling)', enforcement.blockedAtMs, client.node);

  const window = await sampleWindow(env, clientSource, target);
  evidence.window = window;
  const leaks = window.filter((s) => s.outcome === 'reached');
  const errors = window.filter((s) => s.outcome === 'error');
  if (leaks.length > 0) return fail(`deny-all let traffic through ${leaks.length} of ${window.length} times in the ${formatMs(POLICY_WINDOW_MS)} window (at ${leaks.map((s) => `+${formatMs(s.atMs)}`).join(', ')})`, evidence);
  if (errors.length > 0) return fail(`${errors.length} of ${window.length} probes in the deny window could not run, so blocking is unproven: ${errors[0]!.detail}`, evidence);

  await kube('create allow policy', () => env.clients.networking.createNamespacedNetworkPolicy({ namespace: env.namespace, body: allowIngressFromAppPolicy(POLICY_SERVER_APP, CLIENT_APP, ECHO_PORT) }));
  const allowed = await untilReached(env, clientSource, target, ctx.scaled(POLICY_BUDGET_MS));
  evidence.allow = allowed;
  if (!allowed.reached) return fail(`deny-all was enforced, but the allow policy (from app=${CLIENT_APP}) did not let ${client.pod} through within ${formatMs(ctx.scaled(POLICY_BUDGET_MS))}: ${allowed.last}`, evidence);
  emitLatency(env, 'NET-9/netpol-allow', 'allow policy effective after it was created (to within the 2 s sampling)', allowed.reachedAtMs!, client.node);

  const stranger = await sampleOnce(env, outsiderSource, target, performance.now());
  evidence.outsiderAfterAllow = stranger;
  if (stranger.outcome === 'reached') return fail(`the allow policy also let ${outsider.pod} (not app=${CLIENT_APP}) through: it is not enforced by label`, evidence);
  if (stranger.outcome === 'error') return fail(`the probe from ${outsider.pod} could not run, so the allow policy's selectivity is unproven: ${stranger.detail}`, evidence);
  return pass(evidence);
}

async function sampleOnce(env: CniEnv, source: Source, target: ResolvedTarget, since: number): Promise<PolicySample & { latencyMs?: number }> {
  const atMs = Math.round(performance.now() - since);
  const run = await probe(env, source, target.url);
  const outcome = classifyPolicySample(run.error ? undefined : run.result);
  const detail = run.error ?? run.result?.statusLine ?? run.result?.error ?? `exit ${run.result?.exitCode}`;
  return { atMs, outcome, detail, ...(run.result?.elapsedMs !== undefined ? { latencyMs: run.result.elapsedMs } : {}) };
}

/** Probes every 2 s until a full answer from the target's pod comes back or `budgetMs` is spent. */
async function untilReached(env: CniEnv, source: Source, target: ResolvedTarget, budgetMs: number): Promise<{ reached: boolean; reachedAtMs?: number; attempts: number; last: string; latencyMs?: number }> {
  const since = performance.now();
  let attempts = 0;
  let last = '';
  for (;;) {
    attempts++;
    const atMs = Math.round(performance.now() - since);
    const run = await probe(env, source, target.url);
    const failure = run.error ?? httpProbeFailure(run.result!, target.backends);
    if (!failure) return { reached: true, reachedAtMs: atMs, attempts, last: run.result!.marker!, latencyMs: run.result!.elapsedMs };
    last = failure;
    if (performance.now() - since + POLICY_SAMPLE_MS > budgetMs) return { reached: false, attempts, last };
    await sleep(POLICY_SAMPLE_MS, env.ctx.signal);
  }
}

/** Probes every 2 s until one is blocked (the policy took hold) or `budgetMs` is spent. */
async function untilBlocked(env: CniEnv, source: Source, target: ResolvedTarget, budgetMs: number): Promise<{ blockedAtMs?: number; samples: PolicySample[] }> {
  const since = performance.now();
  const samples: PolicySample[] = [];
  for (;;) {
    const sample = await sampleOnce(env, source, target, since);
    samples.push(sample);
    if (sample.outcome === 'blocked') return { blockedAtMs: sample.atMs, samples };
    if (performance.now() - since + POLICY_SAMPLE_MS > budgetMs) return { samples };
    await sleep(POLICY_SAMPLE_MS, env.ctx.signal);
  }
}

/**
 * The deny window: a probe starts every 2 s from 0 to 20 s of real time,
 * without waiting for the previous one (a blocked probe takes its whole
 * connect timeout), so the window is covered whatever the timeout scale.
 */
async function sampleWindow(env: CniEnv, source: Source, target: ResolvedTarget): Promise<PolicySample[]> {
  const since = performance.now();
  const starts = Array.from({ length: POLICY_WINDOW_MS / POLICY_SAMPLE_MS + 1 }, (_, i) => i * POLICY_SAMPLE_MS);
  return Promise.all(
    starts.map(async (offset) => {
      await sleep(Math.max(0, offset - (performance.now() - since)), env.ctx.signal);
      return sampleOnce(env, source, target, since);
    }),
  );
}

function emitLatency(env: CniEnv, id: string, name: string, value: number, node: string): void {
  env.ctx.events.emit({ type: 'measurement', id, suite: CNI_SUITE, name, unit: 'ms', value, node });
}
