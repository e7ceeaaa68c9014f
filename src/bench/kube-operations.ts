/**
 * The API operation set for the open-model loader (k-bench's control-plane
 * verbs on ConfigMaps and Pods), against a real cluster with
 * @kubernetes/client-node 1.x.
 *
 * get / update act on objects created earlier (a pool of names); delete takes
 * one created object out of the pool. When the pool is empty the operation
 * first creates what it needs inside `call.untimed`, so each latency covers
 * only the operation's own API call. Everything created carries the label
 * `dev.edgeproof/bench-run=<runId>` and `cleanup()` deletes it by that label.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { EdgeproofError } from '../core/errors.js';
import type { CallContext, Operation } from './open-model-loader.js';

export const BENCH_RUN_LABEL = 'dev.edgeproof/bench-run';
export const BENCH_REVISION_LABEL = 'dev.edgeproof/revision';

export type BenchKind = 'configmap' | 'pod';
export type BenchVerb = 'create' | 'get' | 'list' | 'update' | 'delete';
export type KubeOperationName = `${BenchKind}-${BenchVerb}`;

export const KUBE_OPERATION_NAMES: readonly KubeOperationName[] = (['configmap', 'pod'] as const).flatMap((kind) =>
  (['create', 'get', 'list', 'update', 'delete'] as const).map((verb) => `${kind}-${verb}` as const),
);

export interface KubeOperationsOptions {
  namespace: string;
  /** An image already on the nodes: nothing is pulled in the sandbox. */
  podImage: string;
  /** Default 'IfNotPresent'; 'Never' makes a missing image an ErrImageNeverPull instead of a pull attempt. */
  podImagePullPolicy?: 'Never' | 'IfNotPresent';
  /** Default `['sleep', '3600']`. */
  podCommand?: string[];
  /** Default UNSCHEDULED (pods stay Pending); undefined lets the default scheduler place them. */
  schedulerName?: string | undefined;
  /** Names and labels carry it; default 8 random hex characters. */
  runId?: string;
}

export interface KubeOperationSet extends AsyncDisposable {
  runId: string;
  operations: Record<KubeOperationName, Operation>;
  pools: Record<BenchKind, NamePool>;
  /** Creates `perKind` objects of each kind so get / update / delete start with targets (not timed). */
  prefill(perKind: number): Promise<void>;
  /** Deletes every object of this run by label (pods with grace period 0) and empties the pools. */
  cleanup(): Promise<void>;
}

// ---------------------------------------------------------------- pure parts

export function newBenchRunId(): string {
  return randomBytes(4).toString('hex');
}

const KIND_ABBREVIATION: Record<BenchKind, string> = { configmap: 'cm', pod: 'pod' };

/** `ep-bench-1a2b3c4d-cm-17`: a DNS-1123 label, so valid for pods and ConfigMaps alike. */
export function benchObjectName(runId: string, kind: BenchKind, sequence: number): string {
  if (!/^[a-z0-9]{1,16}$/.test(runId)) throw new EdgeproofError('INPUT', `Bench run id "${runId}" must be 1-16 lowercase letters or digits`);
  return `ep-bench-${runId}-${KIND_ABBREVIATION[kind]}-${sequence}`;
}

export function benchLabelSelector(runId: string): string {
  return `${BENCH_RUN_LABEL}=${runId}`;
}

function benchLabels(runId: string, revision = 0): Record<string, string> {
  return { [BENCH_RUN_LABEL]: runId, [BENCH_REVISION_LABEL]: String(revision) };
}

export function configMapBody(name: string, runId: string, revision = 0): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: benchLabels(runId, revision) },
    data: { revision: String(revision), payload: 'x'.repeat(64) },
  };
}

/**
 * Pods of the API-latency load name a scheduler that does not exist, so they
 * stay Pending: the figures measure the API and its datastore, not container
 * start-up, which on an emulated node would starve the apiserver (pod
 * start-up has its own benchmark). Set `schedulerName: undefined` to run them.
 */
export const UNSCHEDULED = 'edgeproof-unscheduled';

export function podBody(
  name: string,
  runId: string,
  options: Required<Pick<KubeOperationsOptions, 'podImage' | 'podImagePullPolicy' | 'podCommand'>> & { schedulerName?: string | undefined },
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: benchLabels(runId) },
    spec: {
      ...(options.schedulerName ? { schedulerName: options.schedulerName } : {}),
      containers: [{ name: 'sleep', image: options.podImage, imagePullPolicy: options.podImagePullPolicy, command: options.podCommand }],
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
    },
  };
}

/** JSON merge patch that bumps the revision label: the pod update (most of a pod's spec is immutable). */
export function podRevisionPatch(revision: number): { metadata: { labels: Record<string, string> } } {
  return { metadata: { labels: { [BENCH_REVISION_LABEL]: String(revision) } } };
}

/**
 * The names of live objects of one kind. Reads and updates lease a name (several
 * may share it); delete takes only a name nobody holds, so a get never races a
 * delete of its own target. Pure bookkeeping, no API calls.
 */
export class NamePool {
  private sequence = 0;
  private cursor = 0;
  private readonly live: string[] = [];
  private readonly leases = new Map<string, number>();

  constructor(
    readonly runId: string,
    readonly kind: BenchKind,
  ) {}

