import type { V1PersistentVolume, V1StorageClass } from '@kubernetes/client-node';
import type { AddonName } from '../cluster/addons/catalog.js';
import { apiGet, kube } from '../cluster/kube-access.js';
import { jivaVolumeStatus, longhornVolumeStatus, mayastorVolumeStatus, type ReplicatedVolumeStatus } from './addons/parsers/storage-status.js';
import type { AddonClients } from './suite-kit.js';
import { MANAGED_BY } from './workloads.js';

/**
 * How the storage checks see a volume: which nodes hold its data and, for a
 * replicated engine, its health. The local backend is the negative control:
 * one copy, on one node.
 */
export interface VolumeBackend {
  engine: 'local' | 'longhorn' | 'jiva' | 'mayastor';
  replicated: boolean;
  /** Nodes holding a copy of the data of this PersistentVolume. */
  replicaNodes(clients: AddonClients, pv: V1PersistentVolume): Promise<string[]>;
  /** Health as the engine reports it; undefined for a backend without one. */
  status(clients: AddonClients, pv: V1PersistentVolume): Promise<ReplicatedVolumeStatus | undefined>;
}

/** A non-replicated volume: its only copy lives on the node its PV is pinned to. */
export const localBackend: VolumeBackend = {
  engine: 'local',
  replicated: false,
  async replicaNodes(_clients, pv) {
    return pinnedNodes(pv);
  },
  async status() {
    return undefined;
  },
};

/** Node names (kubernetes.io/hostname values) a PV's nodeAffinity allows. */
export function pinnedNodes(pv: V1PersistentVolume): string[] {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.flatMap((t) => (t.matchExpressions ?? []).filter((e) => e.key === 'kubernetes.io/hostname' && e.operator === 'In').flatMap((e) => e.values ?? []));
}

/** A replicated engine: the nodes holding copies are the ones its status names. */
function replicatedBackend(engine: VolumeBackend['engine'], status: (clients: AddonClients, pv: V1PersistentVolume) => Promise<ReplicatedVolumeStatus | undefined>): VolumeBackend {
  return { engine, replicated: true, status, replicaNodes: async (clients, pv) => (await status(clients, pv))?.replicaNodes ?? [] };
}

const longhornBackend = replicatedBackend('longhorn', async (clients, pv) => {
  const name = pv.spec?.csi?.volumeHandle ?? pv.metadata!.name!;
  const volume = await kube('read Longhorn volume', () => clients.custom.getNamespacedCustomObject({ group: 'longhorn.io', version: 'v1beta2', namespace: 'longhorn-system', plural: 'volumes', name }));
  const replicas = await kube('list Longhorn replicas', () => clients.custom.listNamespacedCustomObject({ group: 'longhorn.io', version: 'v1beta2', namespace: 'longhorn-system', plural: 'replicas', labelSelector: `longhornvolume=${name}` }));
  return longhornVolumeStatus(volume, (replicas as { items?: unknown[] }).items ?? []);
});

const jivaBackend = replicatedBackend('jiva', async (clients, pv) => {
  const name = pv.metadata!.name!;
  const volume = await kube('read JivaVolume', () => clients.custom.getNamespacedCustomObject({ group: 'openebs.io', version: 'v1', namespace: 'openebs', plural: 'jivavolumes', name }));
  const pods = await kube('list Jiva replica pods', () => clients.core.listNamespacedPod({ namespace: 'openebs' }));
  const replicaNodes = pods.items.filter((p) => p.metadata?.name?.startsWith(`${name}-jiva-rep-`)).map((p) => p.spec?.nodeName).filter((n): n is string => Boolean(n));
  return jivaVolumeStatus(volume, replicaNodes);
});

/** Mayastor's REST API through the apiserver's service proxy: no plugin on the host needed. */
const mayastorBackend = replicatedBackend('mayastor', async (clients, pv) => {
  const uuid = pv.spec?.csi?.volumeHandle ?? pv.metadata!.name!.replace(/^pvc-/, '');
  for (const namespace of ['mayastor', 'openebs']) {
    const answer = await apiGet(clients.kc, `/api/v1/namespaces/${namespace}/services/api-rest:8081/proxy/v0/volumes/${uuid}`).catch(() => undefined);
    if (answer?.status === 200) return mayastorVolumeStatus(JSON.parse(answer.body));
  }
  return undefined;
});

export function backendFor(addon: AddonName): VolumeBackend {
  if (addon === 'longhorn') return longhornBackend;
  if (addon === 'openebs-jiva') return jivaBackend;
  if (addon === 'openebs-mayastor') return mayastorBackend;
  throw new Error(`${addon} is not a replicated storage engine`);
}

/**
 * A StorageClass with an explicit replica count, per engine's documentation:
 * Longhorn numberOfReplicas (longhorn.io/docs, storage class parameters),
 * Mayastor repl (openebs.io, create storage class), Jiva through a
 * JivaVolumePolicy's target.replicationFactor (jiva-operator docs).
 */
export function replicatedStorageClass(addon: AddonName, name: string, replicas: number): { storageClass: V1StorageClass; policy?: Record<string, unknown> } {
  const base = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name, labels: MANAGED_BY }, reclaimPolicy: 'Delete', allowVolumeExpansion: true };
  if (addon === 'longhorn') {
    return { storageClass: { ...base, provisioner: 'driver.longhorn.io', volumeBindingMode: 'Immediate', parameters: { numberOfReplicas: String(replicas), staleReplicaTimeout: '30', fromBackup: '' } } };
  }
  if (addon === 'openebs-mayastor') {
    return { storageClass: { ...base, provisioner: 'io.openebs.csi-mayastor', volumeBindingMode: 'Immediate', parameters: { repl: String(replicas), protocol: 'nvmf', ioTimeout: '60' } } };
  }
  if (addon === 'openebs-jiva') {
    const policy = {
      apiVersion: 'openebs.io/v1',
      kind: 'JivaVolumePolicy',
      metadata: { name, namespace: 'openebs', labels: MANAGED_BY },
      spec: { replicaSC: 'openebs-hostpath', target: { replicationFactor: replicas } },
    };
    return { storageClass: { ...base, provisioner: 'jiva.csi.openebs.io', volumeBindingMode: 'Immediate', parameters: { 'cas-type': 'jiva', policy: name } }, policy };
  }
  throw new Error(`${addon} is not a replicated storage engine`);
}

/** A StorageClass for pre-made local PVs (no provisioner), as the negative control uses. */
export function localStorageClass(name: string): V1StorageClass {
  return { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name, labels: MANAGED_BY }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Retain' };
}

/** A local PV on one node (`hostname` is that node's kubernetes.io/hostname label). */
export function localPersistentVolume(name: string, storageClass: string, path: string, hostname: string, size = '1Gi'): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: MANAGED_BY },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: storageClass,
      local: { path },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }] }] } },
    },
  };
}

export async function readPv(clients: AddonClients, name: string): Promise<V1PersistentVolume> {
  return kube(`read PV ${name}`, () => clients.core.readPersistentVolume({ name }));
}
