import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../core/errors.js';
import { isTransientApiError, kube, kubeRetrying } from './kube.js';

async function failure(code: number, body: unknown): Promise<unknown> {
  return kube('create namespace x', () => Promise.reject(new ApiException(code, 'HTTP error', body, {}))).catch((e: unknown) => e);
}

describe('kube errors', () => {
  it('carry the operation, the status and the reason the apiserver gave', async () => {
    const error = await failure(500, JSON.stringify({ kind: 'Status', message: 'resource quota evaluation timed out', code: 500 }));
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toBe('Kubernetes API create namespace x failed (HTTP 500): resource quota evaluation timed out');
  });

  it('are transient when the apiserver was busy or unreachable, not when it refused the request', async () => {
    expect(isTransientApiError(await failure(500, '{"message":"resource quota evaluation timed out"}'))).toBe(true);
    expect(isTransientApiError(await failure(503, 'service unavailable'))).toBe(true);
    expect(isTransientApiError(await failure(429, '{"message":"too many requests"}'))).toBe(true);
    const unreachable = await kube('list nodes', () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6443'))).catch((e: unknown) => e);
    expect(isTransientApiError(unreachable)).toBe(true);
    for (const code of [400, 403, 404, 409, 422]) expect(isTransientApiError(await failure(code, '{"message":"no"}')), String(code)).toBe(false);
    expect(isTransientApiError(new Error('not from the API'))).toBe(false);
  });

  it('are asked again while transient, and thrown at once when not', async () => {
    const answers = [500, 503, 0];
    let calls = 0;
    const flaky = () => {
      const code = answers[calls++]!;
      return code ? Promise.reject(new ApiException(code, 'HTTP error', '{"message":"busy"}', {})) : Promise.resolve('created');
    };
    await expect(kubeRetrying('create namespace x', flaky, 5_000, 10)).resolves.toBe('created');
    expect(calls).toBe(3);

    calls = 0;
    const forbidden = () => {
      calls++;
      return Promise.reject(new ApiException(403, 'HTTP error', '{"message":"forbidden"}', {}));
    };
    await expect(kubeRetrying('create namespace x', forbidden, 5_000, 10)).rejects.toThrow('(HTTP 403): forbidden');
    expect(calls).toBe(1);

    calls = 0;
    const busy = () => {
      calls++;
      return Promise.reject(new ApiException(500, 'HTTP error', '{"message":"still busy"}', {}));
    };
    await expect(kubeRetrying('create namespace x', busy, 100, 30)).rejects.toThrow('(HTTP 500): still busy');
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(5);
  });
});
