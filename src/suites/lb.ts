import type { CoreV1Event, V1Service } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { RunContext } from '../core/context.js';
import { formatMs } from '../core/errors.js';
import { sleep, waitFor } from '../core/wait.js';
import { EDGEPROOF_POOL, addonSpec, type AddonRequest } from '../cluster/addons/catalog.js';
import { parseIpv4Pool, poolContains, type Ipv4Block } from '../cluster/addons/ip-ranges.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, notApplicable, pass, type CheckOutcome } from './check.js';
import { canPowerOff, canPowerOn, powerOffNode, powerOnNode } from './faults.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import { kube } from '../cluster/kube-access.js';
import { hostHttpGet, hostReachesNodes, type HostAnswer } from './outside.js';
import { deployWebAndWait, nodeInfos, SuiteRun, unlessTimeout, type CheckRef } from './suite-kit.js';
import { MANAGED_BY } from './workloads.js';

export const LB_CHECKS = {
  address: { id: 'LB-1', name: 'a LoadBalancer Service gets an address (from the pool, for MetalLB)' },
  http: { id: 'LB-2', name: 'HTTP 200 with the pod marker at the LB address, from outside the cluster' },
  serviceLb: { id: 'LB-3', name: 'K3s ServiceLB answers on every node address' },
  failover: { id: 'LB-4', name: 'the LB address answers again after its announcing node is powered off' },
} satisfies Record<string, CheckRef>;

export interface LbOptions extends AddonGateOptions {
  /** Base budgets (scaled by the run): address assignment (LB-1, 5 min), HTTP (LB-2/3, 3 min), recovery (LB-4, 2 min). */
  addressBudgetMs?: number;
  httpBudgetMs?: number;
  failoverBudgetMs?: number;
  /** Power off the announcing node for LB-4 (default true when a node can be powered off). */
  faults?: boolean;
}

const WEB = 'ep-lb-web';
const SERVICE = 'ep-lb';

/**
 * Load balancer suite: an address is assigned (LB-1), it answers HTTP from
 * outside the cluster (LB-2), K3s ServiceLB on every node (LB-3), and the
 * address survives the loss of the node announcing it (LB-4).
 */
export async function runLbSuite(ctx: RunContext, cluster: StartedCluster, options: LbOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'lb');
  const gate = await gateArea(run, [addonSpec('metallb'), addonSpec('servicelb')], options);
  if (!gate.ready) {
    await run.notRun(Object.values(LB_CHECKS), gate.verdict, gate.reason, gate.evidence);
    return run.outcomes;
  }
  const metallb = gate.addon.name === 'metallb';
  await run.withNamespace('svc', async (namespace) => {
    const pool = metallb ? await metallbPool(run, options.requests) : undefined;
    const address = await run.check(LB_CHECKS.address, () =>
      loadBalancerAddress(run, namespace, { budgetMs: ctx.scaled(options.addressBudgetMs ?? 300_000), ...(pool ? { pool } : {}), usePoolAnnotation: pool?.ours ?? false }));
    if (address.verdict !== 'pass') {
      await run.notRun([LB_CHECKS.http, LB_CHECKS.serviceLb, LB_CHECKS.failover], 'skipped', `${LB_CHECKS.address.id} did not pass: ${address.reason}`);
      return;
    }
    const ip = address.evidence.ip as string;
    const httpBudget = ctx.scaled(options.httpBudgetMs ?? 180_000);
    await deployWebAndWait(run, namespace, WEB, 2, httpBudget);
    const reach = await hostReachesNodes(await nodeInfos(run.clients), 3_000);
    const outside = reach.reachable ? undefined : `the harness host cannot reach the node network (${Object.values(reach.evidence).join('; ')}), so nothing here is "outside the cluster"`;
    await run.check(LB_CHECKS.http, async () => (outside ? notApplicable(outside, reach.evidence) : httpFromHost(run.ctx, ip, 80, httpBudget)));
    await run.check(LB_CHECKS.serviceLb, async () =>
      metallb ? notApplicable('ServiceLB is K3s\' load balancer; this cluster uses MetalLB') : outside ? notApplicable(outside) : serviceLbOnEveryNode(run, namespace, httpBudget));
    await run.check(LB_CHECKS.failover, async () =>
      !metallb ? notApplicable('failover of an announcing node is a MetalLB layer-2 property') : outside ? notApplicable(outside) : failover(run, namespace, ip, options));
  });
  return run.outcomes;
}