  /** A name never used before in this run. */
  nextName(): string {
    return benchObjectName(this.runId, this.kind, ++this.sequence);
  }

  add(name: string): void {
    if (!this.live.includes(name)) this.live.push(name);
  }

  /** Adds a just-created object already leased to the caller (so no delete can take it first). */
  addLeased(name: string): string {
    this.add(name);
    return this.lease(name);
  }

  /** A live name, round-robin, leased until `release`; undefined when the pool is empty. */
  borrow(): string | undefined {
    if (this.live.length === 0) return undefined;
    const name = this.live[this.cursor++ % this.live.length]!;
    return this.lease(name);
  }

  release(name: string): void {
    const count = (this.leases.get(name) ?? 0) - 1;
    if (count > 0) this.leases.set(name, count);
    else this.leases.delete(name);
  }

  /** Removes and returns the oldest live name nobody holds; undefined when there is none. */
  takeForDelete(): string | undefined {
    const index = this.live.findIndex((name) => !this.leases.has(name));
    if (index < 0) return undefined;
    return this.live.splice(index, 1)[0];
  }

  clear(): void {
    this.live.length = 0;
    this.leases.clear();
  }

  get size(): number {
    return this.live.length;
  }

  get names(): readonly string[] {
    return this.live;
  }

  private lease(name: string): string {
    this.leases.set(name, (this.leases.get(name) ?? 0) + 1);
    return name;
  }
}

// ---------------------------------------------------------------- API calls

/** What an operation needs to act on one kind: its pool and the calls, one API request each. */
interface KindCalls {
  pool: NamePool;
  create(name: string): Promise<unknown>;
  get(name: string): Promise<unknown>;
  list(): Promise<unknown>;
  update(name: string, revision: number): Promise<unknown>;
  remove(name: string): Promise<unknown>;
}

export function kubeOperations(kc: KubeConfig, options: KubeOperationsOptions): KubeOperationSet {
  const runId = options.runId ?? newBenchRunId();
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = options;
  const podOptions = {
    podImage: options.podImage,
    podImagePullPolicy: options.podImagePullPolicy ?? 'IfNotPresent',
    podCommand: options.podCommand ?? ['sleep', '3600'],
    schedulerName: 'schedulerName' in options ? options.schedulerName : UNSCHEDULED,
  } as const;
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  const kinds: Record<BenchKind, KindCalls> = {
    configmap: {
      pool: new NamePool(runId, 'configmap'),
      create: (name) => core.createNamespacedConfigMap({ namespace, body: configMapBody(name, runId) }),
      get: (name) => core.readNamespacedConfigMap({ namespace, name }),
      list: () => core.listNamespacedConfigMap({ namespace }),
      update: (name, revision) => core.replaceNamespacedConfigMap({ namespace, name, body: configMapBody(name, runId, revision) }),
      remove: (name) => core.deleteNamespacedConfigMap({ namespace, name }),
    },
    pod: {
      pool: new NamePool(runId, 'pod'),
      create: (name) => core.createNamespacedPod({ namespace, body: podBody(name, runId, podOptions) }),
      get: (name) => core.readNamespacedPod({ namespace, name }),
      list: () => core.listNamespacedPod({ namespace }),
      update: (name, revision) => core.patchNamespacedPod({ namespace, name, body: podRevisionPatch(revision) }, mergePatch),
      remove: (name) => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }),
    },
  };

  const cleanup = async () => {
    const labelSelector = benchLabelSelector(runId);
    await core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector });
    await core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 });
    kinds.configmap.pool.clear();
    kinds.pod.pool.clear();
  };

  return {
    runId,
    operations: { ...operationsFor('configmap', kinds.configmap), ...operationsFor('pod', kinds.pod) },
    pools: { configmap: kinds.configmap.pool, pod: kinds.pod.pool },
    prefill: async (perKind) => {
      for (const calls of Object.values(kinds)) {
        for (let i = 0; i < perKind; i++) calls.pool.add(await createNamed(calls));
      }
    },
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}

function operationsFor<K extends BenchKind>(kind: K, calls: KindCalls): Record<`${K}-${BenchVerb}`, Operation> {
  let revision = 0;
  const operations: Record<BenchVerb, Operation> = {
    create: async () => calls.pool.add(await createNamed(calls)),
    get: (call) => withLeasedTarget(calls, call, (name) => calls.get(name)),
    list: () => calls.list(),
    update: (call) => withLeasedTarget(calls, call, (name) => calls.update(name, ++revision)),
    delete: async (call) => calls.remove(calls.pool.takeForDelete() ?? (await call.untimed(() => createNamed(calls)))),
  };
  return Object.fromEntries(Object.entries(operations).map(([verb, operation]) => [`${kind}-${verb}`, operation])) as Record<
    `${K}-${BenchVerb}`,
    Operation
  >;
}

async function createNamed(calls: KindCalls): Promise<string> {
  const name = calls.pool.nextName();
  await calls.create(name);
  return name;
}

/** Runs `act` on a leased live object; creates one first (untimed) when the pool is empty. */
async function withLeasedTarget(calls: KindCalls, call: CallContext, act: (name: string) => Promise<unknown>): Promise<unknown> {
  const name = calls.pool.borrow() ?? calls.pool.addLeased(await call.untimed(() => createNamed(calls)));
  try {
    return await act(name);
  } finally {
    calls.pool.release(name);
  }
}
