import type { V1Deployment } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { PrerequisiteMissingError, describeError, formatMs } from '../core/errors.js';
import { sleep, waitFor } from '../core/wait.js';
import { anyOf, outageStats, timeline, type PeriodicProbe, type ProbeSample } from '../bench/availability.js';
import type { ClusterNode, StartedCluster } from '../cluster/distribution.js';
import { fail, notApplicable, pass, runCheck, type CheckOutcome } from './check.js';
import { diagnoseEviction, type EvictionFacts } from './eviction-diagnosis.js';
import { ClusterAccess, WriteProbe, readyzProbe, serviceProbe } from './ha-probes.js';
import { kube, kubeClients } from '../cluster/kube-access.js';
import { createNamespace, deleteNamespace, suiteNamespace } from './suite-kit.js';
import { clusterIpService, webDeployment } from './workloads.js';

const SUITE = 'ha';
const PROBE_INTERVAL_MS = 1000;
const WORKLOAD = 'ep-ha-web';

/** Verdict thresholds; the defaults follow checks.md (MicroK8s docs: re-election <= 5 s, voter promotion <= 30 s). */
export interface HaBudgets {
  longestOutageMs: number;
  lostWrites: number;
  detectMs: number;
  rescheduleMs: number;
  rejoinMs: number;
  quorumRecoverMs: number;
}

export function haBudgets(ctx: RunContext, overrides: Partial<HaBudgets> = {}): HaBudgets {
  return {
    longestOutageMs: ctx.scaled(30_000),
    lostWrites: 0,
    // The node lifecycle controller's grace (40 s) plus a status period.
    detectMs: ctx.scaled(60_000),
    rescheduleMs: ctx.scaled(90_000),
    rejoinMs: ctx.scaled(10 * 60_000),
    quorumRecoverMs: ctx.scaled(5 * 60_000),
    ...overrides,
  };
}

export type HaScenarioName = 'non-leader-power-off' | 'leader-power-off' | 'frozen' | 'partitioned' | 'quorum-loss';
export const HA_SCENARIOS: HaScenarioName[] = ['non-leader-power-off', 'leader-power-off', 'frozen', 'partitioned', 'quorum-loss'];

export interface HaSuiteOptions {
  budgets: HaBudgets;
  scenarios?: HaScenarioName[];
}

interface Leaders {
  etcd?: string;
  controllerManager?: string;
}

interface ScenarioSpec {
  id: string;
  name: string;
  /** Which control planes fail, given who leads. */
  targets(controlPlanes: ClusterNode[], leaders: Leaders): ClusterNode[];
  /** `peers`: the other nodes' addresses (a real board's firewall needs them to cut it off). */
  inject(node: ClusterNode, peers: string[]): Promise<void>;
  restore(node: ClusterNode): Promise<void>;
  /** Quorum loss: the API must refuse writes until a member returns. */
  quorumLoss?: boolean;
}

const SPECS: Record<HaScenarioName, ScenarioSpec> = {
  'non-leader-power-off': {
    id: 'HA-3', name: 'ungraceful power-off of a non-leader control plane',
    targets: (cps, leaders) => [cps.find((n) => n.name !== leaders.etcd && n.name !== leaders.controllerManager) ?? cps.find((n) => n.name !== leaders.etcd)!],
    inject: (node) => node.machine!.powerOff(), restore: (node) => node.machine!.powerOn(),
  },
  'leader-power-off': {
    id: 'HA-4', name: 'ungraceful power-off of the etcd leader',
    targets: (cps, leaders) => [cps.find((n) => n.name === leaders.etcd) ?? cps[0]!],
    inject: (node) => node.machine!.powerOff(), restore: (node) => node.machine!.powerOn(),
  },
  frozen: {
    id: 'HA-10', name: 'the etcd leader frozen (hung, not dead), then thawed',
    targets: (cps, leaders) => [cps.find((n) => n.name === leaders.etcd) ?? cps[0]!],
    inject: (node) => node.machine!.freeze(), restore: (node) => node.machine!.thaw(),
  },
  partitioned: {
    id: 'HA-11', name: 'the etcd leader cut off the private network, then healed',
    targets: (cps, leaders) => [cps.find((n) => n.name === leaders.etcd) ?? cps[0]!],
    inject: (node, peers) => node.machine!.partition(peers), restore: (node) => node.machine!.heal(),
  },
  'quorum-loss': {
    id: 'HA-6', name: 'quorum loss: two of three control planes powered off (writes must fail), then back',
    targets: (cps, leaders) => [...cps.filter((n) => n.name === leaders.etcd), ...cps.filter((n) => n.name !== leaders.etcd)].slice(0, 2),
    inject: (node) => node.machine!.powerOff(), restore: (node) => node.machine!.powerOn(),
    quorumLoss: true,
  },
};

