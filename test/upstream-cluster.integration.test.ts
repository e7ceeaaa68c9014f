import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../src/core/context.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { UpstreamDistribution, API_PORT } from '../src/distros/upstream/upstream-distribution.js';
import { runSmokeSuite } from '../src/suites/smoke.js';
import { runFootprintSuite } from '../src/suites/footprint.js';
import { runApiLatencySuite } from '../src/suites/api-latency.js';
import { measureBaseline } from '../src/bench/footprint.js';
import { writeReports } from '../src/reports/write-reports.js';
import { validateResult } from '../src/reports/result-model.js';
import { bootBoard, newRunContext, qemuProcesses } from './fixtures.js';
import { distroComponents } from '../src/components/component.js';
import type { ComponentUsed } from '../src/distros/upstream/artifacts.js';
import { GUEST } from '../src/distros/upstream/node-config.js';

/** A real upstream Kubernetes on an emulated arm64 Pi, through the smoke suite, into validated reports. */
describe('upstream cluster on rpi4', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('upstream');
    const machine = await bootBoard(ctx, 'rpi4', undefined, [API_PORT]);
    cluster = await new UpstreamDistribution().formCluster(ctx, [machine], { controlPlanes: 1, workers: 0 });
  });

  afterAll(async () => {
    await ctx?.dispose();
    expect(qemuProcesses(ctx.tag)).toEqual([]);
  });

  it('keeps its kubeconfig private and reaches node Ready through named phases', () => {
    expect(statSync(cluster.kubeconfigPath).mode & 0o777).toBe(0o600);
    expect(cluster.milestones.apiserverReady).toBeGreaterThan(cluster.milestones.etcdReady!);
    expect(cluster.milestones.nodeReady).toBeGreaterThanOrEqual(cluster.milestones.apiserverReady!);
    const phases = ctx.events.events.filter((e) => e.type === 'phase-end').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(expect.arrayContaining(['etcd ready', 'apiserver ready', 'node Ready']));
  });

  it('runs the components the builder made from their Go modules: the run records module, version and checksums, the cache record agrees, and so do the binaries on the node', async () => {
    const environment = ctx.events.events.filter((e) => e.type === 'environment').map((e) => (e as { environment: Record<string, unknown> }).environment);
    const components = environment.flatMap((env) => (env.components as ComponentUsed[] | undefined) ?? []);
    expect(components.map((c) => `${c.name} ${c.module}@${c.version}`)).toEqual(
      distroComponents('upstream').components.map((c) => `${c.name} ${c.module}@${c.version}`),
    );
    const kubernetes = components.find((c) => c.name === 'kubernetes')!;
    expect(kubernetes).toMatchObject({ source: 'go-module', module: 'k8s.io/kubernetes', version: 'v1.35.4', arch: 'arm64' });
    for (const component of components) {
      const record = JSON.parse(readFileSync(join(ctx.cacheDir, 'artifacts', 'components', component.cacheKey, 'component.json'), 'utf8')) as ComponentUsed;
      expect(record).toMatchObject({ module: component.module, version: component.version, files: component.files });
    }
    const machine = cluster.nodes[0]!.machine!;
    const onNode = (await machine.exec(`sha256sum ${GUEST.bin}/kube-apiserver ${GUEST.bin}/kubelet ${GUEST.etcd}/etcd ${GUEST.containerd}/containerd ${GUEST.runc}/runc`)).stdout;
    const sums = Object.fromEntries(onNode.trim().split('\n').map((line) => line.split(/\s+/)).map(([sum, path]) => [path!.split('/').pop()!, sum]));
    const recorded = Object.assign({}, ...components.map((c) => c.files)) as Record<string, string>;
    for (const binary of ['kube-apiserver', 'kubelet', 'etcd', 'containerd', 'runc']) expect(sums[binary], binary).toBe(recorded[binary]);
    expect((await machine.exec(`${GUEST.bin}/kubelet --version`)).stdout.trim()).toBe('Kubernetes v1.35.4');
  });

  it('passes the smoke suite: node Ready, 2 pods Running, pod-to-pod and ClusterIP HTTP', async () => {
    const outcomes = await runSmokeSuite(ctx, cluster);
    const checks = ctx.events.events.filter((e) => e.type === 'check') as { id: string; verdict: string; reason?: string }[];
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    for (const id of ['BOOT-1', 'BOOT-3', 'SMOKE-1', 'SMOKE-2', 'SMOKE-3', 'BOOT-2']) {
      expect(byId[id], `${id}: ${byId[id]?.reason}`).toMatchObject({ verdict: 'pass' });
    }
    expect(outcomes).toHaveLength(6);
    const serviceCheck = checks.find((c) => c.id === 'SMOKE-3') as unknown as { evidence: { body: string; url: string } };
    expect(serviceCheck.evidence.body).toMatch(/^edgeproof-marker ep-web-/);
    expect(serviceCheck.evidence.url).toMatch(/^http:\/\/10\.\d+\.\d+\.\d+\/$/);
  });

  it('measures the footprint (three figures) and API latency against the real cluster', async () => {
    const baseline = await measureBaseline(async (command) => (await cluster.nodes[0]!.machine!.exec(command)).stdout);
    const [footprint] = await runFootprintSuite(ctx, cluster, { baselines: { [cluster.nodes[0]!.name]: baseline }, settleMs: 0, windowMs: 5_000, claimsMB: {} });
    expect(footprint?.verdict, footprint?.reason).toBe('pass');
    const measurements = ctx.events.events.filter((e) => e.type === 'measurement') as { id: string; value: number }[];
    const services = measurements.find((m) => m.id === 'BM-MEM-1/services-cgroup');
    expect(services?.value).toBeGreaterThan(100 * 2 ** 20);
    expect(measurements.some((m) => m.id === 'BM-MEM-1/process/kube-apiserver/pss')).toBe(true);

    const latency = await runApiLatencySuite(ctx, cluster, { ratePerSecond: 4, durationMs: 10_000 });
    expect(latency).toHaveLength(10);
    const ops = measurements.length;
    const after = ctx.events.events.filter((e) => e.type === 'measurement').length;
    expect(after - ops).toBeGreaterThanOrEqual(10);
    for (const outcome of latency) expect(outcome.evidence.errors, JSON.stringify(outcome.evidence.errorSamples)).toBe(0);
  });

  it('writes result files that validate against the schema', async () => {
    ctx.events.emit({ type: 'run-end', outcome: 'completed', durationMs: 1 });
    const result = await writeReports(ctx.runDir, ctx.events.events);
    const fromDisk = validateResult(JSON.parse(readFileSync(join(ctx.runDir, 'result.json'), 'utf8')));
    expect(fromDisk.summary).toEqual(result.summary);
    expect(fromDisk.summary.pass).toBeGreaterThanOrEqual(6);
    expect(readFileSync(join(ctx.runDir, 'junit.xml'), 'utf8')).toContain('SMOKE-3');
  });
});
