import type { V1Container, V1Deployment, V1Pod, V1PodSpec, V1Service } from '@kubernetes/client-node';

/** Labels every object the harness creates carries. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'edgeproof' };

/**
 * A small HTTP server from busybox that answers with a marker naming the pod,
 * so a response proves which pod served it.
 */
export function webDeployment(name: string, image: string, replicas: number): V1Deployment {
  const labels = { app: name, ...MANAGED_BY };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'web',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', 'mkdir -p /tmp/www && echo "edgeproof-marker $HOSTNAME" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
              ports: [{ containerPort: 8080, name: 'http' }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
            },
          ],
        },
      },
    },
  };
}

export function clusterIpService(name: string, selectorApp: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: MANAGED_BY },
    spec: { type: 'ClusterIP', selector: { app: selectorApp }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', name: 'http' }] },
  };
}

/**
 * A one-shot probe pod: sends an HTTP/1.0 GET to `url` with busybox nc
 * (Debian's static busybox wget segfaults in a bare image: glibc NSS) and
 * exits; its log is the raw response (or nc's error), its exit code nc's.
 */
export function httpProbePod(name: string, image: string, url: string, timeoutSeconds: number, nodeName?: string): V1Pod {
  const target = new URL(url);
  const port = target.port || '80';
  const script = 'printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$2" "$0" | nc -w "$3" "$0" "$1" 2>&1; rc=$?; echo; echo "probe-exit=$rc"; exit $rc';
  return oneShotPod(
    name,
    { image, command: ['sh', '-c', script, target.hostname, port, `${target.pathname}${target.search}`, String(Math.max(1, Math.round(timeoutSeconds)))] },
    nodeName ? { nodeName } : {},
  );
}

/**
 * A pod that runs one container named `probe` once (restartPolicy Never,
 * no grace period), labelled as a probe of the harness.
 */
export function oneShotPod(name: string, container: Omit<V1Container, 'name'>, spec: Partial<V1PodSpec> = {}, metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { role: 'probe', ...MANAGED_BY, ...metadata.labels }, ...(metadata.annotations ? { annotations: metadata.annotations } : {}) },
    spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, ...spec, containers: [{ name: 'probe', imagePullPolicy: 'IfNotPresent', ...container }] },
  };
}

/** Required node affinity on the `kubernetes.io/hostname` label (In: only these nodes; NotIn: any but these). */
export function hostnameAffinity(operator: 'In' | 'NotIn', hostnames: string[]): Pick<V1PodSpec, 'affinity'> {
  return { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator, values: hostnames }] }] } } } };
}
