import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import type { RunEvent } from '../src/core/events.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { exitCodeFor } from '../src/reports/result-model.js';
import { writeReports } from '../src/reports/write-reports.js';
import { ADDON_SUITE_NAMES, runAddonSuite } from '../src/suites/addon-suites.js';
import type { CheckOutcome } from '../src/suites/check.js';
import { canPowerOff } from '../src/suites/faults.js';
import { LB_CHECKS, loadBalancerAddress } from '../src/suites/lb.js';
import { MESH_CHECKS, meshServer, plaintextRefused } from '../src/suites/mesh.js';
import { prepareLocalVolume, replicaLoss, STORAGE_CHECKS, writeData, type WrittenData } from '../src/suites/storage.js';
import { createNamespace, deleteNamespace, runNamespace, SuiteRun } from '../src/suites/suite-kit.js';
import { readyRpi4Cluster, CONTAINER_TIMEOUT_SCALE, newRunContext, qemuProcesses, startTwoNodeCluster } from './fixtures.js';

type CheckEvent = Extract<RunEvent, { type: 'check' }>;
const checksOf = (ctx: RunContext) => ctx.events.events.filter((e): e is CheckEvent => e.type === 'check');

/**
 * Negative controls: every addon suite against the real upstream cluster,
 * which has none of the addons (bridge CNI, no DNS, no LB controller, no
 * storage provisioner, no mesh), must not pass; the checks that prove a
 * function must fail with evidence when the function is absent.
 */
describe('addon suites on the bare upstream cluster (rpi4, one node)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('addons-negative');
    // From the shared snapshot when there is one (a warm CI), else cold and saved for the next run.
    cluster = (await readyRpi4Cluster(ctx)).cluster;
  });

  afterAll(async () => {
    await ctx?.dispose();
    expect(qemuProcesses(ctx.runId)).toEqual([]); // a restored machine keeps its snapshot's name; its disk path carries this run's id
  });

  it('runs every addon suite to the end: nothing passes, every check says why, and the run exits 0', async () => {
    const suitesCtx = newRunContext('addons-suites');
    try {
      const outcomes: Record<string, CheckOutcome[]> = {};
      for (const suite of ADDON_SUITE_NAMES) outcomes[suite] = await runAddonSuite(suite, suitesCtx, cluster, {});
      const checks = checksOf(suitesCtx);
      expect(checks.length).toBeGreaterThanOrEqual(25);
      for (const check of checks) {
        expect(check.verdict, `${check.id}: ${check.reason}`).not.toBe('pass');
        expect(check.reason, check.id).toBeTruthy();
      }
      const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
      // No LB controller, no Ingress controller, no mesh, no Knative/OpenFaaS: could be installed, so skipped.
      for (const id of ['LB-1', 'LB-2', 'LB-3', 'LB-4', 'ING-1', 'ING-2', 'MESH-I3', 'MESH-L3', 'FN-K1', 'FN-O2']) expect(byId[id]?.verdict, id).toBe('skipped');
      expect(byId['LB-1']!.reason).toMatch(/none of metallb, servicelb is installed/);
      // No provisioner; no replicated engine can run (no iscsid, arm64, one node): not applicable, with the probe's evidence.
      expect(byId['STO-1']).toMatchObject({ verdict: 'not-applicable', reason: expect.stringMatching(/no default StorageClass/) });
      expect(byId['STO-5']).toMatchObject({ verdict: 'not-applicable', reason: expect.stringMatching(/iscsid running/) });
      // KATA-0 looked at /dev/kvm on the emulated board through its shell: TCG gives none.
      expect(byId['KATA-0']).toMatchObject({ verdict: 'not-applicable', reason: expect.stringMatching(/\/dev\/kvm is absent/) });
      expect(byId['KATA-2']?.verdict).toBe('not-applicable');
      expect(byId['STRICT-1']).toMatchObject({ verdict: 'not-applicable', reason: expect.stringMatching(/microk8s snap/) });
      // The code documented for "nothing failed, some not applicable" (src/core/exit-codes.ts: 0).
      suitesCtx.events.emit({ type: 'run-end', outcome: 'completed', durationMs: 1 });
      const result = await writeReports(suitesCtx.runDir, suitesCtx.events.events);
      expect(result.summary.pass).toBe(0);
      expect(exitCodeFor(result)).toBe(0);
    } finally {
      await suitesCtx.dispose();
    }
  });

  it('LB-1 without a controller fails: no address within its timeout', async () => {
    const run = new SuiteRun(ctx, cluster, 'lb-negative');
    const outcome = await run.withNamespace('noctl', (namespace) => run.check(LB_CHECKS.address, () => loadBalancerAddress(run, namespace, { budgetMs: 60_000 })));
    expect(outcome.verdict).toBe('fail');
    expect(outcome.reason).toMatch(/^no controller assigned an address to LoadBalancer Service ep-lb-negative-noctl-\w+\/ep-lb within 1m00s: status.loadBalancer stayed \{\}/);
    expect(outcome.evidence.nodePort).toEqual(expect.any(Number));
  });

  it('MESH-I3 without a mesh fails: the plaintext request from another namespace is answered', async () => {
    const run = new SuiteRun(ctx, cluster, 'mesh-negative');
    const budgetMs = ctx.scaled(120_000);
    const outside = runNamespace(ctx, 'mesh-negative-outside');
    await createNamespace(run.clients, outside, run.ctx.scaled(60_000));
    try {
      const outcome = await run.withNamespace('server', async (namespace) => {
        const serviceIp = await meshServer(run, namespace, budgetMs);
        return run.check(MESH_CHECKS.istioStrict, () => plaintextRefused(run, outside, serviceIp, 80, budgetMs, 'negative'));
      }, { 'istio-injection': 'enabled' });
      expect(outcome.verdict).toBe('fail');
      expect(outcome.reason).toMatch(/^plaintext from outside the mesh was not refused: [1-5]\/5 attempts answered "HTTP\/1\.[01] 200 OK" with edgeproof-marker ep-mesh-web-/);
      expect(outcome.evidence.attempts).toEqual(expect.arrayContaining([expect.stringMatching(/^\d: HTTP\/1\.[01] 200 OK/)]));
    } finally {
      await deleteNamespace(run.clients, outside);
    }
  });
});

