/**
 * The operation set against a real cluster. Runs when EDGEPROOF_KUBECONFIG
 * names a kubeconfig (and EDGEPROOF_BENCH_POD_IMAGE an image present on the
 * nodes, default `busybox`); skipped otherwise.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../core/wait.js';
import { KUBE_OPERATION_NAMES, benchLabelSelector, kubeOperations, newBenchRunId } from './kube-operations.js';
import { runOpenModel } from './open-model-loader.js';

const kubeconfigPath = process.env.EDGEPROOF_KUBECONFIG;
const podImage = process.env.EDGEPROOF_BENCH_POD_IMAGE ?? 'busybox';

describe.skipIf(!kubeconfigPath)('kubeOperations against a real cluster (EDGEPROOF_KUBECONFIG)', () => {
  const kc = new KubeConfig();
  let core: CoreV1Api;
  const namespace = `ep-bench-${newBenchRunId()}`;

  beforeAll(async () => {
    kc.loadFromFile(kubeconfigPath!);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // Pods are refused until the namespace's default service account exists.
    await waitFor(
      async () => {
        await core.readNamespacedServiceAccount({ namespace, name: 'default' });
        return { done: true, value: undefined };
      },
      { what: `service account default in ${namespace}`, budgetMs: 120_000 },
    );
  });

  afterAll(async () => {
    await core?.deleteNamespace({ name: namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  });

  it('runs every operation without errors and leaves nothing behind after cleanup', async () => {
    const set = kubeOperations(kc, { namespace, podImage, podImagePullPolicy: 'IfNotPresent' });
    await set.prefill(2);
    expect(set.pools.configmap.size).toBe(2);

    const run = await runOpenModel({ operations: set.operations, ratePerSecond: 5, durationMs: 8_000, maxInFlight: 10 });
    for (const name of KUBE_OPERATION_NAMES) {
      expect(run.operations[name], name).toMatchObject({ errors: 0, unfinished: 0 });
      expect(run.operations[name]!.count, name).toBeGreaterThanOrEqual(3);
    }

    await set.cleanup();
    const labelSelector = benchLabelSelector(set.runId);
    expect((await core.listNamespacedConfigMap({ namespace, labelSelector })).items).toHaveLength(0);
    const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
    expect(pods.every((pod) => pod.metadata?.deletionTimestamp)).toBe(true);
  });
});