interface SuiteEnv {
  ctx: RunContext;
  cluster: StartedCluster;
  access: ClusterAccess;
  namespace: string;
  serviceIp: string;
  budgets: HaBudgets;
  replicas: number;
}

/**
 * The HA-failover suite: probes run before, during and after each fault
 * (readyz through every control plane, acknowledged writes through any,
 * HTTP through a Service from a node that is not failed), and every figure
 * is read off their samples.
 */
export async function runHaSuite(ctx: RunContext, cluster: StartedCluster, options: HaSuiteOptions): Promise<CheckOutcome[]> {
  const controlPlanes = cluster.nodes.filter((n) => n.role === 'control-plane');
  if (controlPlanes.length < 3) {
    return [await runCheck(ctx, { id: 'HA-1', suite: SUITE, name: 'three control planes formed' }, async () => notApplicable(`the cluster has ${controlPlanes.length} control plane(s); HA needs 3 (--topology 3 or 3+N)`))];
  }
  const clients = kubeClients(cluster.kubeConfig());
  const namespace = suiteNamespace(ctx, SUITE);
  await createNamespace(clients, namespace, ctx.scaled(60_000));
  const outcomes: CheckOutcome[] = [];
  try {
    const replicas = cluster.nodes.length;
    await kube('create deployment', () => clients.apps.createNamespacedDeployment({ namespace, body: failoverWorkload(cluster.workloadImage, replicas) }));
    const service = await kube('create service', () => clients.core.createNamespacedService({ namespace, body: clusterIpService(WORKLOAD, WORKLOAD) }));
    const env: SuiteEnv = { ctx, cluster, access: new ClusterAccess(cluster, ctx.scaled(2_000)), namespace, serviceIp: service.spec!.clusterIP!, budgets: options.budgets, replicas };
    outcomes.push(await runCheck(ctx, { id: 'HA-1', suite: SUITE, name: 'three control planes, a three-member etcd with a leader, the workload Ready' }, () => formation(env)));
    if (outcomes[0]!.verdict !== 'pass') return outcomes;
    for (const name of options.scenarios ?? HA_SCENARIOS) {
      ctx.signal.throwIfAborted();
      const spec = SPECS[name];
      outcomes.push(await runCheck(ctx, { id: spec.id, suite: SUITE, name: spec.name }, () => runScenario(env, spec)));
    }
    outcomes.push(await runCheck(ctx, { id: 'HA-5', suite: SUITE, name: 'after every scenario: all nodes Ready, etcd three healthy members, the same objects through every control plane' }, () => finalConsistency(env)));
  } finally {
    await deleteNamespace(clients, namespace);
  }
  return outcomes;
}

/** The probes' workload: one replica per node, evicted 10 s after its node stops answering (default: 5 min). */
export function failoverWorkload(image: string, replicas: number): V1Deployment {
  const deployment = webDeployment(WORKLOAD, image, replicas);
  const tolerations = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }));
  deployment.spec!.template.spec!.tolerations = tolerations;
  deployment.spec!.template.spec!.topologySpreadConstraints = [
    { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: WORKLOAD } } },
  ];
  return deployment;
}

async function formation(env: SuiteEnv): Promise<CheckOutcome> {
  const { ctx, cluster } = env;
  const controlPlanes = cluster.nodes.filter((n) => n.role === 'control-plane');
  const statuses = await Promise.all(controlPlanes.map((cp) => cluster.datastoreStatus?.(cp)));
  if (statuses.some((s) => s === undefined)) throw new PrerequisiteMissingError(`datastore status from ${cluster.distro}`, 'the distribution driver does not report its datastore members');
  const placement = await waitWorkload(env, [], ctx.scaled(120_000));
  const leaders = await currentLeaders(env);
  const evidence = { datastore: statuses, leaders, placement };
  const unhealthy = statuses.filter((s) => !s!.healthy || s!.members.length !== controlPlanes.length);
  if (unhealthy.length) return fail(`etcd not formed: ${unhealthy.map((s) => `${s!.observedFrom} sees ${s!.members.length} member(s)${s!.healthy ? '' : ', unhealthy'}`).join('; ')}`, evidence);
  if (!leaders.etcd) return fail('etcd has no leader', evidence);
  return pass(evidence);
}

