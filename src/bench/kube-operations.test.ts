import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  BENCH_REVISION_LABEL,
  BENCH_RUN_LABEL,
  KUBE_OPERATION_NAMES,
  NamePool,
  benchLabelSelector,
  benchObjectName,
  configMapBody,
  kubeOperations,
  newBenchRunId,
  podBody,
  UNSCHEDULED,
  podRevisionPatch,
} from './kube-operations.js';

describe('bench object names', () => {
  it('are DNS-1123 labels carrying the run id, kind and sequence', () => {
    const name = benchObjectName('1a2b3c4d', 'configmap', 17);
    expect(name).toBe('ep-bench-1a2b3c4d-cm-17');
    expect(benchObjectName('1a2b3c4d', 'pod', 1)).toBe('ep-bench-1a2b3c4d-pod-1');
    expect(benchObjectName('0123456789abcdef', 'pod', 999_999).length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('refuse run ids that would make invalid names', () => {
    expect(() => benchObjectName('Run_1', 'pod', 1)).toThrow(/lowercase/);
    expect(() => benchObjectName('', 'pod', 1)).toThrow(/lowercase/);
  });

  it('run ids are 8 hex characters and differ', () => {
    const ids = new Set(Array.from({ length: 20 }, newBenchRunId));
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('NamePool', () => {
  it('hands out fresh names and borrows live ones round-robin', () => {
    const pool = new NamePool('abc', 'configmap');
    const [a, b] = [pool.nextName(), pool.nextName()];
    expect([a, b]).toEqual(['ep-bench-abc-cm-1', 'ep-bench-abc-cm-2']);
    expect(pool.borrow()).toBeUndefined();
    pool.add(a);
    pool.add(b);
    pool.add(a);
    expect(pool.size).toBe(2);
    expect([pool.borrow(), pool.borrow(), pool.borrow()]).toEqual([a, b, a]);
  });

  it('never gives a delete a name that a get or update holds', () => {
    const pool = new NamePool('abc', 'pod');
    const [a, b] = [pool.nextName(), pool.nextName()];
    pool.add(a);
    pool.add(b);
    const heldByGet = pool.borrow();
    expect(heldByGet).toBe(a);
    expect(pool.takeForDelete()).toBe(b);
    expect(pool.takeForDelete()).toBeUndefined();
    pool.release(a);
    expect(pool.takeForDelete()).toBe(a);
    expect(pool.size).toBe(0);
  });

  it('keeps a name leased until every holder released it', () => {
    const pool = new NamePool('abc', 'pod');
    const name = pool.addLeased(pool.nextName());
    expect(pool.borrow()).toBe(name);
    pool.release(name);
    expect(pool.takeForDelete()).toBeUndefined();
    pool.release(name);
    expect(pool.takeForDelete()).toBe(name);
  });

  it('deletes oldest first and forgets everything on clear', () => {
    const pool = new NamePool('abc', 'configmap');
    const names = [pool.nextName(), pool.nextName(), pool.nextName()];
    names.forEach((name) => pool.add(name));
    expect(pool.takeForDelete()).toBe(names[0]);
    pool.clear();
    expect(pool.size).toBe(0);
    expect(pool.borrow()).toBeUndefined();
    expect(pool.nextName()).toBe('ep-bench-abc-cm-4');
  });
});

describe('request bodies', () => {
  it('ConfigMaps carry the run label and the revision in labels and data', () => {
    const body = configMapBody('ep-bench-abc-cm-1', 'abc', 3);
    expect(body.metadata).toEqual({ name: 'ep-bench-abc-cm-1', labels: { [BENCH_RUN_LABEL]: 'abc', [BENCH_REVISION_LABEL]: '3' } });
    expect(body.data?.revision).toBe('3');
    expect(body.metadata?.resourceVersion).toBeUndefined();
  });

  it('pods run the given local image and stop at once when deleted', () => {
    const body = podBody('ep-bench-abc-pod-1', 'abc', { podImage: 'edgeproof/busybox:1', podImagePullPolicy: 'Never', podCommand: ['sleep', '3600'] });
    expect(body.spec?.containers).toEqual([{ name: 'sleep', image: 'edgeproof/busybox:1', imagePullPolicy: 'Never', command: ['sleep', '3600'] }]);
    expect(body.spec).toMatchObject({ terminationGracePeriodSeconds: 0, restartPolicy: 'Never', automountServiceAccountToken: false });
    expect(body.metadata?.labels?.[BENCH_RUN_LABEL]).toBe('abc');
  });

  it('pods name a scheduler that does not exist only when asked to, so they stay Pending', () => {
    const options = { podImage: 'i', podImagePullPolicy: 'Never' as const, podCommand: ['sleep', '1'] };
    expect(podBody('p', 'abc', { ...options, schedulerName: UNSCHEDULED }).spec?.schedulerName).toBe('edgeproof-unscheduled');
    expect(podBody('p', 'abc', options).spec).not.toHaveProperty('schedulerName');
  });

  it('the pod update is a label merge patch; cleanup selects by run label', () => {
    expect(podRevisionPatch(7)).toEqual({ metadata: { labels: { [BENCH_REVISION_LABEL]: '7' } } });
    expect(benchLabelSelector('abc')).toBe('dev.edgeproof/bench-run=abc');
  });
});

describe('kubeOperations', () => {
  it('names the ten operations of the set (API calls are exercised against a real cluster)', () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const set = kubeOperations(kc, { namespace: 'ep-bench', podImage: 'busybox', runId: 'abc' });
    expect(Object.keys(set.operations).sort()).toEqual([...KUBE_OPERATION_NAMES].sort());
    expect(KUBE_OPERATION_NAMES).toHaveLength(10);
    expect(set.runId).toBe('abc');
    expect(set.pools.pod.nextName()).toBe('ep-bench-abc-pod-1');
  });
});
