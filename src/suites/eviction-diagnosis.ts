import { describeError, formatMs } from '../core/errors.js';
import type { ClusterAccess } from './ha-probes.js';

/**
 * Why pods on a failed node were not evicted, read off the API as the node
 * lifecycle controller and its taint manager see it. The chain is: the
 * controller taints the NotReady node NoExecute (unless the zone looks
 * disrupted, or no controller holds the lease), then the taint manager
 * deletes each pod once its toleration runs out (an event says so), then
 * the ReplicaSet makes a replacement.
 */
export interface EvictionFacts {
  now: number;
  targets: string[];
  nodes: NodeFacts[];
  /** Pods of the workload still bound to a target node. */
  stuckPods: { name: string; node: string; deleting: boolean; tolerationSeconds?: number }[];
  /** TaintManagerEviction events, by pod. */
  evictionEvents: { pod: string; at?: string; message?: string }[];
  controllerManager?: { holder?: string; renewTime?: string; leaseDurationSeconds?: number };
}

export interface NodeFacts {
  name: string;
  zone: string;
  /** The Ready condition's status: True, False, Unknown, or absent. */
  ready?: string;
  noExecuteTaints: { key: string; timeAdded?: string }[];
}

/** What an untainted node under a live controller in a normal zone looks like, and where it was seen before. */
export const STUCK_TAINT_QUEUE = "the controller's NoExecute taint queue is stuck behind a stale entry, as in Kubernetes releases without the fix for kubernetes#94183 (kubernetes#96876)";

/** Defaults of kube-controller-manager (--unhealthy-zone-threshold, --large-cluster-size-threshold). */
export const NODE_LIFECYCLE_DEFAULTS = { unhealthyZoneThreshold: 0.55, largeClusterSizeThreshold: 50 };

export type ZoneState = 'normal' | 'partial-disruption' | 'full-disruption';

/** The node lifecycle controller's zone state (its ComputeZoneState): NotReady means Ready is not True. */
export function zoneState(nodes: NodeFacts[], threshold = NODE_LIFECYCLE_DEFAULTS.unhealthyZoneThreshold): { state: ZoneState; notReady: number; size: number } {
  const notReady = nodes.filter((n) => n.ready !== 'True').length;
  const size = nodes.length;
  if (notReady > 0 && notReady === size) return { state: 'full-disruption', notReady, size };
  if (notReady > 2 && notReady / size >= threshold) return { state: 'partial-disruption', notReady, size };
  return { state: 'normal', notReady, size };
}

/** One sentence naming the first broken link of the eviction chain, for each stuck pod's node. */
export function evictionCause(facts: EvictionFacts): string {
  if (facts.stuckPods.length === 0) return 'no pod is left on the failed node(s): the replacements are not Ready (scheduling or start-up, not eviction)';
  const causes = new Set<string>();
  for (const pod of facts.stuckPods) causes.add(podCause(facts, pod));
  return [...causes].join('; ');
}

function podCause(facts: EvictionFacts, pod: EvictionFacts['stuckPods'][number]): string {
  const node = facts.nodes.find((n) => n.name === pod.node);
  if (!node) return `${pod.name}: its node ${pod.node} is not in the node list`;
  if (pod.deleting) return `${pod.name} is being deleted but its node ${node.name} cannot confirm it (graceful deletion of a pod on a dead node waits for its grace period)`;
  if (node.noExecuteTaints.length === 0) return `${node.name} (Ready=${node.ready ?? 'absent'}) carries no NoExecute taint: ${whyNotTainted(facts, node)}`;
  const taint = node.noExecuteTaints[0]!;
  const since = taint.timeAdded ? `${formatMs(facts.now - Date.parse(taint.timeAdded))} ago` : 'at an unknown time';
  const event = facts.evictionEvents.find((e) => e.pod === pod.name);
  if (!event) return `${node.name} was tainted ${taint.key}:NoExecute ${since}, yet the taint manager never marked ${pod.name} for deletion (toleration ${pod.tolerationSeconds ?? 'unbounded'} s)`;
  return `the taint manager marked ${pod.name} for deletion${event.at ? ` at ${event.at}` : ''}, but the pod was never deleted: the delete failed and the taint manager does not retry it`;
}

