import { request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
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

/** A raw GET against the apiserver with the kubeconfig's credentials (health endpoints, /metrics). */
export async function apiGet(kc: KubeConfig, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const options: RequestOptions = { host: server.hostname, port: server.port || 443, path, method: 'GET', timeout: timeoutMs };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new KubeApiError(`GET ${path}`, undefined, `no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(new KubeApiError(`GET ${path}`, undefined, error.message, { cause: error })));
    req.end();
  });
}
