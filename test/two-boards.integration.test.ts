import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../src/core/context.js';
import { waitFor } from '../src/core/wait.js';
import type { StartedCluster } from '../src/distros/distribution.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { boardByName } from '../src/emulation/boards.js';
import { startQemuMachines } from '../src/cli/machines.js';
import { kube, kubeClients } from '../src/scenarios/kube.js';
import { httpProbePod, webDeployment } from '../src/scenarios/workloads.js';
import { newRunContext, qemuProcesses } from './fixtures.js';

/**
 * Two emulated rpi4 boards on their private segment form one upstream
 * cluster (a control plane and a worker) and a pod on one reaches a pod on
 * the other. Under TCG on two cores this takes several minutes: it runs when
 * EDGEPROOF_TEST_BOARDS_CLUSTER=1 (see the README for the figures).
 */
describe.runIf(process.env.EDGEPROOF_TEST_BOARDS_CLUSTER === '1')('two rpi4 boards as one cluster (1+1)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('two-boards');
    const distribution = new UpstreamDistribution();
    const topology = { controlPlanes: 1, workers: 1 };
    const machines = await startQemuMachines(ctx, boardByName('rpi4'), distribution, topology);
    cluster = await distribution.formCluster(ctx, machines, topology);
  });

  afterAll(async () => {
    await ctx?.dispose();
    expect(qemuProcesses(ctx.tag)).toEqual([]);
  });

  it('forms on the private network: each node registered with its private address', async () => {
    const clients = kubeClients(cluster.kubeConfig());
    const nodes = await kube('list nodes', () => clients.core.listNode());
    const addresses = Object.fromEntries(nodes.items.map((n) => [n.metadata!.name!, n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address]));
    for (const node of cluster.nodes) expect(addresses[node.name]).toBe(node.machine!.address);
    expect(cluster.nodes[1]!.machine!.address).toMatch(/^10\.(1[2-9]\d)\.\d+\.11$/);
  });

  it('passes pod to pod across nodes: a pod on the control plane fetches from a pod on the worker', async () => {
    const clients = kubeClients(cluster.kubeConfig());
    const namespace = 'ep-two-boards';
    await kube('create namespace', () => clients.core.createNamespace({ body: { metadata: { name: namespace } } }));
    const [cp, worker] = cluster.nodes;
    const server = webDeployment('ep-remote-web', cluster.workloadImage, 1);
    server.spec!.template.spec!.nodeName = worker!.name;
    await kube('create server', () => clients.apps.createNamespacedDeployment({ namespace, body: server }));
    const serverPod = await waitFor(
      async () => {
        const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=ep-remote-web' });
        const ready = pods.items.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready ? { done: true, value: ready } : { done: false, observed: pods.items.map((p) => p.status?.phase).join(',') || 'no pod' };
      },
      { what: 'server pod Ready on the worker', budgetMs: ctx.scaled(60_000), pollMs: 2000, signal: ctx.signal },
    );
    expect(serverPod.spec!.nodeName).toBe(worker!.name);
    const probe = httpProbePod('ep-cross-node-probe', cluster.workloadImage, `http://${serverPod.status!.podIP}:8080/`, ctx.scaled(5_000) / 1000, cp!.name);
    await kube('create probe', () => clients.core.createNamespacedPod({ namespace, body: probe }));
    const done: V1Pod = await waitFor(
      async () => {
        const pod = await clients.core.readNamespacedPod({ name: 'ep-cross-node-probe', namespace });
        const phase = pod.status?.phase;
        return phase === 'Succeeded' || phase === 'Failed' ? { done: true, value: pod } : { done: false, observed: phase ?? 'unknown' };
      },
      { what: 'cross-node probe finished', budgetMs: ctx.scaled(90_000), pollMs: 2000, signal: ctx.signal },
    );
    const log = await clients.core.readNamespacedPodLog({ name: 'ep-cross-node-probe', namespace });
    expect(done.spec!.nodeName).toBe(cp!.name);
    expect(done.status!.phase, log).toBe('Succeeded');
    expect(log).toContain(`edgeproof-marker ${serverPod.metadata!.name}`);
  });
});
