import type { V1Container, V1Deployment, V1Pod, V1PodSpec, V1Service } from '@kubernetes/client-node';
import { shellQuote } from '../emulation/machine.js';

/** Labels every object the harness creates carries. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'edgeproof' };

/** Label naming the pod itself, so a Service can select exactly one pod (hairpin). */
export const POD_NAME_LABEL = 'dev.edgeproof/pod';

/** Where a pod is placed: pinned to a node (bypassing the scheduler, tolerating every taint) or left to the scheduler. */
export interface Placement {
  nodeName?: string;
  labels?: Record<string, string>;
}

/** busybox httpd on 8080 answering with a marker naming the pod, so a response proves which pod served it. */
export function webContainer(image: string): V1Container {
  return {
    name: 'web',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', 'mkdir -p /tmp/www && echo "edgeproof-marker $HOSTNAME" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
    ports: [{ containerPort: 8080, name: 'http' }],
    readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
  };
}

/** A small HTTP server from busybox (see webContainer). */
export function webDeployment(name: string, image: string, replicas: number): V1Deployment {
  const labels = { app: name, ...MANAGED_BY };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 1, containers: [webContainer(image)] } },
    },
  };
}

/** One web pod (see webContainer), labelled `app: <app>` and with its own name. */
export function webPod(name: string, app: string, image: string, placement: Placement = {}): V1Pod {
  return barePod(name, { app, ...placement.labels }, webContainer(image), placement.nodeName);
}

/** A pod that only sleeps: the harness `exec`s probes in it, so repeated probes cost no pod start. */
export function sleeperPod(name: string, app: string, image: string, placement: Placement = {}): V1Pod {
  const container: V1Container = { name: 'client', image, imagePullPolicy: 'IfNotPresent', command: ['sleep', '2147483647'] };
  return barePod(name, { app, ...placement.labels }, container, placement.nodeName);
}

function barePod(name: string, labels: Record<string, string>, container: V1Container, nodeName?: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { ...labels, [POD_NAME_LABEL]: name, ...MANAGED_BY } },
    spec: {
      terminationGracePeriodSeconds: 1,
      // nodeName skips the scheduler; tolerating every taint keeps a pinned pod on a tainted control plane.
      ...(nodeName ? { nodeName, tolerations: [{ operator: 'Exists' }] } : {}),
      containers: [container],
    },
  };
}

export function clusterIpService(name: string, selectorApp: string): V1Service {
  return service(name, { app: selectorApp }, 'ClusterIP');
}

/** HTTP on port 80 to the selected pods' 8080; a NodePort Service also has a ClusterIP. */
export function service(name: string, selector: Record<string, string>, type: 'ClusterIP' | 'NodePort'): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: MANAGED_BY },
    spec: { type, selector, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', name: 'http' }] },
  };
}

/**
 * Sends an HTTP/1.0 GET with busybox nc (Debian's static busybox wget
 * segfaults in a bare image: glibc NSS) and prints the raw response, then
 * `probe-exit=<nc's code> uptime=<t0>..<t1>`: /proc/uptime read by the shell
 * itself around nc (busybox date has no %N), so the time is the request's as
 * the pod saw it, at 10 ms resolution. Positional: $0 host, $1 port, $2 path, $3 timeout (s).
 */
const POD_HTTP_SCRIPT =
  'read t0 _ < /proc/uptime; printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$2" "$0" | nc -w "$3" "$0" "$1" 2>&1; rc=$?; read t1 _ < /proc/uptime; echo; echo "probe-exit=$rc uptime=$t0..$t1"; exit $rc';

/** argv of the HTTP probe, for a pod's command or an `exec` into a running busybox container. */
export function httpRequestCommand(url: string, timeoutSeconds: number): string[] {
  const { host, port, path } = splitUrl(url);
  return ['sh', '-c', POD_HTTP_SCRIPT, host, port, path, wholeSeconds(timeoutSeconds)];
}

/**
 * The same probe from a node's shell, with the same output: bash's /dev/tcp
 * under `timeout` (Debian nodes have bash and coreutils), else nc when the
 * node has one; exit 127 with `probe-tool=none` when it has neither.
 */
