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
 * A one-shot probe pod: fetches `url` with busybox wget and exits; its log is
 * the response body (or the error), its exit code the verdict.
 */
export function httpProbePod(name: string, image: string, url: string, timeoutSeconds: number, nodeName?: string): V1Pod {
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
          // wget's own error goes to the log too; the exit code is the verdict.
          command: ['sh', '-c', `wget -T ${Math.max(1, Math.round(timeoutSeconds))} -O - "$0" 2>&1; rc=$?; echo "probe-exit=$rc"; exit $rc`, url],
        },
      ],
    },
  };
}