/**
 * The storage negative control needs a second node to lose: a non-replicated
 * local volume on the worker, data written with its checksum, the worker
 * powered off; the data must be reported unavailable.
 * The two nodes are containers: the worker is powered off for real (SIGKILL).
 */
describe('storage negative control (two nodes)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('addons-storage-negative', CONTAINER_TIMEOUT_SCALE);
    cluster = await startTwoNodeCluster(ctx);
  });

  afterAll(async () => {
    await ctx?.dispose();
  });

  it('STO-5 on a local volume: the node holding the only copy is powered off and the data is reported unavailable', async () => {
    const worker = cluster.nodes.find((n) => n.role === 'worker' && canPowerOff(n));
    expect(worker, 'a worker that can be powered off').toBeDefined();
    const run = new SuiteRun(ctx, cluster, 'storage-negative');
    await run.withNamespace('local', async (namespace) => {
      const volume = await prepareLocalVolume(run, namespace, worker!.name);
      const written = await run.check({ id: 'STO-4', name: 'data written to a local (non-replicated) volume with its checksum' }, () => writeData(run, namespace, volume.claim, 8, ctx.scaled(120_000)));
      expect(written.verdict, written.reason).toBe('pass');
      const data = written.evidence as unknown as WrittenData;
      expect(data.writerNode).toBe(worker!.name);
      expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);

      const { outcome } = await replicaLoss(run, namespace, volume, data, { readBudgetMs: 120_000 });
      expect(outcome.verdict).toBe('fail');
      expect(outcome.reason).toMatch(new RegExp(`^data unavailable: the reader pod never ran within 2m00s \\(ep-reader: Pending.*\\) after ${worker!.name}, which held the only copy, was powered off$`));
      expect(outcome.evidence).toMatchObject({ poweredOff: worker!.name, holders: [worker!.name], engine: 'local', pv: data.pv });
      expect(ctx.events.events).toContainEqual(expect.objectContaining({ type: 'fault', node: worker!.name, fault: 'power-off' }));
    });
  });
});
