import type { V1Ingress, V1Pod, V1Service } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { addonSpec, type AddonSpec } from '../cluster/addons/catalog.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, pass, type CheckOutcome } from './check.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import { kube } from '../cluster/kube-access.js';
import { httpFromHost } from './lb.js';
import { hostReachesNodes } from './outside.js';
import { requestPod, runProbePod, summarizeAttempts } from './probe-pods.js';
import { deployWebAndWait, nodeInfos, SuiteRun, type CheckRef } from './suite-kit.js';
import { clusterIpService, MANAGED_BY } from './workloads.js';

export const INGRESS_CHECKS = {
  controller: { id: 'ING-1', name: 'the Ingress controller\'s pods are Ready' },
  hostHeader: { id: 'ING-2', name: 'an Ingress routes by Host header on every node address (no public DNS)' },
} satisfies Record<string, CheckRef>;

export interface IngressOptions extends AddonGateOptions {
  /** Base budget for the route to answer (scaled), default 240 s as in checks.md. */
  routeBudgetMs?: number;
}

const WEB = 'ep-ing-web';

export async function runIngressSuite(ctx: RunContext, cluster: StartedCluster, options: IngressOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'ingress');
  const gate = await gateArea(run, [addonSpec('ingress-nginx'), addonSpec('traefik')], options);
  if (!gate.ready) {
    await run.notRun(Object.values(INGRESS_CHECKS), gate.verdict, gate.reason, gate.evidence);
    return run.outcomes;
  }
  await run.check(INGRESS_CHECKS.controller, async () => pass(gate.evidence));
  await run.withNamespace('route', (namespace) => run.check(INGRESS_CHECKS.hostHeader, () => routeByHostHeader(run, namespace, gate.addon, ctx.scaled(options.routeBudgetMs ?? 240_000))));
  return run.outcomes;
}

/** A host under the reserved .test TLD: it can never resolve through public DNS. */
export function ingressHost(namespace: string): string {
  return `${namespace}.edgeproof.test`;
}

export function hostIngress(name: string, host: string, service: string, ingressClassName?: string): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, labels: MANAGED_BY },
    spec: {
      ...(ingressClassName ? { ingressClassName } : {}),
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }],
    },
  };
}

export interface Entry {
  address: string;
  port: number;
  node: string;
  via: string;
}

/**
 * ING-2: a Deployment, a Service and an Ingress for a .test host; every entry
 * point of the controller (each node's address, on the port the controller
 * exposes) must answer 200 with the pod's marker for that Host header.
 */
export async function routeByHostHeader(run: SuiteRun, namespace: string, addon: AddonSpec, budgetMs: number): Promise<CheckOutcome> {
  await deployWebAndWait(run, namespace, WEB, 1, budgetMs);
  await kube('create service', () => run.clients.core.createNamespacedService({ namespace, body: clusterIpService(WEB, WEB) }));
  const className = await ingressClassFor(run, addon);
  const host = ingressHost(namespace);
  await kube('create ingress', () => run.clients.networking.createNamespacedIngress({ namespace, body: hostIngress(WEB, host, WEB, className) }));
  const entries = await controllerEntries(run, addon);
  if (entries.length === 0) return fail(`${addon.title} exposes no entry point on the nodes (no hostPort 80, no LoadBalancer address, no NodePort)`, { namespaces: addon.namespaces });
  const reach = await hostReachesNodes(await nodeInfos(run.clients), 3_000);
  const results: Record<string, string> = {};
  const failures: string[] = [];
  for (const entry of entries) {
    const key = `${entry.node} ${entry.address}:${entry.port} (${entry.via})`;
    const outcome = reach.reachable ? await httpFromHost(run.ctx, entry.address, entry.port, budgetMs, host) : await fromPod(run, namespace, entry, host, budgetMs);
    results[key] = outcome.verdict === 'pass' ? `200 ${String(outcome.evidence.body ?? '').slice(0, 60)}` : outcome.reason ?? 'failed';
    if (outcome.verdict !== 'pass') failures.push(`${key}: ${outcome.reason}`);
  }
  const evidence = { host, ingressClass: className ?? '(default)', vantage: reach.reachable ? 'harness host' : 'a pod (the host cannot reach the node network)', entries: results };
  return failures.length ? fail(`Host ${host} not served on every entry: ${failures.join('; ')}`, evidence) : pass(evidence);
}

