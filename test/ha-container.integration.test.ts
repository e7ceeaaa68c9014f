import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { harnessLeftovers } from '../src/emulation/container/docker-engine.js';
import { haBudgets, runHaSuite } from '../src/suites/ha-failover.js';
import { runSmokeSuite } from '../src/suites/smoke.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, startContainerCluster } from './fixtures.js';

type CheckEvent = { type: 'check'; id: string; verdict: string; reason?: string; evidence: Record<string, unknown> };
type Measurement = { type: 'measurement'; id: string; value: number };

/**
 * A real three-control-plane upstream cluster (three-member etcd) plus a
 * worker, as node containers; real faults (SIGKILL of a node, docker pause,
 * two nodes down), with probes running throughout.
 */
describe('HA upstream cluster on the container backend (3+1)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('ha', CONTAINER_TIMEOUT_SCALE);
    cluster = await startContainerCluster(ctx, { controlPlanes: 3, workers: 1 });
  });

  afterAll(async () => {
    const tag = ctx.tag;
    await ctx?.dispose();
    // Nothing of the run is left: containers, networks, node cgroups.
    const left = await harnessLeftovers();
    expect(left.containers.filter((c) => c.includes(tag))).toEqual([]);
    expect(left.networks.filter((n) => n.includes(tag))).toEqual([]);
    expect(readdirSync('/sys/fs/cgroup').filter((c) => existsSync(join('/sys/fs/cgroup', c, 'edgeproof', tag)))).toEqual([]);
  });

  it('forms: every node Ready, smoke passes across nodes', async () => {
    expect(cluster.nodes.map((n) => n.role)).toEqual(['control-plane', 'control-plane', 'control-plane', 'worker']);
    const outcomes = await runSmokeSuite(ctx, cluster);
    for (const outcome of outcomes) expect(outcome.verdict, outcome.reason).toBe('pass');
  });

  it('survives the leader\'s power-off and a frozen leader, refuses writes without quorum, and loses no write', async () => {
    const outcomes = await runHaSuite(ctx, cluster, { budgets: haBudgets(ctx), scenarios: ['leader-power-off', 'frozen', 'quorum-loss'] });
    const checks = ctx.events.events.filter((e) => e.type === 'check') as unknown as CheckEvent[];
    const byId = Object.fromEntries(checks.filter((c) => c.id.startsWith('HA-')).map((c) => [c.id, c]));
    for (const id of ['HA-1', 'HA-4', 'HA-10', 'HA-6', 'HA-5']) {
      expect(byId[id], `${id} missing`).toBeDefined();
      expect(byId[id]!.verdict, `${id}: ${byId[id]!.reason}`).toBe('pass');
    }
    expect(outcomes).toHaveLength(5);
    const figures = ctx.events.events.filter((e) => e.type === 'measurement') as unknown as Measurement[];
    const figure = (id: string) => figures.find((m) => m.id === id)?.value;
    for (const id of ['HA-4', 'HA-10', 'HA-6']) expect(figure(`${id}/lost-writes`), id).toBe(0);
    expect(figure('HA-4/time-to-detect')).toBeGreaterThan(0);
    expect(figure('HA-4/time-to-rejoin')).toBeGreaterThan(0);
    expect(figure('HA-4/longest-outage')).toBeLessThanOrEqual(haBudgets(ctx).longestOutageMs);
    // The leader really changed and writes really stopped without quorum.
    const leader = byId['HA-4']!.evidence as { targets: string[]; leadersDuring: { etcd?: string } };
    expect(leader.leadersDuring.etcd).toBeDefined();
    expect(leader.targets).not.toContain(leader.leadersDuring.etcd);
    const quorum = byId['HA-6']!.evidence as { marks: Record<string, number>; writes: { failed: number; longestOutageMs: number; acknowledgedWithoutQuorum: string[] } };
    // Writes failed for the whole time without quorum, not just now and then.
    expect(quorum.writes.longestOutageMs).toBeGreaterThanOrEqual(quorum.marks.firstBack! - quorum.marks.quorumJudgedFrom!);
    expect(quorum.writes.acknowledgedWithoutQuorum).toEqual([]);
    // Every fault was recorded with its time.
    const faults = ctx.events.events.filter((e) => e.type === 'fault').map((e) => (e as { fault: string }).fault);
    expect(faults).toEqual(expect.arrayContaining(['power-off', 'power-on', 'freeze', 'thaw']));
  });
});