export function loadBalancerService(name: string, selectorApp: string, annotations: Record<string, string> = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: MANAGED_BY, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { type: 'LoadBalancer', selector: { app: selectorApp }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

/**
 * LB-1: creates a LoadBalancer Service and waits for a controller to give it
 * an address. Without a controller it fails saying no address came within
 * the budget (the negative control on a bare cluster); with a pool, an
 * address outside it fails too.
 */
export async function loadBalancerAddress(run: SuiteRun, namespace: string, options: { budgetMs: number; pool?: { blocks: Ipv4Block[]; source: string }; usePoolAnnotation?: boolean }): Promise<CheckOutcome> {
  const started = Date.now();
  const annotations: Record<string, string> = options.usePoolAnnotation ? { 'metallb.universe.tf/address-pool': EDGEPROOF_POOL } : {};
  const created = await kube('create LoadBalancer service', () => run.clients.core.createNamespacedService({ namespace, body: loadBalancerService(SERVICE, WEB, annotations) }));
  const nodePort = created.spec?.ports?.[0]?.nodePort;
  let last: V1Service = created;
  const ingress = await unlessTimeout(
    waitFor(
    async () => {
      last = await kube('read service', () => run.clients.core.readNamespacedService({ name: SERVICE, namespace }));
      const first = last.status?.loadBalancer?.ingress?.[0];
      return first?.ip || first?.hostname ? { done: true as const, value: first } : { done: false as const, observed: `status.loadBalancer ${JSON.stringify(last.status?.loadBalancer ?? {})}` };
    },
      { what: 'a load-balancer address', budgetMs: options.budgetMs, pollMs: 2000, signal: run.ctx.signal },
    ),
    () => undefined,
  );
  const events = await serviceEvents(run, namespace, SERVICE);
  const evidence = { service: `${namespace}/${SERVICE}`, nodePort, budgetMs: options.budgetMs, events: events.map((e) => `${e.reason}: ${e.message}`).slice(-5) };
  if (!ingress) {
    return fail(`no controller assigned an address to LoadBalancer Service ${namespace}/${SERVICE} within ${formatMs(options.budgetMs)}: status.loadBalancer stayed ${JSON.stringify(last.status?.loadBalancer ?? {})} (nodePort ${nodePort ?? 'none'} was allocated)`, evidence);
  }
  const ip = ingress.ip ?? ingress.hostname!;
  const full = { ...evidence, ip, allAddresses: last.status?.loadBalancer?.ingress?.map((i) => i.ip ?? i.hostname), assignedAfterMs: Date.now() - started, announcingNode: announcingNode(events) };
  if (options.pool && !poolContains(options.pool.blocks, ip)) return fail(`address ${ip} is outside the pool ${options.pool.blocks.map((b) => b.text).join(',')} (${options.pool.source})`, { ...full, pool: options.pool.source });
  return pass({ ...full, ...(options.pool ? { pool: `${options.pool.blocks.map((b) => b.text).join(',')} (${options.pool.source})` } : {}) });
}

/** The pool the addressed must come from: the one requested, else what the cluster's MetalLB is configured with. */
async function metallbPool(run: SuiteRun, requests: AddonRequest[] | undefined): Promise<{ blocks: Ipv4Block[]; source: string; ours: boolean } | undefined> {
  const requested = requests?.find((r) => r.addon.name === 'metallb')?.args;
  if (requested) return { blocks: requested.blocks, source: 'requested', ours: true };
  const pools = await kube('list IPAddressPools', () => run.clients.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: 'metallb-system', plural: 'ipaddresspools' })).catch(() => undefined);
  const addresses = ((pools as { items?: { spec?: { addresses?: string[] } }[] } | undefined)?.items ?? []).flatMap((p) => p.spec?.addresses ?? []);
  if (addresses.length) return { blocks: ipv4Only(addresses), source: 'IPAddressPools in metallb-system', ours: false };
  // MetalLB < 0.13 (minikube's addon): a ConfigMap `config` with address-pools.
  const legacy = await kube('read metallb config', () => run.clients.core.readNamespacedConfigMap({ name: 'config', namespace: 'metallb-system' })).catch(() => undefined);
  const config = legacy?.data?.config ? (parse(legacy.data.config) as { 'address-pools'?: { addresses?: string[] }[] }) : undefined;
  const legacyAddresses = (config?.['address-pools'] ?? []).flatMap((p) => p.addresses ?? []);
  return legacyAddresses.length ? { blocks: ipv4Only(legacyAddresses.map((a) => a.replace(/\s*-\s*/, '-'))), source: 'ConfigMap metallb-system/config', ours: false } : undefined;
}

function ipv4Only(addresses: string[]): Ipv4Block[] {
  return addresses.filter((a) => !a.includes(':')).flatMap((a) => parseIpv4Pool(a));
}

async function serviceEvents(run: SuiteRun, namespace: string, name: string): Promise<CoreV1Event[]> {
  const list = await kube('list events', () => run.clients.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).catch(() => undefined);
  return list?.items ?? [];
}

/** MetalLB's speaker records `announcing from node "X" with protocol "layer2"` on the Service. */
export function announcingNode(events: { reason?: string; message?: string }[]): string | undefined {
  for (const event of [...events].reverse()) {
    const match = /announcing from node "([^"]+)"/.exec(event.message ?? '');
    if (match) return match[1];
  }
  return undefined;
}

