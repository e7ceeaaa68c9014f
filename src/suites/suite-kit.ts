import { createHash } from 'node:crypto';
import { ApiextensionsV1Api, CustomObjectsApi, NetworkingV1Api, NodeV1Api, StorageV1Api, type KubeConfig, type V1Deployment, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import type { Verdict } from '../core/events.js';
import { KubeApiError, WaitTimeoutError } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { missingDefaultServiceAccount } from '../cluster/kube-access.js';
import { fail, notApplicable, runCheck, skipped, type CheckOutcome } from './check.js';
import { kube, kubeClients, kubeRetrying, type KubeClients } from '../cluster/kube-access.js';
import { MANAGED_BY, webDeployment } from './workloads.js';

/** The API groups the addon suites read: CRDs, custom resources, RuntimeClasses, StorageClasses, Ingresses. */
export interface AddonClients extends KubeClients {
  kc: KubeConfig;
  custom: CustomObjectsApi;
  apiext: ApiextensionsV1Api;
  node: NodeV1Api;
  storage: StorageV1Api;
  networking: NetworkingV1Api;
}

export function addonClients(kc: KubeConfig): AddonClients {
  return {
    ...kubeClients(kc),
    kc,
    custom: kc.makeApiClient(CustomObjectsApi),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    node: kc.makeApiClient(NodeV1Api),
    storage: kc.makeApiClient(StorageV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
  };
}

/** One catalog check as a suite declares it. */
export interface CheckRef {
  id: string;
  name: string;
}

/** A suite run: records each check, and the checks a gate kept from running with the gate's verdict. */
export class SuiteRun {
  readonly outcomes: CheckOutcome[] = [];
  readonly clients: AddonClients;

  constructor(
    readonly ctx: RunContext,
    readonly cluster: StartedCluster,
    readonly suite: string,
  ) {
    this.clients = addonClients(cluster.kubeConfig());
  }

  async check(ref: CheckRef, body: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
    const outcome = await runCheck(this.ctx, { id: ref.id, suite: this.suite, name: ref.name }, body);
    this.outcomes.push(outcome);
    return outcome;
  }

  /**
   * Records checks that cannot run, each with the gate's non-pass verdict and
   * reason. A failed gate (an addon installed but never Ready) fails the first
   * check only; the others are skipped because of it, so one fault counts once.
   */
  async notRun(refs: CheckRef[], verdict: Exclude<Verdict, 'pass'>, reason: string, evidence: Record<string, unknown> = {}): Promise<void> {
    for (const [i, ref] of refs.entries()) {
      const outcome =
        verdict === 'not-applicable'
          ? notApplicable(reason, evidence)
          : verdict === 'skipped' || i > 0
            ? skipped(verdict === 'fail' ? `${refs[0]!.id} failed: ${reason}` : reason, evidence)
            : fail(reason, evidence);
      await this.check(ref, async () => outcome);
    }
  }

  /** A namespace of this run for this suite, created now and removed (without waiting) at the end of `use`. */
  async withNamespace<T>(label: string, use: (namespace: string) => Promise<T>, labels: Record<string, string> = {}): Promise<T> {
    const namespace = runNamespace(this.ctx, `${this.suite}-${label}`);
    await createNamespace(this.clients, namespace, this.ctx.scaled(60_000), labels);
    try {
      return await use(namespace);
    } finally {
      await deleteNamespace(this.clients, namespace);
    }
  }
}

/** `ep-<suite>-<hash8 of the run id>`: one namespace per suite and run. */
export function suiteNamespace(ctx: RunContext, suite: string): string {
  return `ep-${suite}-${createHash('sha256').update(ctx.runId).digest('hex').slice(0, 8)}`;
}

/** Creates the suite's namespace, runs `use` in it, and deletes it (without waiting) whatever happened. */
export async function withSuiteNamespace<T>(ctx: RunContext, clients: KubeClients, suite: string, use: (namespace: string) => Promise<T>): Promise<T> {
  const namespace = suiteNamespace(ctx, suite);
  await createNamespace(clients, namespace, ctx.scaled(60_000));
  try {
    return await use(namespace);
  } finally {
    await deleteNamespace(clients, namespace);
  }
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** `ep-<label>-<hash8>`: unique per run, short enough for every name rule. */
export function runNamespace(ctx: RunContext, label: string): string {
  const hash = createHash('sha256').update(`${ctx.runId}/${label}`).digest('hex').slice(0, 8);
  return `ep-${label}`.slice(0, 50).replace(/-+$/, '') + `-${hash}`;
}

/**
 * Creates a namespace and waits for its `default` service account: a pod
 * created before the service account controller got there is refused. A busy apiserver (an emulated
 * board just after bring-up) answers some creates with a 5xx such as
 * "resource quota evaluation timed out": those are retried within the budget.
 */
export async function createNamespace(clients: KubeClients, name: string, budgetMs: number, labels: Record<string, string> = {}): Promise<void> {
  const body = { metadata: { name, labels: { ...MANAGED_BY, ...labels } } };
  await kubeRetrying(`create namespace ${name}`, () => clients.core.createNamespace({ body }), budgetMs).catch((error: unknown) => {
    // 409: an earlier attempt was applied although its answer was an error (names are unique per run, so it is ours).
    if (!(error instanceof KubeApiError && error.status === 409)) throw error;
  });
  await waitFor(
    async () => {
      const missing = await missingDefaultServiceAccount(clients.core, name);
      return missing ? { done: false, observed: missing } : { done: true, value: undefined };
    },
    { what: `default service account in namespace ${name}`, budgetMs, pollMs: 250 },
  );
}

/**
 * Waits until the Service's Endpoints list `count` ready addresses, i.e. the
 * endpoints controller has caught up with the Service; returns how long that
 * took. A probe sent before then meets kube-proxy's reject rule for a Service
 * without endpoints, which says nothing about the data path.
 */
export async function waitServiceEndpoints(ctx: RunContext, clients: KubeClients, namespace: string, name: string, count: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      const endpoints = await clients.core.readNamespacedEndpoints({ name, namespace }).catch(() => undefined);
      const ready = (endpoints?.subsets ?? []).flatMap((s) => s.addresses ?? []).length;
      return ready >= count ? { done: true, value: undefined } : { done: false, observed: endpoints ? `${ready} ready address(es)` : 'no Endpoints object yet' };
    },
    { what: `Service ${namespace}/${name} has ${count} ready endpoint(s)`, budgetMs: ctx.scaled(30_000), pollMs: 500, signal: ctx.signal },
  );
  return Date.now() - started;
}

/**
 * Deletes a namespace without waiting. Pods are force-deleted first: a pod on
 * a node that was powered off would otherwise hold the namespace in
 * Terminating until the node returns.
 */
export async function deleteNamespace(clients: KubeClients, name: string): Promise<void> {
  const pods = await kube('list pods', () => clients.core.listNamespacedPod({ namespace: name })).catch(() => undefined);
  for (const pod of pods?.items ?? []) {
    await kube('force-delete pod', () => clients.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: name, gracePeriodSeconds: 0 })).catch(() => undefined);
  }
  await kube(`delete namespace ${name}`, () => clients.core.deleteNamespace({ name })).catch(() => undefined);
}

