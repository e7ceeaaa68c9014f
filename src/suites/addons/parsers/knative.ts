/**
 * A Knative Service as `kubectl get ksvc -o json` shows it
 * (serving.knative.dev/v1, https://knative.dev/docs/serving/reference/serving-api/):
 * Ready/ConfigurationsReady/RoutesReady conditions, the URL, the revisions.
 */
export interface KsvcStatus {
  name: string;
  namespace: string;
  ready: boolean;
  /** Why not ready: the Ready condition's reason and message. */
  reason?: string;
  url?: string;
  host?: string;
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  conditions: Record<string, string>;
}

interface KsvcJson {
  metadata?: { name?: string; namespace?: string };
  status?: {
    url?: string;
    latestReadyRevisionName?: string;
    latestCreatedRevisionName?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

export function parseKsvc(json: unknown): KsvcStatus {
  const ksvc = json as KsvcJson;
  const conditions = Object.fromEntries((ksvc.status?.conditions ?? []).map((c) => [c.type ?? '?', c.status ?? 'Unknown']));
  const ready = ksvc.status?.conditions?.find((c) => c.type === 'Ready');
  const url = ksvc.status?.url;
  return {
    name: ksvc.metadata?.name ?? '',
    namespace: ksvc.metadata?.namespace ?? '',
    ready: ready?.status === 'True',
    ...(ready && ready.status !== 'True' ? { reason: [ready.reason, ready.message].filter(Boolean).join(': ') } : {}),
    ...(url ? { url, host: new URL(url).host } : {}),
    ...(ksvc.status?.latestReadyRevisionName ? { latestReadyRevision: ksvc.status.latestReadyRevisionName } : {}),
    ...(ksvc.status?.latestCreatedRevisionName ? { latestCreatedRevision: ksvc.status.latestCreatedRevisionName } : {}),
    conditions,
  };
}

/** `kubectl get ksvc -o json` of several: a List. */
export function parseKsvcList(json: unknown): KsvcStatus[] {
  const items = (json as { items?: unknown[] }).items;
  return Array.isArray(items) ? items.map(parseKsvc) : [parseKsvc(json)];
}
