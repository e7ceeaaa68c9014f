import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import type { RunContext } from '../src/core/context.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { runCniSuite } from '../src/suites/cni.js';
import { suiteNamespace } from '../src/suites/suite-kit.js';
import { CONTAINER_TIMEOUT_SCALE, checkEvents, newRunContext, startTwoNodeCluster, type CheckEvent } from './fixtures.js';

/**
 * The CNI suite on a real 1+1 upstream cluster of node containers: bridge CNI
 * with a pod CIDR per node and routes between them, kube-proxy in iptables
 * mode, no DNS service, nothing that enforces NetworkPolicy.
 */
describe('CNI suite on a two-node upstream cluster (container backend)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;
  let checks: CheckEvent[];

  beforeAll(async () => {
    ctx = newRunContext('cni', CONTAINER_TIMEOUT_SCALE);
    cluster = await startTwoNodeCluster(ctx);
    const outcomes = await runCniSuite(ctx, cluster);
    checks = checkEvents(ctx, 'cni');
    expect(outcomes).toHaveLength(checks.length);
  });

  afterAll(async () => {
    await ctx?.dispose();
  });

  const byId = (id: string) => checks.filter((c) => c.id === id);

  it('NET-1 is not applicable: the bridge CNI is a static config on each node, named in the reason', () => {
    const [net1] = byId('NET-1');
    expect(net1?.verdict).toBe('not-applicable');
    expect(net1?.reason).toMatch(/no CNI DaemonSet/);
    for (const node of cluster.nodes) expect(net1?.reason).toContain(`${node.name}: /etc/cni/net.d/10-edgeproof.conflist (bridge, portmap)`);
  });

  it('every NET-2 cell and both hairpin cells pass, each with pods, nodes, IPs, latency and the marker', () => {
    const matrix = checks.filter((c) => c.id.startsWith('NET-2/') || c.id === 'NET-3/hairpin');
    expect(matrix).toHaveLength(16);
    for (const cell of matrix) {
      expect(cell.verdict, `${cell.id} ${cell.name}: ${cell.reason}`).toBe('pass');
      expect(cell.evidence.marker).toMatch(/^edgeproof-marker ep-echo-\d+$/);
      expect(cell.evidence.latencyMs).toBeTypeOf('number');
      expect(cell.evidence.roundTripMs).toBeTypeOf('number');
      expect(cell.evidence.source).toBeTruthy();
      expect(cell.evidence.destination).toBeTruthy();
    }
    for (const cell of byId('NET-2/pod-to-pod-other-node')) {
      const source = cell.evidence.source as { node: string };
      const destination = cell.evidence.destination as { node: string; pod: string };
      expect(cell.evidence.servedByNode).toBe(destination.node);
      expect(source.node).not.toBe(destination.node);
      expect(cell.evidence.servedBy).toBe(destination.pod);
    }
    for (const cell of byId('NET-3/hairpin')) expect(cell.evidence.servedBy).toBe((cell.evidence.source as { pod: string }).pod);
  });

  it('NET-3/dns and NET-5 are not applicable, with the reasons this cluster gives', () => {
    expect(byId('NET-3/dns')[0]).toMatchObject({ verdict: 'not-applicable', reason: expect.stringMatching(/no DNS service/) });
    expect(byId('NET-5')[0]).toMatchObject({ verdict: 'not-applicable', reason: expect.stringMatching(/^the CNI does not enforce NetworkPolicy: traffic passed \d+ times under deny-all/) });
  });

  it('leaves its namespace deleted or terminating', async () => {
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const namespace = await core.readNamespace({ name: suiteNamespace(ctx, 'cni') }).catch(() => undefined);
    if (namespace) expect(namespace.status?.phase).toBe('Terminating');
  });
});
