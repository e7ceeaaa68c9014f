import { CoordinationV1Api } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { once } from '../core/scope.js';
import { waitFor } from '../core/wait.js';
import type { ClusterNode, StartedCluster } from '../cluster/distribution.js';
import type { Machine } from '../emulation/machine.js';
import { fail, notApplicable, pass, runCheck, skipped, type CheckOutcome } from './check.js';
import { kube, kubeClients, type KubeClients } from '../cluster/kube-access.js';
import { podsHealthy } from './smoke.js';
import { createNamespace, deleteNamespace, describePods, isPodReady, runNamespace } from './suite-kit.js';
import { webDeployment } from './workloads.js';
import { applyCommand, parseApply, parseProbe, parseSnapshot, planCut, probeCommand, restoreCommand, snapshotCommand, type CutPlan, type ProbeResult } from './airgap-plan.js';
import { DEFAULT_OUTSIDE_TARGET, PRIVATE_NETWORKS, reached, routeSpec, type OutsideTarget } from './route-table.js';

const SUITE = 'airgap';
const PROBE_TIMEOUT_S = 5;

export interface AirgapOptions {
  /** Addresses the cut-off nodes must fail to reach (default: a documentation address). */
  targets?: OutsideTarget[];
}

/** One node while it is cut off: what was there, what went, and the way back. */
interface CutNode {
  node: ClusterNode & { machine: Machine };
  before: string[];
  plan: CutPlan;
  failures: { command: string; message: string }[];
  during: string[];
  probes: ProbeResult[];
}

/**
 * BOOT-6, the air-gap proof (MicroK8s' pattern: remove the default route,
 * then an outside address must fail), on every node at once: each node loses
 * every route off it except the cluster's own networks, an outside address
 * must then be unreachable, and the cluster must keep working (nodes Ready
 * with fresh heartbeats, a new workload Running from local images). Routes
 * come back afterwards, also on interrupt (the restore is in the run's scope)
 * and even if the harness dies (a dead-man timer on the node).
 */
export async function runAirgapSuite(ctx: RunContext, cluster: StartedCluster, options: AirgapOptions = {}): Promise<CheckOutcome[]> {
  const targets = options.targets?.length ? options.targets : [DEFAULT_OUTSIDE_TARGET];
  const outcomes: CheckOutcome[] = [];
  const check = async (id: string, name: string, body: () => Promise<CheckOutcome>) => {
    const outcome = await runCheck(ctx, { id, suite: SUITE, name }, body);
    outcomes.push(outcome);
    return outcome;
  };
  const ids = [
    ['BOOT-6', 'with every route off the nodes removed, an outside address cannot be reached'],
    ['BOOT-6/nodes-ready', 'nodes stay Ready and heartbeat while cut off (BOOT-1)'],
    ['BOOT-6/workload', 'a new workload runs from local images while cut off; no pod failing (BOOT-2)'],
    ['BOOT-6/restored', 'the routes are back as they were'],
  ] as const;
  const unreachable = cluster.nodes.filter((n) => !n.machine);
  if (unreachable.length > 0) {
    const reason = `no node handle for ${unreachable.map((n) => n.name).join(', ')} (the existing backend cannot change a node's routes)`;
    for (const [id, name] of ids) await check(id, name, async () => notApplicable(reason));
    return outcomes;
  }
  const clients = kubeClients(cluster.kubeConfig());
  const restores: Restore[] = [];
  let cut: CutNode[] = [];
  let leases = new Map<string, number>();
  try {
    const proof = await check(ids[0][0], ids[0][1], async () => {
      cut = await cutOff(ctx, cluster, clients, targets, restores);
      // Read once every node is cut: a renewal later than these happened without a route off the node.
      leases = await leaseRenewals(cluster);
      return judgeCut(cut, targets);
    });
    if (cut.length === 0) {
      for (const [id, name] of ids.slice(1, 3)) await check(id, name, async () => skipped(`${ids[0][0]} could not cut the nodes off: ${proof.reason ?? ''}`));
    } else {
      await check(ids[1][0], ids[1][1], () => nodesHeartbeat(ctx, cluster, leases));
      await check(ids[2][0], ids[2][1], () => workloadWhileCut(ctx, clients, cluster));
    }
  } finally {
    // Every node whose restore was registered, also when the cut failed half-way.
    const restored = await Promise.allSettled(restores.map((r) => r.restore()));
    if (!ctx.signal.aborted && restores.length > 0) await check(ids[3][0], ids[3][1], async () => judgeRestore(restores, restored));
  }
  return outcomes;
}

