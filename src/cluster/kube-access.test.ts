import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../core/errors.js';
import { isTransientApiError, kube, kubeRetrying } from './kube-access.js';

async function failure(code: number, body: unknown): Promise<unknown> {
  return kube('create namespace x', () => Promise.reject(new ApiException(code, 'HTTP error', body, {}))).catch((e: unknown) => e);
}

/** A call answering with these HTTP codes in turn (0: success; the last code repeats), counting its calls. */
function answering(codes: number[]): (() => Promise<string>) & { calls: () => number } {
  let calls = 0;
  const call = () => {
    const code = codes[Math.min(calls++, codes.length - 1)]!;
    return code ? Promise.reject(new ApiException(code, 'HTTP error', '{"message":"refused"}', {})) : Promise.resolve('created');
  };
  return Object.assign(call, { calls: () => calls });
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
    const flaky = answering([500, 503, 0]);
    await expect(kubeRetrying('create namespace x', flaky, 5_000, 10)).resolves.toBe('created');
    expect(flaky.calls()).toBe(3);

    const forbidden = answering([403]);
    await expect(kubeRetrying('create namespace x', forbidden, 5_000, 10)).rejects.toThrow('(HTTP 403): refused');
    expect(forbidden.calls()).toBe(1);

    const busy = answering([500]);
    await expect(kubeRetrying('create namespace x', busy, 100, 30)).rejects.toThrow('(HTTP 500): refused');
    expect(busy.calls()).toBeGreaterThanOrEqual(2);
    expect(busy.calls()).toBeLessThanOrEqual(5);
  });
});