/** Who leads etcd (from any control plane that answers) and holds the controller-manager lease. */
async function currentLeaders(env: SuiteEnv, exclude: string[] = []): Promise<Leaders> {
  const leaders: Leaders = {};
  for (const cp of env.cluster.nodes.filter((n) => n.role === 'control-plane' && !exclude.includes(n.name))) {
    const status = await env.cluster.datastoreStatus?.(cp).catch(() => undefined);
    if (status?.leader) {
      leaders.etcd = status.leader;
      break;
    }
  }
  const lease = await env.access.getJson<{ spec?: { holderIdentity?: string } }>('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager').catch(() => undefined);
  const holder = lease?.spec?.holderIdentity?.split('_')[0];
  if (holder) leaders.controllerManager = holder;
  return leaders;
}

interface Probes {
  start: number;
  readyz: PeriodicProbe[];
  writes: WriteProbe;
  service?: PeriodicProbe;
}

function startProbes(env: SuiteEnv, label: string, probeNode: ClusterNode | undefined): Probes {
  const readyz = env.access.endpoints.map((_, index) => readyzProbe(env.access, index, PROBE_INTERVAL_MS).start());
  const writes = new WriteProbe(env.access, env.namespace, label, PROBE_INTERVAL_MS);
  writes.probe.start();
  const service = probeNode?.machine ? serviceProbe(probeNode, env.serviceIp, PROBE_INTERVAL_MS, Math.ceil(env.ctx.scaled(2_000) / 1000)).start() : undefined;
  return { start: Date.now(), readyz, writes, ...(service ? { service } : {}) };
}

async function runScenario(env: SuiteEnv, spec: ScenarioSpec): Promise<CheckOutcome> {
  const { ctx, cluster, budgets } = env;
  const controlPlanes = cluster.nodes.filter((n) => n.role === 'control-plane');
  const leadersBefore = await currentLeaders(env);
  const targets = spec.targets(controlPlanes, leadersBefore);
  const targetNames = targets.map((t) => t.name);
  for (const target of targets) {
    if (!target.machine) throw new PrerequisiteMissingError(`a machine handle for ${target.name}`, 'faults need the qemu, container or ssh backend');
  }
  // The workload is probed from a node that is not failed: a worker when there is one.
  const survivors = cluster.nodes.filter((n) => !targetNames.includes(n.name));
  const probeNode = survivors.find((n) => n.role === 'worker') ?? survivors[0];
  const probes = startProbes(env, spec.id.toLowerCase().replace(/[^a-z0-9]/g, ''), probeNode);
  const marks: Record<string, number> = {};
  const notes: string[] = [];
  const failed = new Set<ClusterNode>();
  const restore = async (target: ClusterNode) => {
    if (!failed.delete(target)) return;
    await spec.restore(target);
  };
  const noting = (error: unknown) => {
    notes.push(describeError(error));
    return Number.NaN;
  };
  let leadersDuring: Leaders = {};
  let eviction: Awaited<ReturnType<typeof diagnoseEviction>> | undefined;
  try {
    await sleep(5_000, ctx.signal);
    marks.fault = Date.now();
    for (const target of targets) {
      failed.add(target);
      await spec.inject(target, cluster.nodes.filter((n) => n !== target && n.machine).map((n) => n.machine!.address));
    }
    if (spec.quorumLoss) {
      await observeQuorumLoss(env, probes, marks, () => restore(targets[0]!));
    } else {
      marks.detected = await waitNodeCondition(env, targetNames, 'not-ready', budgets.detectMs).catch(noting);
      if (Number.isFinite(marks.detected)) {
        marks.rescheduled = await waitWorkload(env, targetNames, budgets.rescheduleMs).then(() => Date.now(), async (error: unknown) => {
          // Which link of the eviction chain broke: the evidence says, not a guess.
          eviction = await diagnoseEviction(env.access, env.namespace, `app=${WORKLOAD}`, targetNames);
          notes.push(`${describeError(error)}; why: ${eviction.cause}`);
          return Number.NaN;
        });
      }
      leadersDuring = await currentLeaders(env, targetNames);
      if (leadersDuring.etcd && targetNames.includes(leadersDuring.etcd)) notes.push(`etcd still names ${leadersDuring.etcd} leader`);
    }
    marks.restore = Date.now();
    for (const target of targets) await restore(target);
    marks.rejoined = await waitRejoined(env, targetNames, budgets.rejoinMs).catch(noting);
    await sleep(3_000, ctx.signal);
  } finally {
    for (const target of [...failed]) await restore(target).catch(() => undefined);
    await Promise.all([...probes.readyz, probes.writes.probe, ...(probes.service ? [probes.service] : [])].map((p) => p.stop()));
  }
  return judgeScenario(env, spec, { probes, marks, notes, targets: targetNames, leadersBefore, leadersDuring, probeNode: probeNode?.name, eviction });
}