const NODE_HTTP_SCRIPT = [
  'read t0 _ < /proc/uptime',
  'if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then',
  '  timeout "$3" bash -c \'exec 3<>"/dev/tcp/$0/$1" && printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$2" "$0" >&3 && cat <&3\' "$0" "$1" "$2" 2>&1; rc=$?',
  'elif command -v nc >/dev/null 2>&1; then',
  '  printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$2" "$0" | nc -w "$3" "$0" "$1" 2>&1; rc=$?',
  'else',
  '  echo "probe-tool=none: neither bash with timeout nor nc on this node"; exit 127',
  'fi',
  'read t1 _ < /proc/uptime',
  'echo; echo "probe-exit=$rc uptime=$t0..$t1"; exit $rc',
].join('\n');

/** A shell command line (for Machine.exec) that probes `url` from the node itself. */
export function nodeHttpRequestCommand(url: string, timeoutSeconds: number): string {
  const { host, port, path } = splitUrl(url);
  return ['sh', '-c', NODE_HTTP_SCRIPT, host, port, path, wholeSeconds(timeoutSeconds)].map(shellQuote).join(' ');
}

/** Exit code of the node probe when the node has no tool to make a TCP connection. */
export const NO_PROBE_TOOL_EXIT = 127;

/**
 * A one-shot probe pod: runs httpRequestCommand and exits; its log is the raw
 * response (or nc's error), its exit code nc's.
 */
export function httpProbePod(name: string, image: string, url: string, timeoutSeconds: number, nodeName?: string): V1Pod {
  return oneShotPod(name, { image, command: httpRequestCommand(url, timeoutSeconds) }, nodeName ? { nodeName } : {});
}

/** What one HTTP probe saw. */
export interface HttpProbeResult {
  /** `HTTP/1.0 200 OK`, absent when no HTTP answer came back. */
  statusLine?: string;
  status?: number;
  /** `edgeproof-marker <pod>` as the web pod wrote it. */
  marker?: string;
  /** The pod named by the marker. */
  servedBy?: string;
  /** The probe's exit code (nc's, or timeout's 124), absent when the script did not finish. */
  exitCode?: number;
  /** Request time measured by the prober's shell (10 ms resolution). */
  elapsedMs?: number;
  /** The first line of output when there was no HTTP answer (nc's or bash's error). */
  error?: string;
}

/** Parses the output of httpRequestCommand / nodeHttpRequestCommand (also a probe pod's log). */
export function parseHttpProbeOutput(output: string): HttpProbeResult {
  const text = output.replaceAll('\r', '');
  const trailer = /^probe-exit=(\d+)(?: uptime=([\d.]+)\.\.([\d.]+))?$/m.exec(text);
  const firstLine = text.split('\n').find((line) => line.trim() !== '')?.trim();
  const statusLine = firstLine && /^HTTP\/\d\.\d \d{3}\b/.test(firstLine) ? firstLine : undefined;
  const marker = /edgeproof-marker (\S+)/.exec(text);
  const result: HttpProbeResult = {};
  if (statusLine) {
    result.statusLine = statusLine;
    result.status = Number(statusLine.split(' ')[1]);
  } else if (firstLine && !firstLine.startsWith('probe-exit=')) {
    result.error = firstLine.slice(0, 300);
  }
  if (marker) {
    result.marker = marker[0];
    result.servedBy = marker[1]!;
  }
  if (trailer) {
    result.exitCode = Number(trailer[1]);
    if (trailer[2] && trailer[3]) result.elapsedMs = Math.round((Number(trailer[3]) - Number(trailer[2])) * 1000);
  }
  return result;
}

/** Why a probe result is not a good answer from one of `backends` (any web pod when absent); undefined when it is. */
export function httpProbeFailure(result: HttpProbeResult, backends?: readonly string[]): string | undefined {
  if (!result.statusLine) return `no HTTP answer${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''}: ${result.error ?? 'no output'}`;
  if (result.status !== 200) return `answered "${result.statusLine}", not 200`;
  if (!result.servedBy) return 'the answer lacks the web pod\'s marker';
  if (backends && !backends.includes(result.servedBy)) return `served by ${result.servedBy}, expected ${backends.join(' or ')}`;
  return undefined;
}

function splitUrl(url: string): { host: string; port: string; path: string } {
  const target = new URL(url);
  return { host: target.hostname, port: target.port || '80', path: `${target.pathname}${target.search}` };
}

function wholeSeconds(seconds: number): string {
  return String(Math.max(1, Math.round(seconds)));
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