/** A node's way back: idempotent, registered in the run's scope before any of its routes goes. */
interface Restore {
  node: string;
  before: string[];
  restore: () => Promise<string[]>;
}

/** Snapshot, plan and cut every node at once; each node's restore is registered (here and in the run's scope) before its routes go. */
async function cutOff(ctx: RunContext, cluster: StartedCluster, clients: KubeClients, targets: OutsideTarget[], restores: Restore[]): Promise<CutNode[]> {
  const nodes = cluster.nodes as (ClusterNode & { machine: Machine })[];
  const addresses = nodes.map((n) => n.machine.address);
  const podCidrs = (await kube('list nodes', () => clients.core.listNode())).items.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []));
  const keepNetworks = [...PRIVATE_NETWORKS, ...podCidrs];
  const deadManS = ctx.scaled(10 * 60_000) / 1000 + 60;
  const exec = (machine: Machine, command: string, signal: AbortSignal) => machine.exec(command, { timeoutMs: ctx.scaled(30_000), check: false, signal });

  return Promise.all(
    nodes.map(async (node) => {
      const others = addresses.filter((a) => a !== node.machine.address);
      const snapshot = parseSnapshot((await exec(node.machine, snapshotCommand(others), ctx.signal)).stdout);
      const plan = planCut(snapshot, keepNetworks);
      const before = snapshot.routes.map(routeSpec);
      let deadManPid: number | undefined;
      let after: string[] = [];
      // A fresh budget: on interrupt the run's signal is already aborted.
      const restore = once(async () => {
        const out = await exec(node.machine, restoreCommand(plan, deadManPid), AbortSignal.timeout(ctx.scaled(30_000)));
        after = parseSnapshot(out.stdout).routes.map(routeSpec);
      });
      ctx.scope.defer(`restore routes on ${node.name}`, restore);
      restores.push({ node: node.name, before, restore: async () => (await restore(), after) });
      const applied = parseApply((await exec(node.machine, applyCommand(plan, deadManS), ctx.signal)).stdout, plan);
      deadManPid = applied.deadManPid;
      ctx.events.emit({ type: 'fault', node: node.name, fault: 'airgap', detail: `removed ${plan.removed.length} route(s) off the node, pinned ${plan.pins.length}` });
      const during = parseSnapshot((await exec(node.machine, snapshotCommand([]), ctx.signal)).stdout).routes.map(routeSpec);
      const probeBudget = ctx.scaled(30_000) + targets.length * (PROBE_TIMEOUT_S + 5) * 1000;
      const probed = await node.machine.exec(probeCommand(targets, PROBE_TIMEOUT_S), { timeoutMs: probeBudget, check: false, signal: ctx.signal });
      return { node, before, plan, failures: applied.failures, during, probes: parseProbe(probed.stdout, targets) };
    }),
  );
}

/** Pass only when no node reached any target and no node still has a route to one. */
export function judgeCut(cut: CutNode[], targets: OutsideTarget[]): CheckOutcome {
  const evidence = {
    targets: targets.map((t) => `${t.address}:${t.port}`),
    nodes: Object.fromEntries(
      cut.map((c) => [
        c.node.name,
        { routesBefore: c.before, removed: c.plan.removed.map(routeSpec), pinned: c.plan.pins.map((p) => p.spec), routesDuring: c.during, probes: c.probes, ...(c.failures.length ? { failures: c.failures } : {}) },
      ]),
    ),
  };
  const problems: string[] = [];
  for (const c of cut) {
    for (const f of c.failures) problems.push(`${c.node.name}: \`${f.command}\` failed: ${f.message}`);
    for (const p of c.probes) {
      if (reached(p.outcome)) problems.push(`${c.node.name} reached ${p.target} (${p.outcome}${p.message ? `: ${p.message}` : ''}): traffic gets out`);
      else if (p.route.routed) {
        problems.push(
          p.route.via
            ? `${c.node.name} still routes ${p.target} through ${p.route.via} (${p.route.detail}); it did not answer (${p.outcome}), which proves nothing`
            : `${c.node.name} has ${p.target} on its own network (${p.route.detail}), which the air gap keeps: choose an address outside`,
        );
      }
    }
  }
  if (problems.length) return fail(problems.join('; '), evidence);
  const removed = cut.reduce((n, c) => n + c.plan.removed.length, 0);
  return pass({ ...evidence, summary: `${removed} route(s) removed on ${cut.length} node(s); every target unreachable (${[...new Set(cut.flatMap((c) => c.probes.map((p) => p.outcome)))].join(', ')})` });
}

