import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { WaitTimeoutError } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, pass, runCheck, type CheckOutcome } from './check.js';
import { apiGet, kube, kubeClients, type KubeClients } from '../cluster/kube-access.js';
import { describePods, waitServiceEndpoints, withSuiteNamespace } from './suite-kit.js';
import { waitServiceProgrammed } from './service-programming.js';
import { clusterIpService, httpProbeFailure, httpProbePod, parseHttpProbeOutput, webDeployment } from './workloads.js';

const SUITE = 'smoke';

/**
 * The smoke suite: the cluster is up and runs workloads. Each step has its
 * own budget, scaled by the run's timeout scale, and records its evidence.
 */
export async function runSmokeSuite(ctx: RunContext, cluster: StartedCluster): Promise<CheckOutcome[]> {
  const clients = kubeClients(cluster.kubeConfig());
  const outcomes: CheckOutcome[] = [];
  const check = async (id: string, name: string, body: () => Promise<CheckOutcome>) => {
    const outcome = await runCheck(ctx, { id, suite: SUITE, name }, body);
    outcomes.push(outcome);
    return outcome;
  };

  await check('BOOT-1', 'every expected node is Ready and no other node exists', () => nodesReady(ctx, clients, cluster));
  await check('BOOT-3', 'apiserver /readyz and /livez answer 200', () => apiHealth(cluster));
  await withSuiteNamespace(ctx, clients, SUITE, async (namespace) => {
    const deployed = await check('SMOKE-1', 'a Deployment of 2 pods becomes Running', () => deployWeb(ctx, clients, cluster, namespace));
    if (deployed.verdict !== 'pass') return;
    const podIps = deployed.evidence.podIps as string[];
    await check('SMOKE-2', 'HTTP from a pod to another pod\'s IP', () =>
      httpFromPod(ctx, clients, cluster, namespace, 'ep-probe-pod', `http://${podIps[1]}:8080/`));
    const serviceIp = await createService(clients, namespace);
    await check('SMOKE-3', 'HTTP from a pod through a ClusterIP Service', () => httpThroughService(ctx, clients, cluster, namespace, serviceIp));
    await check('BOOT-2', 'no pod is failing or crash-looping', () => podsHealthy(clients));
  });
  return outcomes;
}

async function nodesReady(ctx: RunContext, clients: KubeClients, cluster: StartedCluster): Promise<CheckOutcome> {
  const expected = cluster.nodes.map((n) => n.name).sort();
  const nodes = await waitFor(
    async () => {
      const list = await kube('list nodes', () => clients.core.listNode());
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata!.name!);
      const names = list.items.map((n) => n.metadata!.name!).sort();
      const done = ready.length === expected.length && JSON.stringify(names) === JSON.stringify(expected);
      return done ? { done: true as const, value: names } : { done: false as const, observed: `nodes ${names.join(',') || '(none)'}; Ready: ${ready.join(',') || '(none)'}` };
    },
    { what: `nodes ${expected.join(', ')} Ready`, budgetMs: ctx.scaled(60_000), pollMs: 2000, signal: ctx.signal },
  );
  return pass({ expected, nodes });
}

async function apiHealth(cluster: StartedCluster): Promise<CheckOutcome> {
  const kc = cluster.kubeConfig();
  const results: Record<string, { status: number; body: string }> = {};
  for (const path of ['/readyz', '/livez']) {
    const { status, body } = await apiGet(kc, path).catch((error: Error) => ({ status: 0, body: error.message }));
    results[path] = { status, body: body.trim().slice(0, 200) };
  }
  const bad = Object.entries(results).filter(([, r]) => r.status !== 200);
  return bad.length === 0 ? pass({ results }) : fail(bad.map(([p, r]) => `${p} answered ${r.status || 'nothing'}: ${r.body}`).join('; '), { results });
}

async function deployWeb(ctx: RunContext, clients: KubeClients, cluster: StartedCluster, namespace: string): Promise<CheckOutcome> {
  const created = Date.now();
  await kube('create deployment', () => clients.apps.createNamespacedDeployment({ namespace, body: webDeployment('ep-web', cluster.workloadImage, 2) }));
  let firstRunningMs: number | undefined;
  const pods = await waitFor(
    async () => {
      const list = await kube('list pods', () => clients.core.listNamespacedPod({ namespace, labelSelector: 'app=ep-web' }));
      const running = list.items.filter((p) => p.status?.phase === 'Running');
      if (running.length > 0) firstRunningMs ??= Date.now() - created;
      const ready = running.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (ready.length === 2) return { done: true as const, value: ready };
      return { done: false as const, observed: describePods(list.items) };
    },
    { what: '2 web pods Running and Ready', budgetMs: ctx.scaled(90_000), pollMs: 1000, signal: ctx.signal },
  );
  const allReadyMs = Date.now() - created;
  ctx.events.emit({ type: 'measurement', id: 'SMOKE-1/first-pod-running', suite: SUITE, name: 'first pod Running after Deployment create', unit: 'ms', value: firstRunningMs ?? allReadyMs });
  return pass({
    pods: pods.map((p) => p.metadata!.name!),
    podIps: pods.map((p) => p.status!.podIP!),
    nodes: pods.map((p) => p.spec!.nodeName!),
    firstPodRunningMs: firstRunningMs,
    allReadyMs,
  });
}

