import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { sleep } from '../core/wait.js';

const log = logger('kube');

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

export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function kubeClients(kc: KubeConfig): KubeClients {
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

export { apiGet } from '../distros/kube-access.js';
