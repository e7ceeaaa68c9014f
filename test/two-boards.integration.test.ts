import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { boardByName } from '../src/emulation/boards.js';
import { startQemuMachines } from '../src/emulation/qemu/qemu-backend.js';
import { machineRecipe } from '../src/run/run-spec.js';
import { runCniSuite } from '../src/suites/cni.js';
import { kube, kubeClients } from '../src/cluster/kube-access.js';
import { checkEvents, newRunContext, qemuProcesses } from './fixtures.js';

/**
 * Two emulated rpi4 boards on their private segment form one upstream
 * cluster (a control plane and a worker) and the CNI suite's matrix passes
 * on it: a pod on one board reaches a pod on the other. Under TCG on two
 * cores this takes several minutes: it runs when
 * EDGEPROOF_TEST_BOARDS_CLUSTER=1 (see the README for the figures).
 */
describe.runIf(process.env.EDGEPROOF_TEST_BOARDS_CLUSTER === '1')('two rpi4 boards as one cluster (1+1)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('two-boards');
    const distribution = new UpstreamDistribution();
    const topology = { controlPlanes: 1, workers: 1 };
    const board = boardByName('rpi4');
    const machines = await startQemuMachines(ctx, { board, memoryMiB: board.memoryMiB, nodes: topology }, machineRecipe(distribution));
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

  it('passes the CNI suite: pod to pod across the boards, and every other cell of the matrix', async () => {
    const outcomes = await runCniSuite(ctx, cluster);
    const checks = checkEvents(ctx, 'cni');
    expect(outcomes).toHaveLength(checks.length);
    const crossNode = checks.filter((c) => c.id === 'NET-2/pod-to-pod-other-node');
    expect(crossNode).toHaveLength(2); // both directions
    for (const cell of crossNode) {
      expect(cell.verdict, `${cell.id}: ${cell.reason}`).toBe('pass');
      const source = cell.evidence.source as { node: string };
      const destination = cell.evidence.destination as { node: string; pod: string };
      expect(source.node).not.toBe(destination.node);
      expect(cell.evidence.servedBy).toBe(destination.pod);
      expect(cell.evidence.servedByNode).toBe(destination.node);
    }
    const matrix = checks.filter((c) => c.id.startsWith('NET-2/') || c.id === 'NET-3/hairpin');
    expect(matrix).toHaveLength(16);
    for (const cell of matrix) {
      expect(cell.verdict, `${cell.id} ${cell.name}: ${cell.reason}`).toBe('pass');
    }
  });
});