function whyNotTainted(facts: EvictionFacts, node: NodeFacts): string {
  const zone = zoneState(facts.nodes.filter((n) => n.zone === node.zone));
  const zoneName = node.zone || '(no zone label)';
  if (zone.state === 'full-disruption') return `every node of zone ${zoneName} is NotReady (full disruption: the node lifecycle controller stops tainting)`;
  if (zone.state === 'partial-disruption' && zone.size <= NODE_LIFECYCLE_DEFAULTS.largeClusterSizeThreshold) {
    return `${zone.notReady} of ${zone.size} nodes of zone ${zoneName} are NotReady, a partial disruption in a cluster under ${NODE_LIFECYCLE_DEFAULTS.largeClusterSizeThreshold} nodes: the node lifecycle controller stops tainting`;
  }
  const lease = facts.controllerManager;
  if (!lease?.holder) return 'no controller-manager holds the leader lease';
  const holderName = lease.holder.split('_')[0]!;
  const renewedAgo = lease.renewTime ? facts.now - Date.parse(lease.renewTime) : Number.NaN;
  if (facts.targets.includes(holderName) || renewedAgo > (lease.leaseDurationSeconds ?? 15) * 1000) {
    return `the controller-manager lease is held by ${holderName}, last renewed ${Number.isFinite(renewedAgo) ? `${formatMs(renewedAgo)} ago` : 'never'}: no live node lifecycle controller`;
  }
  return `zone ${zoneName} is normal (${zone.notReady} of ${zone.size} NotReady) and ${holderName} leads the controller-manager (renewed ${formatMs(renewedAgo)} ago), yet the node was not tainted: ${STUCK_TAINT_QUEUE}`;
}

interface NodeList {
  items: { metadata: { name: string; labels?: Record<string, string> }; spec?: { taints?: { key: string; effect: string; timeAdded?: string }[] }; status?: { conditions?: { type: string; status: string }[] } }[];
}
interface PodList {
  items: { metadata: { name: string; deletionTimestamp?: string }; spec?: { nodeName?: string; tolerations?: { key?: string; effect?: string; tolerationSeconds?: number }[] } }[];
}
interface EventList {
  items: { involvedObject?: { name?: string }; lastTimestamp?: string; eventTime?: string; message?: string }[];
}
interface Lease {
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** Reads the facts through any live control plane; whatever cannot be read is left out and said. */
export async function readEvictionFacts(access: ClusterAccess, namespace: string, selector: string, targets: string[]): Promise<EvictionFacts> {
  const [nodes, pods, events, lease] = await Promise.all([
    access.getJson<NodeList>('/api/v1/nodes'),
    access.getJson<PodList>(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`),
    access.getJson<EventList>(`/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent('reason=TaintManagerEviction')}`).catch(() => ({ items: [] })),
    access.getJson<Lease>('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager').catch(() => undefined),
  ]);
  return {
    now: Date.now(),
    targets,
    nodes: nodes.items.map((n) => ({
      name: n.metadata.name,
      zone: zoneKey(n.metadata.labels ?? {}),
      ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status,
      noExecuteTaints: (n.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute').map((t) => ({ key: t.key, ...(t.timeAdded ? { timeAdded: t.timeAdded } : {}) })),
    })),
    stuckPods: pods.items
      .filter((p) => targets.includes(p.spec?.nodeName ?? ''))
      .map((p) => ({
        name: p.metadata.name,
        node: p.spec!.nodeName!,
        deleting: Boolean(p.metadata.deletionTimestamp),
        tolerationSeconds: p.spec?.tolerations?.find((t) => t.effect === 'NoExecute' && t.tolerationSeconds !== undefined)?.tolerationSeconds,
      })),
    evictionEvents: events.items.map((e) => ({ pod: e.involvedObject?.name ?? '', at: e.lastTimestamp ?? e.eventTime, message: e.message })),
    ...(lease?.spec ? { controllerManager: { holder: lease.spec.holderIdentity, renewTime: lease.spec.renewTime, leaseDurationSeconds: lease.spec.leaseDurationSeconds } } : {}),
  };
}

/** The controller's zone: its region and zone labels (nodes without them share one zone). */
function zoneKey(labels: Record<string, string>): string {
  const region = labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region || zone ? `${region}/${zone}` : '';
}

/** The cause and its facts, or why they could not be read. */
export async function diagnoseEviction(access: ClusterAccess, namespace: string, selector: string, targets: string[]): Promise<{ cause: string; facts?: EvictionFacts }> {
  try {
    const facts = await readEvictionFacts(access, namespace, selector, targets);
    return { cause: evictionCause(facts), facts };
  } catch (error) {
    return { cause: `the eviction chain could not be read: ${describeError(error)}` };
  }
}
