import { request, type RequestOptions } from 'node:https';
import { KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import { KubeApiError } from '../core/errors.js';

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
 * Whether the `default` service account of `namespace` has its token: the
 * service account and token controllers have done their work there.
 * Undefined when it has; otherwise what is missing.
 */
export async function missingDefaultToken(core: CoreV1Api, namespace: string): Promise<string | undefined> {
  const account = await core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined);
  if (account?.secrets?.length) return undefined;
  return account ? 'no token secret yet' : 'no default service account yet';
}