async function fromPod(run: SuiteRun, namespace: string, entry: Entry, host: string, budgetMs: number): Promise<CheckOutcome> {
  const name = `ep-ing-probe-${entry.node}`.slice(0, 60).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '');
  const probe = await runProbePod(run.ctx, run.clients, namespace, requestPod(name, run.cluster.workloadImage, { address: entry.address, port: entry.port, hostHeader: host, attempts: 10, timeoutSeconds: run.ctx.scaled(3_000) / 1000, pauseSeconds: 3 }), budgetMs);
  const good = probe.attempts.find((a) => a.status === 200 && a.body.includes('edgeproof-marker'));
  return good ? pass({ body: good.body.slice(0, 120), attempts: summarizeAttempts(probe.attempts) }) : fail(`no 200 with the marker in ${probe.attempts.length} attempts: ${summarizeAttempts(probe.attempts).slice(-2).join('; ')}`);
}

async function ingressClassFor(run: SuiteRun, addon: AddonSpec): Promise<string | undefined> {
  const classes = (await kube('list ingress classes', () => run.clients.networking.listIngressClass()).catch(() => undefined))?.items ?? [];
  const isDefault = classes.find((c) => c.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true');
  const controller = addon.name === 'traefik' ? /traefik/ : /ingress-nginx/;
  return (isDefault ?? classes.find((c) => controller.test(c.spec?.controller ?? '')))?.metadata?.name;
}

/** Where the controller listens on the nodes: hostPort 80 on its pods' nodes, else its Service's LoadBalancer addresses, else a NodePort on every node. */
async function controllerEntries(run: SuiteRun, addon: AddonSpec): Promise<Entry[]> {
  const nodes = await nodeInfos(run.clients);
  const ipOf = (name: string) => nodes.find((n) => n.name === name)?.internalIp;
  for (const namespace of addon.namespaces) {
    const pods = (await kube('list pods', () => run.clients.core.listNamespacedPod({ namespace })).catch(() => undefined))?.items ?? [];
    const controllers = pods.filter((p) => isController(p, addon));
    const hostPorted = controllers.filter((p) => p.spec?.containers.some((c) => c.ports?.some((port) => port.hostPort === 80)));
    if (hostPorted.length) return hostPorted.filter((p) => p.spec?.nodeName && ipOf(p.spec.nodeName)).map((p) => ({ address: ipOf(p.spec!.nodeName!)!, port: 80, node: p.spec!.nodeName!, via: 'hostPort' }));
    const services = (await kube('list services', () => run.clients.core.listNamespacedService({ namespace })).catch(() => undefined))?.items ?? [];
    const service = services.find((s) => isControllerService(s, addon));
    if (!service) continue;
    const lb = service.status?.loadBalancer?.ingress?.map((i) => i.ip).filter((ip): ip is string => Boolean(ip)) ?? [];
    if (lb.length) return lb.map((ip) => ({ address: ip, port: 80, node: nodes.find((n) => n.internalIp === ip)?.name ?? ip, via: 'LoadBalancer address' }));
    const nodePort = service.spec?.ports?.find((p) => p.port === 80 || p.name === 'http' || p.name === 'web')?.nodePort;
    if (nodePort) return nodes.filter((n) => n.internalIp).map((n) => ({ address: n.internalIp!, port: nodePort, node: n.name, via: `NodePort ${nodePort}` }));
  }
  return [];
}

function isController(pod: V1Pod, addon: AddonSpec): boolean {
  const labels = pod.metadata?.labels ?? {};
  return addon.name === 'traefik' ? labels['app.kubernetes.io/name'] === 'traefik' : /ingress/.test(pod.metadata?.name ?? '') && labels['app.kubernetes.io/component'] !== 'admission-webhook';
}

function isControllerService(service: V1Service, addon: AddonSpec): boolean {
  const name = service.metadata?.name ?? '';
  return addon.name === 'traefik' ? name === 'traefik' : name === 'ingress-nginx-controller';
}
