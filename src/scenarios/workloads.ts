import type { V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';

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
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { role: 'probe', ...MANAGED_BY } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      ...(nodeName ? { nodeName } : {}),
      containers: [
        {
          name: 'probe',
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', script, target.hostname, port, `${target.pathname}${target.search}`, String(Math.max(1, Math.round(timeoutSeconds)))],
        },
      ],
    },
  };
}
