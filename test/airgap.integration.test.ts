import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import type { RunEvent } from '../src/core/events.js';
import type { ClusterNode, StartedCluster } from '../src/cluster/distribution.js';
import { fencesFor, installFence, removeFence } from '../src/emulation/container/bridge-fence.js';
import type { Machine } from '../src/emulation/machine.js';
import { applyCommand, parseApply, parseSnapshot, planCut, restoreCommand, snapshotCommand } from '../src/suites/airgap-plan.js';
import { runAirgapSuite } from '../src/suites/airgap.js';
import { routeSpec } from '../src/suites/route-table.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, startTwoNodeCluster } from './fixtures.js';

interface CheckEvent {
  id: string;
  verdict: string;
  reason?: string;
  evidence: Record<string, any>;
}

/** The host interface that holds `address` (a node network's bridge holds its gateway). */
function hostInterfaceWith(address: string): string {
  const line = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'to', address], { encoding: 'utf8' }).trim();
  const name = line.split(/\s+/)[1];
  if (!name) throw new Error(`no host interface holds ${address}`);
  return name;
}

function processState(pid: number): string {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1]!;
  } catch {
    return 'gone';
  }
}

/** The node-side scripts, run for real in a network namespace of this host: cut, restore, dead-man restore. */
describe('air-gap scripts in a network namespace', () => {
  const ns = `ep-airgap-${process.pid}`;
  const sh = (script: string) => execFileSync('ip', ['netns', 'exec', ns, 'bash', '-c', script], { encoding: 'utf8' });
  const routes = () => parseSnapshot(sh(snapshotCommand([]))).routes.map(routeSpec);

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    const setup = [
      'ip link add a0 type veth peer name b0', 'ip link set lo up', 'ip link set a0 up', 'ip link set b0 up',
      'ip addr add 172.30.4.10/24 dev a0', 'ip route add default via 172.30.4.1 dev a0 proto dhcp metric 100',
      'ip route add 8.8.0.0/16 via 172.30.4.1 dev a0', 'ip route add 10.244.1.0/24 via 172.30.4.11 dev a0 onlink', 'ip route add blackhole 10.1.5.0/26',
    ];
    sh(setup.join(' && '));
  });
  afterAll(() => execFileSync('ip', ['netns', 'del', ns]));

  it('removes the default and public gateway routes, keeps the cluster\'s, pins a peer behind a gateway, and restores exactly', () => {
    const before = routes();
    // 10.244.1.5 stays reachable through the kept pod route; 192.0.2.7 only through the default route: pinned.
    const plan = planCut(parseSnapshot(sh(snapshotCommand(['10.244.1.5', '192.0.2.7']))));
    expect(plan.pins).toEqual([{ family: 4, spec: '192.0.2.7/32 via 172.30.4.1 dev a0' }]);
    const applied = parseApply(sh(applyCommand(plan, 600)), plan);
    expect(applied.failures).toEqual([]);
    expect(applied.deadManPid).toBeGreaterThan(0);
    const during = routes();
    expect(during.sort()).toEqual([...before.filter((r) => !r.startsWith('default') && !r.startsWith('8.8.0.0/16')), '192.0.2.7 via 172.30.4.1 dev a0'].sort());
    expect(sh('ip route get 198.51.100.1 2>&1 || true')).toMatch(/Network is unreachable/);
    const after = parseSnapshot(sh(restoreCommand(plan, applied.deadManPid))).routes.map(routeSpec);
    expect(after.sort()).toEqual([...before].sort());
    // The dead-man timer was stopped by the restore (gone, or a zombie its new parent has not reaped yet).
    expect(processState(applied.deadManPid!)).toMatch(/^(gone|Z)$/);
  });

  it('the dead-man timer restores by itself when the harness never does', async () => {
    const before = routes();
    const plan = planCut(parseSnapshot(sh(snapshotCommand([]))));
    parseApply(sh(applyCommand(plan, 1)), plan);
    expect(routes().some((r) => r.startsWith('default'))).toBe(false);
    const deadline = Date.now() + 10_000;
    while (!routes().some((r) => r.startsWith('default')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(routes().sort()).toEqual([...before].sort());
  });
});

/**
 * BOOT-6 live on a 1+1 upstream cluster of node containers. Their Docker
 * network is --internal: the host drops what they send off the machine, but
 * each node has a default route through the host's address on that network,
 * as a node on a LAN does (the test adds one if Docker did not). The check
 * must remove it, fail to reach the outside address, keep the cluster
 * working, and put the route back.
 */
