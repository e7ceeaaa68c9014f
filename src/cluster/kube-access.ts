import { request, type RequestOptions } from 'node:https';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeApiError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { sleep } from '../core/wait.js';

const log = logger('kube');

export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function kubeClients(kc: KubeConfig): KubeClients {
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

/** A kubeconfig file's credentials against another server (one control plane of several). */
export function kubeConfigWithServer(path: string, server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const current = kc.getCurrentCluster();
  if (!current || current.server === server) return kc;
  const clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server } : c));
  kc.loadFromOptions({ clusters, users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  return kc;
}

/** The server of a kubeconfig file's current context. */
export function kubeconfigServer(path: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc.getCurrentCluster()!.server;
}

/** A raw request against the apiserver with the kubeconfig's credentials and a hard timeout (probes, health endpoints). */
export async function apiRequest(kc: KubeConfig, method: string, path: string, options: { body?: unknown; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const server = new URL(kc.getCurrentCluster()!.server);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const request_: RequestOptions = {
    host: server.hostname, port: server.port || 443, path, method, timeout: timeoutMs,
    headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
  };
  await kc.applyToHTTPSOptions(request_);
  return new Promise((resolve, reject) => {
    const req = request(request_, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The socket timeout only covers idleness: a hard deadline covers a server that trickles.
    const deadline = setTimeout(() => req.destroy(new KubeApiError(`${method} ${path}`, undefined, `no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new KubeApiError(`${method} ${path}`, undefined, `no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(error instanceof KubeApiError ? error : new KubeApiError(`${method} ${path}`, undefined, error.message, { cause: error })));
    req.end(payload);
  });
}

/** A raw GET against the apiserver with the kubeconfig's credentials (health endpoints, /metrics). */
export function apiGet(kc: KubeConfig, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return apiRequest(kc, 'GET', path, { timeoutMs });
}

/**
 * Whether the service account controller has created the `default` service
 * account of `namespace`: until then a pod there is refused. Since v1.24 a
 * pod's token comes from the TokenRequest API at admission, so no token
 * secret is awaited. Undefined when it exists; otherwise what is missing.
 */
export async function missingDefaultServiceAccount(core: CoreV1Api, namespace: string): Promise<string | undefined> {
  const account = await core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined);
  return account ? undefined : 'no default service account yet';
}

/**
 * The one place where client-node's exceptions become KubeApiError, so the
 * rest of the code sees a stable code, the HTTP status and the API's reason.
 */
export async function kube<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiException) {
      const body = parseBody(error.body);
      throw new KubeApiError(operation, error.code, body?.message ?? body?.reason ?? String(error.body).slice(0, 200), { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new KubeApiError(operation, undefined, message, { cause: error });
  }
}

/**
 * An answer worth asking again: the apiserver was busy or briefly unreachable
 * (429, 5xx, no HTTP status at all), not a refusal of the request itself.
 */
export function isTransientApiError(error: unknown): boolean {
  if (!(error instanceof KubeApiError)) return false;
  return error.status === undefined || error.status === 429 || error.status >= 500;
}

/**
 * `kube(operation, call)`, asked again every `pauseMs` while the answer is
 * transient and the budget lasts; any other error, or the last transient
 * one, is thrown as it came.
 */
export async function kubeRetrying<T>(operation: string, call: () => Promise<T>, budgetMs: number, pauseMs = 2_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await kube(operation, call);
    } catch (error) {
      if (!isTransientApiError(error) || Date.now() + pauseMs > deadline) throw error;
      log('%s: %s; asking again in %d ms', operation, (error as Error).message, pauseMs);
      await sleep(pauseMs);
    }
  }
}

function parseBody(body: unknown): { message?: string; reason?: string } | undefined {
  if (body && typeof body === 'object') return body as { message?: string; reason?: string };
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body) as { message?: string; reason?: string };
  } catch {
    return { message: body.slice(0, 200) };
  }
}
