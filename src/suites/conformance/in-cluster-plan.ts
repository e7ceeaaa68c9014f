import { stringify as toYaml } from 'yaml';
import type { ConformancePreset } from './presets.js';

/**
 * The conformance run the way hydrophone and sonobuoy do it: the release
 * team's conformance image (e2e.test, ginkgo and the go-runner) as a pod in
 * the cluster, results in a shared emptyDir, read back through a second,
 * sleeping container once the first has ended. Data only: the steps are
 * applied through the Kubernetes API by the scenario, and need the image
 * from a registry the nodes can pull from (a user's machine with internet,
 * or a mirror). Not runnable on this project's CI machine, which has neither.
 */
export interface InClusterRequest {
  /** e.g. registry.k8s.io/conformance:v1.35.4, or the mirror's copy. */
  image: string;
  /** Sleeps beside the runner so the results can be read after it ends (hydrophone's --busybox-image). */
  outputImage: string;
  preset: ConformancePreset;
  nodes: number;
  /** KUBE_TEST_REPO_LIST content for a mirror (CONF-5), mounted from a ConfigMap. */
  repoListYaml?: string;
}

export const IN_CLUSTER = {
  namespace: 'conformance',
  pod: 'e2e-conformance-test',
  runner: 'conformance-container',
  output: 'output-container',
  serviceAccount: 'conformance-serviceaccount',
  resultsDir: '/tmp/results',
  repoListDir: '/etc/edgeproof-e2e',
} as const;

export type PlanStep =
  | { kind: 'apply'; objects: Record<string, unknown>[] }
  | { kind: 'wait-container-terminated'; container: string; budget: 'run' }
  | { kind: 'read-file'; container: string; path: string; saveAs: string; optional: boolean }
  | { kind: 'delete'; what: string };

export interface InClusterPlan {
  objects: Record<string, unknown>[];
  steps: PlanStep[];
}

export function inClusterPlan(request: InClusterRequest): InClusterPlan {
  const { namespace, pod, runner, output, serviceAccount, resultsDir, repoListDir } = IN_CLUSTER;
  const labels = { 'app.kubernetes.io/managed-by': 'edgeproof', component: 'conformance' };
  const env: { name: string; value: string }[] = [
    { name: 'E2E_FOCUS', value: request.preset.focus },
    { name: 'E2E_SKIP', value: request.preset.skip },
    { name: 'E2E_PROVIDER', value: 'skeleton' },
    // The go-runner's own parallel switch adds "--p" (one node per CPU of the pod); the node count is passed instead.
    { name: 'E2E_PARALLEL', value: 'false' },
    { name: 'E2E_USE_GO_RUNNER', value: 'true' },
    { name: 'E2E_EXTRA_GINKGO_ARGS', value: `--nodes=${request.nodes} -v` },
    { name: 'RESULTS_DIR', value: resultsDir },
  ];
  if (request.repoListYaml) env.push({ name: 'KUBE_TEST_REPO_LIST', value: `${repoListDir}/repo-list.yaml` });
  const mounts = [{ name: 'results', mountPath: resultsDir }, ...(request.repoListYaml ? [{ name: 'repo-list', mountPath: repoListDir, readOnly: true }] : [])];

  const objects: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: serviceAccount, labels },
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['/metrics', '/logs', '/logs/*'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${serviceAccount}-role`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: serviceAccount },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
    ...(request.repoListYaml ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'repo-list', namespace, labels }, data: { 'repo-list.yaml': request.repoListYaml } }] : []),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace, labels },
      spec: {
        serviceAccountName: serviceAccount,
        restartPolicy: 'Never',
        tolerations: [{ operator: 'Exists' }],
        containers: [
          { name: runner, image: request.image, imagePullPolicy: 'IfNotPresent', env, volumeMounts: mounts },
          { name: output, image: request.outputImage, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'sleep 2147483647'], volumeMounts: [{ name: 'results', mountPath: resultsDir }] },
        ],
        volumes: [{ name: 'results', emptyDir: {} }, ...(request.repoListYaml ? [{ name: 'repo-list', configMap: { name: 'repo-list' } }] : [])],
      },
    },
  ];
  return {
    objects,
    steps: [
      { kind: 'apply', objects },
      { kind: 'wait-container-terminated', container: runner, budget: 'run' },
      { kind: 'read-file', container: output, path: `${resultsDir}/e2e.log`, saveAs: 'e2e.log', optional: false },
      // Ginkgo v2 merges every parallel process into one report; a run that stopped early may have written none.
      { kind: 'read-file', container: output, path: `${resultsDir}/junit_01.xml`, saveAs: 'junit_01.xml', optional: true },
      { kind: 'delete', what: `namespace ${namespace} and cluster-scoped ${serviceAccount} RBAC` },
    ],
  };
}

/** The plan's objects as one YAML stream (what `kubectl apply -f -` would take; shown in the docs and the run dir). */
export function planManifest(plan: InClusterPlan): string {
  return plan.objects.map((o) => toYaml(o)).join('---\n');
}