describe('air-gap proof on a two-node upstream cluster (container backend)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;
  let gateway: string;
  let added = false;
  const nodes = () => cluster.nodes as (ClusterNode & { machine: Machine })[];
  const tables = async () => Promise.all(nodes().map(async (n) => parseSnapshot((await n.machine.exec(snapshotCommand([]))).stdout).routes.map(routeSpec).sort()));
  const checksSince = (from: number) => (ctx.events.events.slice(from).filter((e) => e.type === 'check' && e.suite === 'airgap') as unknown as CheckEvent[]);

  beforeAll(async () => {
    ctx = newRunContext('airgap', CONTAINER_TIMEOUT_SCALE);
    cluster = await startTwoNodeCluster(ctx);
    gateway = nodes()[0]!.machine.address.replace(/\.\d+$/, '.1');
    for (const node of nodes()) {
      const { stdout } = await node.machine.exec('ip -4 route show default');
      if (stdout.trim()) expect(stdout).toContain(`default via ${gateway} dev `);
      else {
        await node.machine.exec(`ip route add default via ${gateway}`);
        added = true;
      }
    }
  });

  afterAll(async () => {
    if (added) for (const node of nodes()) await node.machine.exec(`ip route del default via ${gateway}`, { check: false }).catch(() => undefined);
    await ctx?.dispose();
  });

  it('BOOT-6 passes: default route removed on every node, 198.51.100.1 unreachable, nodes heartbeat, a workload runs, routes restored', async () => {
    const before = await tables();
    const from = ctx.events.events.length;
    await runAirgapSuite(ctx, cluster);
    const checks = checksSince(from);
    expect(checks.map((c) => [c.id, c.verdict, c.reason])).toEqual([
      ['BOOT-6', 'pass', undefined],
      ['BOOT-6/nodes-ready', 'pass', undefined],
      ['BOOT-6/workload', 'pass', undefined],
      ['BOOT-6/restored', 'pass', undefined],
    ]);
    for (const node of nodes()) {
      const evidence = checks[0]!.evidence.nodes[node.name];
      expect(evidence.removed).toHaveLength(1);
      expect(evidence.removed[0]).toMatch(new RegExp(`^default via ${gateway.replaceAll('.', '\\.')} dev \\S+`));
      expect(evidence.routesDuring.some((r: string) => r.startsWith('default'))).toBe(false);
      expect(evidence.probes).toEqual([expect.objectContaining({ target: '198.51.100.1:443', outcome: 'unreachable', route: { routed: false, detail: 'RTNETLINK answers: Network is unreachable' } })]);
    }
    expect(checks[1]!.evidence.leaseRenewedAt).toHaveProperty(nodes()[1]!.name);
    expect(checks[2]!.evidence.image).toBe(cluster.workloadImage);
    // Every route is back; the kernel may have added its own since (cni0 appears with the first pod on a node).
    (await tables()).forEach((after, i) => expect(after).toEqual(expect.arrayContaining(before[i]!)));
  });

  it('negative control: an address that answers (the host, on the nodes\' own network) makes BOOT-6 fail, with evidence', async () => {
    // The host answers the nodes only with their network's fence lifted (bridge-fence.ts): lifted here, put back after.
    const fences = fencesFor(hostInterfaceWith(gateway));
    for (const fence of fences) expect(await removeFence(fence)).toEqual([]);
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '0.0.0.0', () => resolve((server.address() as { port: number }).port)));
    try {
      const before = await tables();
      const from = ctx.events.events.length;
      await runAirgapSuite(ctx, cluster, { targets: [{ address: gateway, port }] });
      const [proof, , , restored] = checksSince(from);
      expect(proof!.verdict).toBe('fail');
      for (const node of nodes()) expect(proof!.reason).toContain(`${node.name} reached ${gateway}:${port} (connected`);
      expect(proof!.evidence.nodes[nodes()[0]!.name].probes[0]).toMatchObject({ outcome: 'connected', route: { routed: true, dev: expect.any(String) } });
      expect(connections).toBe(nodes().length);
      expect(restored!.verdict).toBe('pass');
      expect(await tables()).toEqual(before);
    } finally {
      server.close();
      for (const fence of fences) await installFence(fence, ctx.runId);
    }
  });

  it('an interrupt while the nodes are cut off still puts every route back', async () => {
    const before = await tables();
    let cut = 0;
    const onEvent = (event: RunEvent) => {
      if (event.type === 'fault' && event.fault === 'airgap' && ++cut === nodes().length) ctx.abort(new Error('test interrupt'));
    };
    ctx.events.onEvent(onEvent);
    await expect(runAirgapSuite(ctx, cluster)).rejects.toThrow();
    expect(cut).toBe(nodes().length);
    expect(await tables()).toEqual(before);
  });
});
