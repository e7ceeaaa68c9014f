import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunContext } from '../src/core/context.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { openExistingCluster } from '../src/distros/existing/existing-cluster.js';
import { runApiLatencySuite } from '../src/suites/api-latency.js';
import { runFootprintSuite } from '../src/suites/footprint.js';
import { runSmokeSuite } from '../src/suites/smoke.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, startContainerCluster } from './fixtures.js';

type CheckEvent = { id: string; verdict: string; reason?: string; evidence: Record<string, unknown> };

const filesUnder = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((entry) => join(dir, entry)).filter((path) => statSync(path).isFile());

/**
 * The existing backend against a real cluster the test starts (upstream, as a
 * node container): a second run context sees only a kubeconfig, as a user
 * pointing edgeproof at their own cluster would.
 */
describe('existing backend on an upstream cluster', () => {
  let owner: RunContext;
  let ctx: RunContext;
  let upstream: StartedCluster;
  let cluster: StartedCluster;

  beforeAll(async () => {
    owner = newRunContext('existing-owner', CONTAINER_TIMEOUT_SCALE);
    upstream = await startContainerCluster(owner, { controlPlanes: 1, workers: 0 });
    ctx = newRunContext('existing', CONTAINER_TIMEOUT_SCALE);
    cluster = await openExistingCluster(ctx, { kubeconfigPath: upstream.kubeconfigPath });
  });

  afterAll(async () => {
    await ctx?.dispose();
    await owner?.dispose();
  });

  const checks = () => ctx.events.events.filter((e) => e.type === 'check') as unknown as CheckEvent[];

  it("builds the cluster handle from the kubeconfig alone: nodes without machines, the user's kubeconfig read where it is, never copied", () => {
    expect(cluster.distro).toBe('existing');
    expect(cluster.version).toBe(upstream.version); // read from GET /version, equal to what the driver built
    expect(cluster.nodes.map((n) => n.name)).toEqual(upstream.nodes.map((n) => n.name));
    expect(cluster.nodes.every((n) => n.machine === undefined)).toBe(true);
    expect(cluster.kubeconfigPath).toBe(upstream.kubeconfigPath);
    const clientKey = parse(readFileSync(upstream.kubeconfigPath, 'utf8')).users[0].user['client-key-data'] as string;
    expect(clientKey.length).toBeGreaterThan(100);
    const holding = [ctx.runDir, ctx.tempDir].filter(existsSync).flatMap((dir) => filesUnder(dir)).filter((path) => readFileSync(path, 'utf8').includes(clientKey));
    expect(holding).toEqual([]);
  });

  it('passes the smoke suite', async () => {
    await runSmokeSuite(ctx, cluster);
    const byId = Object.fromEntries(checks().map((c) => [c.id, c]));
    for (const id of ['BOOT-1', 'BOOT-3', 'SMOKE-1', 'SMOKE-2', 'SMOKE-3', 'BOOT-2']) expect(byId[id], `${id}: ${byId[id]?.reason}`).toMatchObject({ verdict: 'pass' });
  });

  it('says footprint is not applicable on each node, with the reason, and measures nothing', async () => {
    const outcomes = await runFootprintSuite(ctx, cluster, { baselines: {}, settleMs: 0, windowMs: 2_000, claimsMB: {} });
    expect(outcomes).toHaveLength(cluster.nodes.length);
    for (const outcome of outcomes) {
      expect(outcome.verdict).toBe('not-applicable');
      expect(outcome.reason).toMatch(/the existing backend has no node access/);
    }
    expect(ctx.events.events.some((e) => e.type === 'measurement' && e.id.startsWith('BM-MEM-1'))).toBe(false);
  });

  it('measures API latency through the kubeconfig', async () => {
    const outcomes = await runApiLatencySuite(ctx, cluster, { ratePerSecond: 4, durationMs: 10_000 });
    expect(outcomes).toHaveLength(10);
    for (const outcome of outcomes) expect(outcome.evidence.errors, JSON.stringify(outcome.evidence.errorSamples)).toBe(0);
    expect(ctx.events.events.filter((e) => e.type === 'measurement' && e.id.startsWith('BM-API-1/')).length).toBeGreaterThanOrEqual(10);
  });
});
