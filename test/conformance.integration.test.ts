import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { processCmdline } from '../src/core/session.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { runConformanceSuite } from '../src/suites/conformance.js';
import { parseGinkgoJunit } from '../src/suites/conformance/junit-results.js';
import { listE2eImages, mirrorPlan, parseImageList } from '../src/suites/conformance/images.js';
import { ensureE2eBinaries } from '../src/suites/conformance/e2e-binaries.js';
import { hostRun } from '../src/core/host-exec.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, startContainerCluster } from './fixtures.js';

type CheckEvent = { type: 'check'; id: string; name: string; verdict: string; reason?: string; evidence: Record<string, unknown> };

const QUICK_SPEC = '[k8s.io] Pods should be submitted and removed [NodeConformance] [Conformance]';

/** Processes whose command line mentions `marker` (the run dir is in e2e.test's --report-dir). */
function processesMentioning(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && (processCmdline(pid)?.includes(marker) ?? false));
}

/**
 * The real Kubernetes v1.20.2 e2e suite (e2e.test and ginkgo built from the
 * cluster's Debian source) against a real upstream cluster of node
 * containers: the quick preset passes for real; an interrupted conformance
 * run keeps what it has and says how many specs did not run.
 */
describe('conformance suite on an upstream cluster (container backend)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;

  beforeAll(async () => {
    ctx = newRunContext('conformance', CONTAINER_TIMEOUT_SCALE);
    cluster = await startContainerCluster(ctx, { controlPlanes: 1, workers: 0 });
  });

  afterAll(async () => {
    await ctx?.dispose();
  });

  it('quick: the one spec runs and passes; junit_01.xml and e2e.log are kept verbatim and parsed', async () => {
    await runConformanceSuite(ctx, cluster, { preset: 'quick' });
    const checks = ctx.events.events.filter((e) => e.type === 'check' && e.suite === 'conformance') as unknown as CheckEvent[];
    const run = checks.find((c) => c.id === 'CONF-1')!;
    expect(run.verdict, run.reason).toBe('pass');
    expect(run.evidence).toMatchObject({ preset: 'quick', expected: 1, willRun: 1, ran: 1, passed: 1, failed: 0, notRun: 0, exitCode: 0, interrupted: false, timedOut: false });

    expect(run.evidence.junit).toEqual(['conformance/quick/junit_01.xml']);
    const junit = join(ctx.runDir, 'conformance/quick/junit_01.xml');
    const report = parseGinkgoJunit(readFileSync(junit, 'utf8'), junit);
    const ran = report.specs.filter((s) => s.status !== 'skipped');
    expect(ran).toEqual([expect.objectContaining({ name: QUICK_SPEC, status: 'passed' })]);
    expect(report.tests).toBe(1);
    expect(report.failures).toBe(0);
    // Every other spec of the binary is listed as skipped: the file is Ginkgo's own, not a summary.
    expect(report.specs.length).toBeGreaterThan(1000);

    const log = readFileSync(join(ctx.runDir, 'conformance/quick/e2e.log'), 'utf8');
    expect(log).toMatch(/^Will run 1 of \d+ specs$/m);
    expect(log).toMatch(/^Ran 1 of \d+ Specs in [\d.]+ seconds$/m);
    expect(log).toContain('SUCCESS! -- 1 Passed | 0 Failed');
    expect(log).toContain('STEP: submitting the pod to kubernetes');

    expect(checks.filter((c) => c.id === 'CONF-1/spec')).toEqual([expect.objectContaining({ name: QUICK_SPEC, verdict: 'pass' })]);
    const duration = ctx.events.events.find((e) => e.type === 'measurement' && e.id === 'CONF-1/duration');
    expect(duration).toMatchObject({ unit: 'ms', value: expect.any(Number) });
    const artifacts = ctx.events.events.filter((e) => e.type === 'artifact').map((e) => (e as { path: string }).path);
    expect(artifacts).toEqual(expect.arrayContaining(['conformance/quick/e2e.log', 'conformance/quick/junit_01.xml']));
  });

  it('air-gap: with the mirror repo list, the real suite asks for exactly the images the copy plan puts on the mirror', async () => {
    const { e2eTest, version } = await ensureE2eBinaries(ctx);
    const plan = mirrorPlan(await listE2eImages(e2eTest), 'registry.lan:5000', version);
    const repoList = join(ctx.runDir, 'mirror-repo-list.yaml');
    writeFileSync(repoList, plan.repoListYaml);
    const { stdout } = await hostRun(e2eTest, ['--list-images'], { env: { ...process.env, KUBE_TEST_REPO_LIST: repoList } });
    const asked = parseImageList(stdout);
    // All of them, but the deliberately invalid image (left where it fails) and the conformance image (the pod's, not the suite's).
    expect(asked.filter((i) => !i.startsWith('invalid.com/'))).toEqual(plan.copies.map((c) => c.target).filter((t) => t !== plan.conformanceImage.target).sort());
    expect(asked).toContain('invalid.com/invalid/alpine:3.1');
  });

  it('an interrupted conformance run fails, keeps its e2e.log and JUnit, says how many specs did not run, and leaves no process', async () => {
    const interrupted = newRunContext('conformance-interrupt', CONTAINER_TIMEOUT_SCALE);
    try {
      // Interrupt once the suite is past its set-up and into the specs.
      const timer = setTimeout(() => interrupted.abort(new Error('test interrupt')), 90_000);
      await runConformanceSuite(interrupted, cluster, { preset: 'conformance', parallel: 1 });
      clearTimeout(timer);
      const run = interrupted.events.events.find((e) => e.type === 'check' && e.id === 'CONF-2') as unknown as CheckEvent;
      expect(run.verdict).toBe('fail');
      expect(run.evidence).toMatchObject({ interrupted: true, expected: 291 });
      const notRun = run.evidence.notRun as number;
      expect(notRun).toBeGreaterThan(0);
      expect(notRun).toBe(291 - (run.evidence.ran as number));
      expect(run.reason).toMatch(new RegExp(`^interrupted after .*ran ${run.evidence.ran as number} of 291 specs expected for v1\\.20\\.2: ${notRun} did not run`));
      const dir = join(interrupted.runDir, 'conformance/conformance');
      expect(readFileSync(join(dir, 'e2e.log'), 'utf8')).toMatch(/Will run 291 of \d+ specs/);
      // Ginkgo's interrupt path still writes the report of what finished.
      expect(existsSync(join(dir, 'junit_01.xml'))).toBe(true);
      const skipped = interrupted.events.events.filter((e) => e.type === 'check' && e.id === 'CONF-2/spec' && (e as unknown as CheckEvent).verdict === 'skipped');
      expect(skipped).toHaveLength(notRun);
      expect(processesMentioning(interrupted.runDir)).toEqual([]);
    } finally {
      await interrupted.dispose();
    }
  });
});
