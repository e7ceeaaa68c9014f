import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { waitFor } from '../core/wait.js';
import { kube, type KubeClients } from '../cluster/kube-access.js';
import { describePods } from './suite-kit.js';
import { oneShotPod } from './workloads.js';

/** One HTTP attempt as the probe container saw it. */
export interface ProbeAttempt {
  attempt: number;
  /** `HTTP/1.1 200 OK`, or undefined when nothing HTTP came back (refused, reset, timed out). */
  statusLine?: string;
  status?: number;
  body: string;
  /** nc's exit code. */
  rc: number;
  /** From /proc/uptime before and after (10 ms resolution): the request's duration inside the pod. */
  elapsedMs: number;
}

export interface RequestSpec {
  /** Address and port the request goes to (a ClusterIP, a pod IP, a node IP). */
  address: string;
  port: number;
  path?: string;
  /** Host header; defaults to the address (set it for Ingress, Knative and gateways). */
  hostHeader?: string;
  method?: 'GET' | 'POST';
  /** Extra request headers, one `Name: value` each. */
  headers?: string[];
  body?: string;
  attempts: number;
  /** Per attempt (nc -w, whole seconds). */
  timeoutSeconds: number;
  /** Pause between attempts. */
  pauseSeconds?: number;
}

/**
 * A shell script for busybox that sends `attempts` raw HTTP/1.0 requests with
 * nc and frames each answer, so the harness can judge every attempt
 * (Debian's static busybox has no date %N: /proc/uptime gives the timing).
 */
export const REQUEST_SCRIPT = [
  'i=0',
  'while [ "$i" -lt "$ATTEMPTS" ]; do',
  '  i=$((i+1))',
  '  t0=$(cut -d" " -f1 /proc/uptime)',
  '  echo "--- attempt $i t0=$t0"',
  '  { printf "%s %s HTTP/1.0\\r\\nHost: %s\\r\\n" "$METHOD" "$REQ_PATH" "$HOST_HEADER"; [ -n "$EXTRA_HEADERS" ] && printf "%b" "$EXTRA_HEADERS"; printf "Content-Length: %s\\r\\n\\r\\n%s" "${#REQ_BODY}" "$REQ_BODY"; } | nc -w "$TIMEOUT" "$ADDRESS" "$PORT" 2>&1',
  '  rc=$?',
  '  t1=$(cut -d" " -f1 /proc/uptime)',
  '  echo',
  '  echo "--- end $i rc=$rc t1=$t1"',
  '  [ "$i" -lt "$ATTEMPTS" ] && sleep "$PAUSE"',
  'done',
  'exit 0',
].join('\n');

/** The probe pod for `spec`; `container` is named `probe` so its exit is awaited even beside a mesh sidecar. */
export function requestPod(
  name: string,
  image: string,
  spec: RequestSpec,
  extra: { nodeName?: string; annotations?: Record<string, string>; labels?: Record<string, string>; headersSecret?: { name: string; key: string } } = {},
): V1Pod {
  const env = {
    ADDRESS: spec.address,
    PORT: String(spec.port),
    REQ_PATH: spec.path ?? '/',
    HOST_HEADER: spec.hostHeader ?? spec.address,
    METHOD: spec.method ?? 'GET',
    EXTRA_HEADERS: (spec.headers ?? []).map((h) => `${h}\\r\\n`).join(''),
    REQ_BODY: spec.body ?? '',
    ATTEMPTS: String(spec.attempts),
    TIMEOUT: String(Math.max(1, Math.round(spec.timeoutSeconds))),
    PAUSE: String(spec.pauseSeconds ?? 1),
  };
  return oneShotPod(
    name,
    {
      image,
      command: ['sh', '-c', REQUEST_SCRIPT],
      // Headers with credentials come from a Secret, never from the pod spec.
      env: Object.entries(env).map(([key, value]) => (key === 'EXTRA_HEADERS' && extra.headersSecret ? { name: key, valueFrom: { secretKeyRef: extra.headersSecret } } : { name: key, value })),
    },
    extra.nodeName ? { nodeName: extra.nodeName } : {},
    { ...(extra.annotations ? { annotations: extra.annotations } : {}), ...(extra.labels ? { labels: extra.labels } : {}) },
  );
}

/** Splits a probe log into its attempts. */
export function parseRequestLog(log: string): ProbeAttempt[] {
  const attempts: ProbeAttempt[] = [];
  const pattern = /^--- attempt (\d+) t0=([\d.]+)\n([\s\S]*?)\n--- end \1 rc=(\d+) t1=([\d.]+)$/gm;
  for (const match of log.matchAll(pattern)) {
    const raw = match[3]!.replace(/^\n+|\n+$/g, '');
    const statusLine = /^HTTP\/\d\.\d \d{3}\b.*$/m.exec(raw.split('\n')[0] ?? '')?.[0]?.trim();
    const headerEnd = raw.search(/\r?\n\r?\n/);
    attempts.push({
      attempt: Number(match[1]),
      ...(statusLine ? { statusLine, status: Number(statusLine.split(' ')[1]) } : {}),
      body: (statusLine && headerEnd >= 0 ? raw.slice(headerEnd).trim() : raw).slice(0, 500),
      rc: Number(match[4]),
      elapsedMs: Math.round((Number(match[5]) - Number(match[2])) * 1000),
    });
  }
  return attempts;
}

export interface ProbeRun {
  pod: string;
  node?: string;
  exitCode?: number;
  log: string;
  attempts: ProbeAttempt[];
}

/**
 * Creates a pod and waits for its `probe` container to terminate (not the pod:
 * a mesh sidecar keeps an injected pod Running), then returns that container's log.
 */
export async function runProbePod(ctx: RunContext, clients: KubeClients, namespace: string, pod: V1Pod, budgetMs: number): Promise<ProbeRun> {
  const name = pod.metadata!.name!;
  await kube(`create probe pod ${name}`, () => clients.core.createNamespacedPod({ namespace, body: pod }));
  const finished = await waitFor(
    async () => {
      const current = await kube('read probe pod', () => clients.core.readNamespacedPod({ name, namespace }));
      const terminated = current.status?.containerStatuses?.find((c) => c.name === 'probe')?.state?.terminated;
      return terminated ? { done: true as const, value: { current, exitCode: terminated.exitCode } } : { done: false as const, observed: describePods([current]) };
    },
    { what: `probe pod ${name} finished`, budgetMs, pollMs: 1000, signal: ctx.signal },
  );
  const log = String(await kube('read probe log', () => clients.core.readNamespacedPodLog({ name, namespace, container: 'probe' })).catch((error: Error) => `(log unavailable: ${error.message})`));
  return { pod: name, node: finished.current.spec?.nodeName, exitCode: finished.exitCode, log, attempts: parseRequestLog(log) };
}

/** A compact view of attempts for evidence: `1: HTTP/1.0 200 OK (12 ms)`, `2: no HTTP answer (nc rc=1: ...)`. */
export function summarizeAttempts(attempts: ProbeAttempt[]): string[] {
  return attempts.map((a) => `${a.attempt}: ${a.statusLine ?? `no HTTP answer (nc rc=${a.rc}${a.body ? `: ${a.body.slice(0, 80)}` : ''})`} (${a.elapsedMs} ms)`);
}
