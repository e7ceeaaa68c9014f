import type { V1DaemonSet, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { RunContext } from '../../core/context.js';
import type { AddonSpec, PresenceSignal, WorkloadKind } from '../../cluster/addons/catalog.js';
import type { StartedCluster } from '../../cluster/distribution.js';
import { kube } from '../../cluster/kube-access.js';
import { parseSnapList } from './parsers/snap.js';
import type { AddonClients } from '../suite-kit.js';

export interface SignalResult {
  signal: string;
  holds: boolean;
  observed: string;
}

export interface Presence {
  present: boolean;
  /** Per variant (packaging), what each signal showed. */
  variants: SignalResult[][];
}

/** Reads the addon's presence signals against the cluster: present when every signal of one variant holds. */
export async function probePresence(ctx: RunContext, cluster: StartedCluster, clients: AddonClients, addon: AddonSpec): Promise<Presence> {
  const variants: SignalResult[][] = [];
  for (const variant of addon.presence) {
    const results: SignalResult[] = [];
    for (const signal of variant) results.push(await probeSignal(ctx, cluster, clients, signal));
    variants.push(results);
    if (results.every((r) => r.holds)) return { present: true, variants };
  }
  return { present: false, variants };
}

/** One line per signal of the variant that came closest, for reasons and evidence. */
export function describePresence(presence: Presence): string {
  const best = [...presence.variants].sort((a, b) => b.filter((r) => r.holds).length - a.filter((r) => r.holds).length)[0] ?? [];
  return best.map((r) => `${r.signal}: ${r.observed}`).join('; ');
}

async function probeSignal(ctx: RunContext, cluster: StartedCluster, clients: AddonClients, signal: PresenceSignal): Promise<SignalResult> {
  try {
    switch (signal.kind) {
      case 'crd':
        return await crdSignal(clients, signal.name);
      case 'workload':
        return await workloadSignal(clients, signal.namespace, signal.workload, signal.name);
      case 'runtime-class': {
        const list = await kube('list runtime classes', () => clients.node.listRuntimeClass());
        const names = list.items.map((r) => r.metadata!.name!);
        const found = signal.anyOf.filter((n) => names.includes(n));
        return { signal: `RuntimeClass ${signal.anyOf.join('|')}`, holds: found.length > 0, observed: names.length ? `present: ${names.join(', ')}` : 'no RuntimeClass exists' };
      }
      case 'secret': {
        const holds = await kube('read secret', () => clients.core.readNamespacedSecret({ name: signal.name, namespace: signal.namespace })).then(() => true, () => false);
        return { signal: `Secret ${signal.namespace}/${signal.name}`, holds, observed: holds ? 'exists' : 'absent' };
      }
      case 'k3s-bundled':
        return await k3sBundledSignal(clients, signal.component);
      case 'snap-confinement':
        return await snapSignal(ctx, cluster, signal.confinement);
    }
  } catch (error) {
    return { signal: signal.kind, holds: false, observed: `probe failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function crdSignal(clients: AddonClients, name: string): Promise<SignalResult> {
  const crd = await kube(`read CRD ${name}`, () => clients.apiext.readCustomResourceDefinition({ name })).catch(() => undefined);
  const established = crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  return { signal: `CRD ${name}`, holds: established, observed: !crd ? 'absent' : established ? 'established' : 'not established' };
}

type Workload = V1Deployment | V1DaemonSet | V1StatefulSet;

async function workloadSignal(clients: AddonClients, namespace: string, kind: WorkloadKind, name: string | RegExp): Promise<SignalResult> {
  const label = `${kind} ${namespace}/${typeof name === 'string' ? name : name.source}`;
  const items: Workload[] =
    kind === 'Deployment'
      ? (await kube('list deployments', () => clients.apps.listNamespacedDeployment({ namespace }))).items
      : kind === 'DaemonSet'
        ? (await kube('list daemonsets', () => clients.apps.listNamespacedDaemonSet({ namespace }))).items
        : (await kube('list statefulsets', () => clients.apps.listNamespacedStatefulSet({ namespace }))).items;
  const match = items.find((w) => (typeof name === 'string' ? w.metadata?.name === name : name.test(w.metadata?.name ?? '')));
  if (!match) return { signal: label, holds: false, observed: items.length ? `absent (namespace has ${items.map((w) => w.metadata?.name).join(', ')})` : 'absent' };
  const { ready, wanted } = readiness(kind, match);
  return { signal: label, holds: wanted > 0 && ready >= wanted, observed: `${match.metadata?.name} ${ready}/${wanted} ready` };
}

export function readiness(kind: WorkloadKind, workload: Workload): { ready: number; wanted: number } {
  if (kind === 'DaemonSet') {
    const status = (workload as V1DaemonSet).status;
    return { ready: status?.numberReady ?? 0, wanted: status?.desiredNumberScheduled ?? 0 };
  }
  const replicas = (workload as V1Deployment | V1StatefulSet).spec?.replicas ?? 1;
  return { ready: (workload as V1Deployment).status?.readyReplicas ?? 0, wanted: replicas };
}

/**
 * K3s records each node's command line in the `k3s.io/node-args` annotation
 * (a JSON array); a bundled component is there unless a server disabled it
 * (`--disable servicelb`, `--disable=traefik,servicelb`).
 */
export function k3sDisabled(nodeArgs: string[]): string[] {
  const disabled: string[] = [];
  nodeArgs.forEach((arg, i) => {
    const value = arg === '--disable' || arg === '--no-deploy' ? nodeArgs[i + 1] : /^--(disable|no-deploy)=(.*)$/.exec(arg)?.[2];
    if (value) disabled.push(...value.split(',').map((s) => s.trim()).filter(Boolean));
  });
  return disabled;
}

async function k3sBundledSignal(clients: AddonClients, component: string): Promise<SignalResult> {
  const nodes = (await kube('list nodes', () => clients.core.listNode())).items;
  const servers = nodes
    .map((n) => ({ name: n.metadata!.name!, args: parseNodeArgs(n.metadata?.annotations?.['k3s.io/node-args']) }))
    .filter((n) => n.args?.[0] === 'server');
  const label = `K3s bundled ${component}`;
  if (servers.length === 0) return { signal: label, holds: false, observed: 'no node carries a K3s server k3s.io/node-args annotation (not a K3s cluster)' };
  const disabling = servers.filter((s) => k3sDisabled(s.args!).includes(component));
  return {
    signal: label,
    holds: disabling.length === 0,
    observed: disabling.length ? `disabled on ${disabling.map((s) => s.name).join(', ')} (--disable ${component})` : `enabled on K3s servers ${servers.map((s) => s.name).join(', ')}`,
  };
}

function parseNodeArgs(annotation: string | undefined): string[] | undefined {
  if (!annotation) return undefined;
  try {
    const value: unknown = JSON.parse(annotation);
    return Array.isArray(value) ? value.map(String) : undefined;
  } catch {
    return undefined;
  }
}

async function snapSignal(ctx: RunContext, cluster: StartedCluster, confinement: 'strict'): Promise<SignalResult> {
  const label = `MicroK8s snap with ${confinement} confinement`;
  const withMachine = cluster.nodes.filter((n) => n.machine);
  if (withMachine.length === 0) return { signal: label, holds: false, observed: 'no node handle to run `snap list` (existing cluster)' };
  const rows: string[] = [];
  let holds = true;
  for (const node of withMachine) {
    const result = await node.machine!.exec('snap list microk8s', { check: false, timeoutMs: ctx.scaled(30_000), signal: ctx.signal });
    const snap = parseSnapList(result.stdout).find((s) => s.name === 'microk8s');
    if (!snap) {
      holds = false;
      rows.push(`${node.name}: ${(result.stderr || result.stdout).trim().split('\n')[0] || 'microk8s snap not installed'}`);
      continue;
    }
    holds &&= snap.confinement === confinement;
    rows.push(`${node.name}: ${snap.name} ${snap.version} (${snap.tracking}) ${snap.confinement}`);
  }
  return { signal: label, holds, observed: rows.join('; ') };
}