/** Two members down: writes must stop being acknowledged, and resume once one member is back. */
async function observeQuorumLoss(env: SuiteEnv, probes: Probes, marks: Record<string, number>, restoreOne: () => Promise<void>): Promise<void> {
  const { ctx } = env;
  // A write already in flight when quorum went may still be acknowledged: judge from a grace period on.
  await sleep(ctx.scaled(10_000), ctx.signal);
  marks.quorumJudgedFrom = Date.now();
  await sleep(ctx.scaled(15_000), ctx.signal);
  marks.firstBack = Date.now();
  await restoreOne();
  const writesBefore = probes.writes.acknowledged.length;
  marks.writesResumed = await waitFor(
    async () => {
      const next = probes.writes.acknowledged.slice(writesBefore).find((w) => w.t >= marks.firstBack!);
      return next ? { done: true, value: next.t } : { done: false, observed: probes.writes.probe.samples.at(-1)?.detail ?? 'no write yet' };
    },
    { what: 'writes acknowledged again after one member returned', budgetMs: env.budgets.quorumRecoverMs, pollMs: 500, signal: ctx.signal },
  ).catch(() => Number.NaN);
}

interface ScenarioRecord {
  probes: Probes;
  marks: Record<string, number>;
  notes: string[];
  targets: string[];
  leadersBefore: Leaders;
  leadersDuring: Leaders;
  probeNode?: string;
  eviction?: { cause: string; facts?: EvictionFacts };
}

async function judgeScenario(env: SuiteEnv, spec: ScenarioSpec, record: ScenarioRecord): Promise<CheckOutcome> {
  const { ctx, budgets } = env;
  const { probes, marks, notes, targets } = record;
  const end = Date.now();
  const from = marks.fault!;
  const anyApi = anyOf(probes.readyz.map((p) => p.samples), probes.start, PROBE_INTERVAL_MS);
  const api = outageStats(anyApi, from, end);
  const perEndpoint = Object.fromEntries(probes.readyz.map((p) => [p.name.replace('readyz ', ''), summarize(outageStats(p.samples, from, end))]));
  const writes = outageStats(probes.writes.probe.samples, from, end);
  const lost = await probes.writes.lost().catch((error: unknown) => {
    notes.push(`could not list the writes afterwards: ${describeError(error)}`);
    return undefined;
  });
  const service = probes.service ? outageStats(probes.service.samples, from, end) : undefined;
  const recoveredAt = Math.max(api.recoveredAt ?? from, writes.recoveredAt ?? from);
  const figures = {
    longestOutageMs: Math.max(api.longestOutageMs, writes.longestOutageMs),
    availabilityPct: round(api.availabilityPct),
    lostWrites: lost?.length ?? Number.NaN,
    timeToDetectMs: (marks.detected ?? Number.NaN) - from,
    timeToRecoverMs: spec.quorumLoss ? (marks.writesResumed ?? Number.NaN) - (marks.firstBack ?? Number.NaN) : recoveredAt - from,
    timeToRejoinMs: (marks.rejoined ?? Number.NaN) - (marks.restore ?? Number.NaN),
  };
  emitFigures(ctx, spec.id, targets.join(','), figures);
  const acknowledgedWithoutQuorum = spec.quorumLoss
    // Judged by when the acknowledgement came: a write sent without quorum may legitimately commit once a member returns.
    ? probes.writes.acknowledged.filter((w) => w.ackedAt >= marks.quorumJudgedFrom! && w.ackedAt < marks.firstBack!)
    : [];
  const evidence = {
    targets, probedFrom: record.probeNode, leadersBefore: record.leadersBefore, leadersDuring: record.leadersDuring, figures,
    marks: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, typeof v === 'number' ? v - probes.start : v])),
    api: { anyEndpoint: summarize(api), perEndpoint },
    writes: { ...summarize(writes), acknowledged: probes.writes.acknowledged.length, lost: lost ?? 'unknown', ...(spec.quorumLoss ? { acknowledgedWithoutQuorum: acknowledgedWithoutQuorum.map((w) => w.name) } : {}) },
    ...(service ? { service: summarize(service) } : {}),
    timelines: {
      origin: probes.start,
      apiAny: timeline(anyApi, probes.start),
      writes: timeline(probes.writes.probe.samples, probes.start),
      ...(probes.service ? { service: timeline(probes.service.samples, probes.start) } : {}),
    },
    budgets,
    notes,
    ...(record.eviction ? { eviction: record.eviction } : {}),
  };
  const problems = verdictProblems(spec, figures, budgets, acknowledgedWithoutQuorum.length, marks);
  problems.push(...notes);
  return problems.length ? fail(problems.join('; '), evidence) : pass(evidence);
}