/** Polls http://address:port/ from the host until it answers 200 with the marker, within the budget. */
export async function httpFromHost(ctx: RunContext, address: string, port: number, budgetMs: number, hostHeader?: string): Promise<CheckOutcome> {
  const deadline = Date.now() + budgetMs;
  let last: HostAnswer = { body: '', error: 'not tried', elapsedMs: 0 };
  let tries = 0;
  while (Date.now() < deadline) {
    tries++;
    last = await hostHttpGet(address, port, { timeoutMs: Math.min(10_000, Math.max(1_000, deadline - Date.now())), ...(hostHeader ? { hostHeader } : {}) });
    if (last.status === 200 && last.body.includes('edgeproof-marker')) return pass({ url: `http://${address}:${port}/`, ...(hostHeader ? { hostHeader } : {}), status: 200, body: last.body.slice(0, 120), tries, elapsedMs: last.elapsedMs });
    await sleep(2_000, ctx.signal);
  }
  const seen = last.status ? `HTTP ${last.status}: ${last.body.slice(0, 120)}` : last.error;
  return fail(`http://${address}:${port}/${hostHeader ? ` (Host: ${hostHeader})` : ''} gave no 200 with the marker from the host within ${formatMs(budgetMs)}; last: ${seen}`, { tries, last });
}

async function serviceLbOnEveryNode(run: SuiteRun, namespace: string, budgetMs: number): Promise<CheckOutcome> {
  const nodes = (await nodeInfos(run.clients)).filter((n) => n.ready && n.internalIp);
  const results: Record<string, CheckOutcome> = {};
  for (const node of nodes) results[node.name] = await httpFromHost(run.ctx, node.internalIp!, 80, budgetMs);
  const failed = Object.entries(results).filter(([, o]) => o.verdict !== 'pass');
  const evidence = { namespace, nodes: Object.fromEntries(Object.entries(results).map(([n, o]) => [n, o.verdict === 'pass' ? o.evidence.body : o.reason])) };
  return failed.length === 0 ? pass(evidence) : fail(`ServiceLB did not answer on ${failed.map(([n]) => n).join(', ')}: ${failed[0]![1].reason}`, evidence);
}

/**
 * LB-4: probes the address from the host every second, powers off the node
 * announcing it, and measures the outage until it answers again.
 */
async function failover(run: SuiteRun, namespace: string, ip: string, options: LbOptions): Promise<CheckOutcome> {
  const { ctx, cluster } = run;
  if (options.faults === false) return notApplicable('faults are off for this run');
  const announcer = announcingNode(await serviceEvents(run, namespace, SERVICE));
  if (!announcer) return notApplicable('MetalLB recorded no "announcing from node" event (BGP mode, or an older speaker): the node to fail is unknown');
  const node = cluster.nodes.find((n) => n.name === announcer);
  if (!node || !canPowerOff(node)) return notApplicable(`the announcing node ${announcer} cannot be powered off from here (no power-off capability)`);
  const controlPlanes = cluster.nodes.filter((n) => n.role === 'control-plane').length;
  if (node.role === 'control-plane' && controlPlanes < 3) return notApplicable(`the announcing node ${announcer} is one of ${controlPlanes} control plane(s): powering it off would take the API down, not test the LB`);

  const budgetMs = ctx.scaled(options.failoverBudgetMs ?? 120_000);
  await powerOffNode(ctx, node, `LB-4: fail the node announcing ${ip}`);
  const cutAt = Date.now();
  // Recovered = 3 answers in a row; the outage runs from the first failure to the first answer of that streak.
  let firstFailureAt: number | undefined;
  let streakStart: number | undefined;
  let streak = 0;
  let recoveredAt: number | undefined;
  let probes = 0;
  let last: HostAnswer | undefined;
  while (Date.now() - cutAt < budgetMs) {
    const tick = Date.now();
    probes++;
    last = await hostHttpGet(ip, 80, { timeoutMs: 1_000 });
    if (last.status === 200 && last.body.includes('edgeproof-marker')) {
      streakStart = streak === 0 ? tick : streakStart;
      streak++;
    } else {
      firstFailureAt ??= tick;
      streak = 0;
    }
    if (streak >= 3 && (firstFailureAt !== undefined || tick - cutAt > 10_000)) {
      recoveredAt = streakStart;
      break;
    }
    await sleep(Math.max(0, 1_000 - (Date.now() - tick)), ctx.signal);
  }
  const newAnnouncer = announcingNode(await serviceEvents(run, namespace, SERVICE));
  if (canPowerOn(node.machine)) await powerOnNode(ctx, { ...node, machine: node.machine }, 'LB-4: restore the failed node');
  const outageMs = recoveredAt !== undefined ? (firstFailureAt !== undefined ? recoveredAt - firstFailureAt : 0) : undefined;
  const evidence = { ip, failedNode: announcer, newAnnouncer, probes, outageMs, budgetMs, last: last && (last.status ?? last.error) };
  if (outageMs !== undefined) {
    ctx.events.emit({ type: 'measurement', id: 'LB-4/outage', suite: 'lb', name: 'LB address outage after its announcing node was powered off', unit: 'ms', value: outageMs, node: announcer });
    return pass(evidence);
  }
  return fail(`${ip} did not answer again within ${formatMs(budgetMs)} after ${announcer} was powered off (last: ${last?.status ?? last?.error})`, evidence);
}