async function createService(clients: KubeClients, namespace: string): Promise<string> {
  const service = await kube('create service', () => clients.core.createNamespacedService({ namespace, body: clusterIpService('ep-web', 'ep-web') }));
  return service.spec!.clusterIP!;
}

/**
 * SMOKE-3: once the Service lists both web pods and every node's kube-proxy
 * has a rule for its ClusterIP, a probe pod fetches through it. Before the
 * rule, a packet to the ClusterIP is dropped or refused, which says nothing
 * of the datapath; so the check waits for the rule (where it can read it)
 * and retries a refusal within the budget. Any other failure fails at once.
 */
async function httpThroughService(ctx: RunContext, clients: KubeClients, cluster: StartedCluster, namespace: string, serviceIp: string): Promise<CheckOutcome> {
  let endpointsReadyMs: number;
  let proxyRules: Awaited<ReturnType<typeof waitServiceProgrammed>>;
  try {
    endpointsReadyMs = await waitServiceEndpoints(ctx, clients, namespace, 'ep-web', 2);
  } catch (error) {
    if (error instanceof WaitTimeoutError) return fail(`the endpoints controller never listed the web pods: ${error.message}`, { service: serviceIp });
    throw error;
  }
  const endpointsAt = Date.now();
  try {
    proxyRules = await waitServiceProgrammed(ctx, cluster.nodes, serviceIp);
  } catch (error) {
    if (error instanceof WaitTimeoutError) return fail(`kube-proxy never programmed the Service: ${error.message}`, { service: serviceIp, endpointsReadyMs });
    throw error;
  }
  const programmedMs = Date.now() - endpointsAt;
  const deadline = endpointsAt + ctx.scaled(30_000);
  for (let probes = 1; ; probes++) {
    const outcome = await httpFromPod(ctx, clients, cluster, namespace, probes === 1 ? 'ep-probe-svc' : `ep-probe-svc-${probes}`, `http://${serviceIp}/`);
    const evidence = { ...outcome.evidence, endpointsReadyMs, proxyRules, endpointsToProgrammedMs: programmedMs, probes, endpointsToAnswerMs: Date.now() - endpointsAt };
    const refused = outcome.verdict === 'fail' && /connection refused/i.test(outcome.reason ?? '');
    if (!refused || Date.now() > deadline) return { ...outcome, evidence };
    ctx.progress.info(`SMOKE-3: ${serviceIp} refused (kube-proxy not programmed yet?), probing again`);
  }
}

/** Runs a probe pod that fetches `url`; passes when it exits 0 and its output carries a web pod's marker. */
async function httpFromPod(ctx: RunContext, clients: KubeClients, cluster: StartedCluster, namespace: string, name: string, url: string): Promise<CheckOutcome> {
  const started = Date.now();
  await kube('create probe pod', () => clients.core.createNamespacedPod({ namespace, body: httpProbePod(name, cluster.workloadImage, url, ctx.scaled(2_000) / 1000) }));
  let pod: V1Pod;
  try {
    pod = await waitFor(
      async () => {
        const current = await kube('read probe pod', () => clients.core.readNamespacedPod({ name, namespace }));
        const phase = current.status?.phase;
        return phase === 'Succeeded' || phase === 'Failed' ? { done: true as const, value: current } : { done: false as const, observed: describePods([current]) };
      },
      { what: `probe pod ${name} finished`, budgetMs: ctx.scaled(60_000), pollMs: 1000, signal: ctx.signal },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) return fail(error.message, { url, probe: name });
    throw error;
  }
  const log = await kube('read probe log', () => clients.core.readNamespacedPodLog({ name, namespace })).catch((error: Error) => `(log unavailable: ${error.message})`);
  const body = String(log).trim();
  const probe = parseHttpProbeOutput(body);
  const evidence = { url, probe: name, probeNode: pod.spec?.nodeName, phase: pod.status?.phase, status: probe.statusLine ?? probe.error, body: probe.marker ?? body.slice(0, 300), requestMs: probe.elapsedMs, elapsedMs: Date.now() - started };
  if (pod.status?.phase !== 'Succeeded') return fail(`probe pod ${name} failed to fetch ${url}: ${body || 'no output'}`, evidence);
  const failure = httpProbeFailure(probe);
  return failure ? fail(`${url}: ${failure}`, evidence) : pass(evidence);
}

export async function podsHealthy(clients: KubeClients): Promise<CheckOutcome> {
  const list = await kube('list pods', () => clients.core.listPodForAllNamespaces());
  const failing = list.items.filter((p) => {
    const waiting = p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff');
    const bad = p.status?.phase === 'Failed' && !p.metadata?.labels?.role?.includes('probe');
    return waiting || bad;
  });
  const restarts = Object.fromEntries(list.items.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p.status?.containerStatuses?.reduce((n, c) => n + c.restartCount, 0) ?? 0]));
  if (failing.length > 0) return fail(`${failing.length} pod(s) failing: ${failing.map((p) => p.metadata?.name).join(', ')}`, { restarts });
  return pass({ pods: list.items.length, restarts });
}