function verdictProblems(spec: ScenarioSpec, figures: Record<string, number>, budgets: HaBudgets, writesWithoutQuorum: number, marks: Record<string, number>): string[] {
  const problems: string[] = [];
  if (!(figures.lostWrites! <= budgets.lostWrites)) problems.push(`${Number.isNaN(figures.lostWrites) ? 'unknown number of' : figures.lostWrites} acknowledged write(s) lost (budget ${budgets.lostWrites})`);
  if (!Number.isFinite(figures.timeToRejoinMs)) problems.push('the failed node did not rejoin');
  if (spec.quorumLoss) {
    if (writesWithoutQuorum > 0) problems.push(`${writesWithoutQuorum} write(s) acknowledged without quorum`);
    if (!Number.isFinite(marks.writesResumed)) problems.push(`writes did not resume within ${formatMs(budgets.quorumRecoverMs)} of one member returning`);
    return problems;
  }
  if (figures.longestOutageMs! > budgets.longestOutageMs) problems.push(`longest API outage ${formatMs(figures.longestOutageMs!)} > budget ${formatMs(budgets.longestOutageMs)}`);
  if (!Number.isFinite(figures.timeToDetectMs)) problems.push('the failed node was never seen NotReady');
  else if (!Number.isFinite(marks.rescheduled)) problems.push('its pods were not rescheduled');
  return problems;
}

function emitFigures(ctx: RunContext, id: string, node: string, figures: Record<string, number>): void {
  const units: Record<string, [string, string]> = {
    longestOutageMs: ['longest-outage', 'ms'], availabilityPct: ['availability', '%'], lostWrites: ['lost-writes', 'count'],
    timeToDetectMs: ['time-to-detect', 'ms'], timeToRecoverMs: ['time-to-recover', 'ms'], timeToRejoinMs: ['time-to-rejoin', 'ms'],
  };
  for (const [key, value] of Object.entries(figures)) {
    if (!Number.isFinite(value)) continue;
    const [name, unit] = units[key]!;
    ctx.events.emit({ type: 'measurement', id: `${id}/${name}`, suite: SUITE, name: `${id} ${name.replaceAll('-', ' ')}`, unit, value: Math.round(value * 100) / 100, node });
  }
}

function summarize(stats: ReturnType<typeof outageStats>): Record<string, number> {
  return { samples: stats.samples, failed: stats.failed, availabilityPct: round(stats.availabilityPct), longestOutageMs: stats.longestOutageMs };
}

const round = (n: number) => Math.round(n * 100) / 100;

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string; lastHeartbeatTime?: string }[] } }[];
}

/** Waits until every named node is NotReady / Ready as seen through a live control plane; resolves to when it was seen. */
async function waitNodeCondition(env: SuiteEnv, names: string[], want: 'ready' | 'not-ready', budgetMs: number, after = 0): Promise<number> {
  return waitFor(
    async () => {
      const nodes = await env.access.getJson<NodeList>('/api/v1/nodes');
      const states = names.map((name) => {
        const ready = nodes.items.find((n) => n.metadata.name === name)?.status?.conditions?.find((c) => c.type === 'Ready');
        const fresh = !after || (ready?.lastHeartbeatTime !== undefined && Date.parse(ready.lastHeartbeatTime) >= after - 1000);
        return { name, ok: want === 'ready' ? ready?.status === 'True' && fresh : ready?.status !== 'True' };
      });
      return states.every((s) => s.ok) ? { done: true, value: Date.now() } : { done: false, observed: states.map((s) => `${s.name}: ${s.ok ? 'as wanted' : 'not yet'}`).join(', ') };
    },
    { what: `node(s) ${names.join(', ')} ${want === 'ready' ? 'Ready' : 'NotReady'}`, budgetMs, pollMs: 1000, signal: env.ctx.signal },
  );
}

