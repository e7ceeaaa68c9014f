/**
 * Replicated-volume health as each storage engine reports it, reduced to one
 * shape: healthy / degraded / faulted, replicas wanted and healthy, and the
 * nodes holding them.
 */
export type VolumeHealth = 'healthy' | 'degraded' | 'faulted' | 'unknown';

export interface ReplicatedVolumeStatus {
  engine: 'longhorn' | 'jiva' | 'mayastor';
  volume: string;
  health: VolumeHealth;
  attached: boolean;
  wantedReplicas: number;
  healthyReplicas: number;
  replicaNodes: string[];
  detail: string;
}

/**
 * Longhorn: volumes.longhorn.io (v1beta2) status.state / status.robustness
 * (longhorn-manager k8s/pkg/apis/longhorn/v1beta2/volume.go), and its
 * replicas.longhorn.io (label longhornvolume=<volume>): spec.nodeID, status.currentState.
 */
export function longhornVolumeStatus(volume: unknown, replicas: unknown[]): ReplicatedVolumeStatus {
  const v = volume as { metadata?: { name?: string }; spec?: { numberOfReplicas?: number }; status?: { state?: string; robustness?: string; currentNodeID?: string } };
  const rs = replicas as { spec?: { nodeID?: string; failedAt?: string }; status?: { currentState?: string } }[];
  const running = rs.filter((r) => r.status?.currentState === 'running' && !r.spec?.failedAt);
  const robustness = v.status?.robustness;
  return {
    engine: 'longhorn',
    volume: v.metadata?.name ?? '',
    health: robustness === 'healthy' ? 'healthy' : robustness === 'degraded' ? 'degraded' : robustness === 'faulted' ? 'faulted' : 'unknown',
    attached: v.status?.state === 'attached',
    wantedReplicas: v.spec?.numberOfReplicas ?? 0,
    healthyReplicas: running.length,
    replicaNodes: [...new Set(rs.map((r) => r.spec?.nodeID).filter((n): n is string => Boolean(n)))],
    detail: `state=${v.status?.state ?? '?'} robustness=${robustness ?? '?'} on ${v.status?.currentNodeID || '-'}; replicas ${rs.map((r) => `${r.spec?.nodeID ?? '?'}:${r.status?.currentState ?? '?'}`).join(', ') || 'none'}`,
  };
}

/**
 * OpenEBS Jiva: jivavolumes.openebs.io status {status: RW|RO|..., replicaCount,
 * replicaStatus: [{address, mode: RW|WO|ERR}], phase} (openebs/jiva-operator
 * pkg/apis/openebs/v1 types); the wanted count from spec.policy.target.replicationFactor.
 * Replica nodes come from the replica pods (`<pv>-jiva-rep-N`), passed in.
 */
export function jivaVolumeStatus(volume: unknown, replicaPodNodes: string[]): ReplicatedVolumeStatus {
  const v = volume as {
    metadata?: { name?: string };
    spec?: { desiredReplicationFactor?: number; policy?: { target?: { replicationFactor?: number } } };
    status?: { status?: string; replicaCount?: number; replicaStatus?: { address?: string; mode?: string }[] | null; phase?: string };
  };
  const modes = (v.status?.replicaStatus ?? []).map((r) => r.mode ?? '?');
  const wanted = v.spec?.policy?.target?.replicationFactor ?? v.spec?.desiredReplicationFactor ?? v.status?.replicaCount ?? 0;
  const healthyReplicas = modes.filter((m) => m === 'RW').length;
  const rw = v.status?.status === 'RW';
  const health: VolumeHealth = !rw ? (v.status?.status ? 'faulted' : 'unknown') : healthyReplicas >= wanted && wanted > 0 ? 'healthy' : 'degraded';
  return {
    engine: 'jiva',
    volume: v.metadata?.name ?? '',
    health,
    attached: rw,
    wantedReplicas: wanted,
    healthyReplicas,
    replicaNodes: [...new Set(replicaPodNodes)],
    detail: `status=${v.status?.status ?? '?'} phase=${v.status?.phase ?? '?'} replicas ${modes.join(',') || 'none'} (wanted ${wanted})`,
  };
}

/**
 * OpenEBS Mayastor: a volume from its REST API (`GET /v0/volumes/<uuid>`, the
 * model `kubectl mayastor -ojson get volumes` prints, openebs/mayastor-control-plane
 * k8s/plugin/README.md): spec.num_replicas, state.status Online|Degraded|Faulted,
 * state.target.children [{uri, state}], state.replica_topology {id: {node, state}}.
 */
export function mayastorVolumeStatus(volume: unknown): ReplicatedVolumeStatus {
  const v = volume as {
    spec?: { num_replicas?: number; uuid?: string };
    state?: {
      status?: string;
      uuid?: string;
      target?: { children?: { state?: string; uri?: string }[]; node?: string; state?: string };
      replica_topology?: Record<string, { node?: string; state?: string }>;
    };
  };
  const status = v.state?.status;
  const topology = Object.values(v.state?.replica_topology ?? {});
  const children = v.state?.target?.children ?? [];
  const healthyReplicas = topology.length ? topology.filter((r) => r.state === 'Online').length : children.filter((c) => c.state === 'Online').length;
  return {
    engine: 'mayastor',
    volume: v.spec?.uuid ?? v.state?.uuid ?? '',
    health: status === 'Online' ? 'healthy' : status === 'Degraded' ? 'degraded' : status === 'Faulted' ? 'faulted' : 'unknown',
    attached: Boolean(v.state?.target),
    wantedReplicas: v.spec?.num_replicas ?? 0,
    healthyReplicas,
    replicaNodes: [...new Set(topology.map((r) => r.node).filter((n): n is string => Boolean(n)))],
    detail: `status=${status ?? '?'} target on ${v.state?.target?.node ?? '-'}; children ${children.map((c) => c.state).join(',') || 'none'}`,
  };
}
