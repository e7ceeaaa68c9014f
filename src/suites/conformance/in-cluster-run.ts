import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubernetesObjectApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../../core/context.js';
import { describeError } from '../../core/errors.js';
import { waitFor } from '../../core/wait.js';
import type { StartedCluster } from '../../cluster/distribution.js';
import { kube, kubeClients } from '../../cluster/kube-access.js';
import { execInPod } from '../pod-exec.js';
import { E2eProgressCounter, type E2eOutcome } from './e2e-runner.js';
import { IN_CLUSTER, inClusterPlan, planManifest, type InClusterRequest } from './in-cluster-plan.js';

export interface InClusterRun extends InClusterRequest {
  reportDir: string;
  timeoutMs: number;
}

/**
 * Executes the in-cluster plan through the API: create the objects, wait for
 * the runner container to end, read e2e.log and the JUnit files out of the
 * output container, delete everything. Needs the conformance image where the
 * nodes can pull it; never exercised on this project's offline CI.
 */
export async function runInCluster(ctx: RunContext, cluster: StartedCluster, request: InClusterRun): Promise<E2eOutcome> {
  const plan = inClusterPlan(request);
  writeFileSync(join(request.reportDir, 'in-cluster-plan.yaml'), planManifest(plan));
  const kc = cluster.kubeConfig();
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kubeClients(kc).core;
  const started = Date.now();
  const outcome: E2eOutcome = { exitCode: null, signal: null, timedOut: false, interrupted: false, durationMs: 0, e2eLog: join(request.reportDir, 'e2e.log'), junitFiles: [], progress: new E2eProgressCounter().state };
  try {
    for (const object of plan.objects) await kube(`create ${String(object.kind)} ${(object.metadata as { name: string }).name}`, () => objects.create(object as KubernetesObject));
    const pod = await waitFor<V1Pod>(
      async () => {
        const current = await kube('read the conformance pod', () => core.readNamespacedPod({ name: IN_CLUSTER.pod, namespace: IN_CLUSTER.namespace }));
        const runner = current.status?.containerStatuses?.find((c) => c.name === IN_CLUSTER.runner);
        if (runner?.state?.terminated) return { done: true, value: current };
        return { done: false, observed: `pod ${current.status?.phase ?? 'unknown'}; runner ${JSON.stringify(runner?.state ?? {})}` };
      },
      { what: 'the conformance container to finish', budgetMs: request.timeoutMs, pollMs: 10_000, signal: ctx.signal },
    ).catch((error: unknown) => {
      if (ctx.signal.aborted) outcome.interrupted = true;
      else outcome.timedOut = true;
      ctx.progress.info(`conformance pod: ${describeError(error)}`);
      return undefined;
    });
    outcome.exitCode = pod?.status?.containerStatuses?.find((c) => c.name === IN_CLUSTER.runner)?.state?.terminated?.exitCode ?? null;
    for (const step of plan.steps) {
      if (step.kind !== 'read-file') continue;
      const read = await execInPod(kc, { namespace: IN_CLUSTER.namespace, pod: IN_CLUSTER.pod, container: step.container, command: ['cat', step.path], timeoutMs: ctx.scaled(60_000) }).catch(() => undefined);
      if (!read || read.exitCode !== 0) continue;
      const file = join(request.reportDir, step.saveAs);
      writeFileSync(file, read.stdout);
      if (step.saveAs.startsWith('junit_')) outcome.junitFiles.push(file);
    }
  } finally {
    outcome.durationMs = Date.now() - started;
    await deletePlanObjects(objects, plan.objects);
  }
  return outcome;
}

async function deletePlanObjects(api: KubernetesObjectApi, objects: Record<string, unknown>[]): Promise<void> {
  // The namespace takes its pods and ConfigMap with it; the cluster-scoped RBAC goes on its own.
  for (const object of objects.filter((o) => ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(String(o.kind)))) {
    await api.delete(object as KubernetesObject).catch(() => undefined);
  }
}