interface PodList {
  items: { metadata: { name: string; deletionTimestamp?: string }; spec?: { nodeName?: string }; status?: { phase?: string; conditions?: { type: string; status: string }[] } }[];
}

/** All replicas Ready, none on a failed node: the workload survived (pods rescheduled). Resolves to the placement. */
async function waitWorkload(env: SuiteEnv, avoid: string[], budgetMs: number): Promise<Record<string, string>> {
  return waitFor(
    async () => {
      const pods = await env.access.getJson<PodList>(`/api/v1/namespaces/${env.namespace}/pods?labelSelector=${encodeURIComponent(`app=${WORKLOAD}`)}`);
      const ready = pods.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !avoid.includes(p.spec?.nodeName ?? ''));
      const placement = Object.fromEntries(ready.map((p) => [p.metadata.name, p.spec?.nodeName ?? '']));
      if (ready.length >= env.replicas) return { done: true, value: placement };
      // The others, so a failure says whether eviction, scheduling or start-up is stuck.
      const others = pods.items.filter((p) => !ready.includes(p)).map((p) => `${p.metadata.name} on ${p.spec?.nodeName || '(unscheduled)'}: ${p.status?.phase ?? '?'}${p.metadata.deletionTimestamp ? ', deleting' : ''}`);
      return { done: false, observed: `${ready.length}/${env.replicas} replicas Ready off ${avoid.join(',') || 'no node'}; others: ${others.join('; ') || 'none (no replacement created)'}` };
    },
    { what: `workload Ready${avoid.length ? ` without ${avoid.join(', ')}` : ''}`, budgetMs, pollMs: 1000, signal: env.ctx.signal },
  );
}

/** The restored nodes report Ready again and every control plane sees a healthy, full etcd with one leader. */
async function waitRejoined(env: SuiteEnv, names: string[], budgetMs: number): Promise<number> {
  const started = Date.now();
  await waitNodeCondition(env, names, 'ready', budgetMs, started);
  const controlPlanes = env.cluster.nodes.filter((n) => n.role === 'control-plane');
  return waitFor(
    async () => {
      const statuses = await Promise.all(controlPlanes.map((cp) => env.cluster.datastoreStatus!(cp).catch(() => undefined)));
      const leaders = new Set(statuses.map((s) => s?.leader));
      const healthy = statuses.every((s) => s?.healthy && s.members.length === controlPlanes.length) && leaders.size === 1 && !leaders.has(undefined);
      return healthy ? { done: true, value: Date.now() } : { done: false, observed: statuses.map((s, i) => `${controlPlanes[i]!.name}: ${s ? `${s.healthy ? 'healthy' : 'unhealthy'}, leader ${s.leader ?? '?'}` : 'no answer'}`).join('; ') };
    },
    { what: 'etcd healthy with every member and one leader', budgetMs: Math.max(1000, budgetMs - (Date.now() - started)), pollMs: 1000, signal: env.ctx.signal },
  );
}

/** HA-5: nothing diverged: every node Ready, a full etcd, and the same objects through every endpoint (no split brain). */
async function finalConsistency(env: SuiteEnv): Promise<CheckOutcome> {
  await waitRejoined(env, env.cluster.nodes.map((n) => n.name), env.budgets.rejoinMs);
  const counts: Record<string, number> = {};
  for (const [index, { endpoint }] of env.access.endpoints.entries()) {
    const list = await env.access.getJsonVia<{ items: unknown[] }>(index, `/api/v1/namespaces/${env.namespace}/configmaps`);
    counts[endpoint.node] = list.items.length;
  }
  const distinct = new Set(Object.values(counts));
  return distinct.size === 1 ? pass({ configMapsPerEndpoint: counts }) : fail(`control planes disagree on the objects: ${JSON.stringify(counts)}`, { configMapsPerEndpoint: counts });
}

export type { ProbeSample };