export interface NodeInfo {
  name: string;
  internalIp?: string;
  ready: boolean;
  arch: string;
  kernel: string;
  controlPlane: boolean;
  annotations: Record<string, string>;
}

/** What the API says about each node: address, readiness, architecture, kernel. */
export async function nodeInfos(clients: KubeClients): Promise<NodeInfo[]> {
  const list = await kube('list nodes', () => clients.core.listNode());
  return list.items.map(nodeInfo);
}

export function nodeInfo(node: V1Node): NodeInfo {
  const labels = node.metadata?.labels ?? {};
  return {
    name: node.metadata!.name!,
    internalIp: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    arch: node.status?.nodeInfo?.architecture ?? labels['kubernetes.io/arch'] ?? 'unknown',
    kernel: node.status?.nodeInfo?.kernelVersion ?? 'unknown',
    controlPlane: 'node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels,
    annotations: node.metadata?.annotations ?? {},
  };
}

/** One line per pod: phase, waiting reason, unschedulable message. */
export function describePods(pods: V1Pod[]): string {
  if (pods.length === 0) return 'no pods yet';
  return pods
    .map((p) => {
      const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
      const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
      return `${p.metadata?.name}: ${p.status?.phase ?? '?'}${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''}${waiting ? ` (${waiting.reason}: ${waiting.message ?? ''})` : ''}${scheduled?.status === 'False' ? ` (unschedulable: ${scheduled.message})` : ''}`;
    })
    .join('; ');
}

/** Deploys the busybox web server (`replicas` pods answering with a marker) and waits until they are Ready. */
export async function deployWebAndWait(run: SuiteRun, namespace: string, name: string, replicas: number, budgetMs: number, mutate?: (d: V1Deployment) => void): Promise<V1Pod[]> {
  const deployment = webDeployment(name, run.cluster.workloadImage, replicas);
  mutate?.(deployment);
  await kube('create deployment', () => run.clients.apps.createNamespacedDeployment({ namespace, body: deployment }));
  return waitPodsReady(run, namespace, `app=${name}`, replicas, budgetMs);
}

export async function waitPodsReady(run: SuiteRun, namespace: string, labelSelector: string, count: number, budgetMs: number): Promise<V1Pod[]> {
  return waitFor(
    async () => {
      const list = await kube('list pods', () => run.clients.core.listNamespacedPod({ namespace, labelSelector }));
      const ready = list.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= count ? { done: true as const, value: ready } : { done: false as const, observed: describePods(list.items) };
    },
    { what: `${count} pod(s) ${labelSelector} Ready in ${namespace}`, budgetMs, pollMs: 2000, signal: run.ctx.signal },
  );
}

/** A wait whose timeout is an answer, not an error: other errors (an interrupt) still propagate. */
export async function unlessTimeout<T, U>(wait: Promise<T>, onTimeout: (error: WaitTimeoutError) => U): Promise<T | U> {
  try {
    return await wait;
  } catch (error) {
    if (error instanceof WaitTimeoutError) return onTimeout(error);
    throw error;
  }
}