/** The kubelet's heartbeat is its Lease (renewed every 10 s since 1.17): the renew times when the cut starts. */
async function leaseRenewals(cluster: StartedCluster): Promise<Map<string, number>> {
  const coordination = cluster.kubeConfig().makeApiClient(CoordinationV1Api);
  const renewals = new Map<string, number>();
  for (const node of cluster.nodes) {
    const lease = await coordination.readNamespacedLease({ name: node.name, namespace: 'kube-node-lease' }).catch(() => undefined);
    renewals.set(node.name, lease?.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0);
  }
  return renewals;
}

/** Every node Ready, and its Lease renewed after the cut began (times from the node's own clock, compared with themselves). */
async function nodesHeartbeat(ctx: RunContext, cluster: StartedCluster, before: Map<string, number>): Promise<CheckOutcome> {
  const coordination = cluster.kubeConfig().makeApiClient(CoordinationV1Api);
  const clients = kubeClients(cluster.kubeConfig());
  const renewed = await waitFor(
    async () => {
      const list = await kube('list nodes', () => clients.core.listNode());
      const ready = new Set(list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata!.name!));
      const times: Record<string, string> = {};
      const waiting: string[] = [];
      for (const node of cluster.nodes) {
        const lease = await coordination.readNamespacedLease({ name: node.name, namespace: 'kube-node-lease' }).catch(() => undefined);
        const renewTime = lease?.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
        times[node.name] = lease?.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : 'none';
        if (!ready.has(node.name) || renewTime <= (before.get(node.name) ?? 0)) waiting.push(`${node.name} (${ready.has(node.name) ? 'Ready' : 'not Ready'}, lease ${times[node.name]})`);
      }
      return waiting.length === 0 ? { done: true as const, value: times } : { done: false as const, observed: `waiting for ${waiting.join(', ')}` };
    },
    { what: 'every node Ready with its lease renewed after the cut', budgetMs: ctx.scaled(60_000), pollMs: 2000, signal: ctx.signal },
  );
  return pass({ leaseRenewedAt: renewed, leaseBefore: Object.fromEntries([...before].map(([n, t]) => [n, t ? new Date(t).toISOString() : 'none'])) });
}

/** A Deployment started while cut off runs from the images on the nodes; then no pod anywhere is failing. */
async function workloadWhileCut(ctx: RunContext, clients: KubeClients, cluster: StartedCluster): Promise<CheckOutcome> {
  // Its own namespace per cut: the suite may run more than once in a run (a namespace still terminating is refused).
  const namespace = runNamespace(ctx, `${SUITE}-${Date.now().toString(36)}`);
  await createNamespace(clients, namespace, ctx.scaled(60_000));
  try {
    const replicas = cluster.nodes.length;
    await kube('create deployment', () => clients.apps.createNamespacedDeployment({ namespace, body: webDeployment('ep-airgap-web', cluster.workloadImage, replicas) }));
    const started = Date.now();
    const pods = await waitFor(
      async () => {
        const list = await kube('list pods', () => clients.core.listNamespacedPod({ namespace, labelSelector: 'app=ep-airgap-web' }));
        const ready = list.items.filter(isPodReady);
        return ready.length === replicas ? { done: true as const, value: ready } : { done: false as const, observed: describePods(list.items) };
      },
      { what: `${replicas} pod(s) of ${cluster.workloadImage} Ready while cut off`, budgetMs: ctx.scaled(90_000), pollMs: 1000, signal: ctx.signal },
    );
    const health = await podsHealthy(clients);
    const evidence = { image: cluster.workloadImage, pods: pods.map((p) => `${p.metadata!.name} on ${p.spec!.nodeName}`), readyMs: Date.now() - started, ...health.evidence };
    return health.verdict === 'pass' ? pass(evidence) : fail(health.reason ?? 'a pod is failing', evidence);
  } finally {
    await deleteNamespace(clients, namespace);
  }
}

/** Each node's table after the restore must hold every route it had before (the kernel may have added its own since). */
function judgeRestore(restores: Restore[], restored: PromiseSettledResult<string[]>[]): CheckOutcome {
  const evidence: Record<string, unknown> = {};
  const problems: string[] = [];
  restores.forEach((r, i) => {
    const result = restored[i]!;
    if (result.status === 'rejected') {
      problems.push(`${r.node}: restore failed: ${describeError(result.reason)}`);
      return;
    }
    const missing = r.before.filter((line) => !result.value.includes(line));
    evidence[r.node] = { routesBefore: r.before, routesAfter: result.value, ...(missing.length ? { missing } : {}) };
    if (missing.length) problems.push(`${r.node} lacks ${missing.join(', ')}`);
  });
  return problems.length ? fail(problems.join('; '), evidence) : pass(evidence);
}
