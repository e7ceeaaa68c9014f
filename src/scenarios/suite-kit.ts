import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { kube, type KubeClients } from './kube.js';
import { MANAGED_BY } from './workloads.js';

/** `ep-<suite>-<hash8 of the run id>`: one namespace per suite and run. */
export function suiteNamespace(ctx: RunContext, suite: string): string {
  return `ep-${suite}-${createHash('sha256').update(ctx.runId).digest('hex').slice(0, 8)}`;
}

/** Creates the suite's namespace, runs `use` in it, and deletes it (without waiting) whatever happened. */
export async function withSuiteNamespace<T>(ctx: RunContext, clients: KubeClients, suite: string, use: (namespace: string) => Promise<T>): Promise<T> {
  const namespace = suiteNamespace(ctx, suite);
  await kube('create namespace', () => clients.core.createNamespace({ body: { metadata: { name: namespace, labels: MANAGED_BY } } }));
  try {
    return await use(namespace);
  } finally {
    await kube('delete namespace', () => clients.core.deleteNamespace({ name: namespace })).catch(() => undefined);
  }
}

/** One line per pod: phase, node, waiting reason, unschedulable message. */
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

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
