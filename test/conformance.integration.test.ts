import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { processCmdline } from '../src/core/session.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { runConformanceSuite } from '../src/suites/conformance.js';
import { parseGinkgoJunit } from '../src/suites/conformance/junit-results.js';
import { parse as parseYaml } from 'yaml';
import { E2E_REGISTRY_DEFAULTS, listE2eImages, localRepoList, mirrorPlan, parseImageList, pulledAs } from '../src/suites/conformance/images.js';
import { ensureE2eBinaries, type E2eBinaries } from '../src/suites/conformance/e2e-binaries.js';
import { CONFORMANCE_PRESETS, expectedSpecs, parseConformanceYaml } from '../src/suites/conformance/presets.js';
import { LOCAL_E2E_IMAGES } from '../src/cluster/e2e-images.js';
import { hostRun } from '../src/core/host-exec.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, startContainerCluster } from './fixtures.js';

type CheckEvent = { type: 'check'; id: string; name: string; verdict: string; reason?: string; evidence: Record<string, unknown> };

/** What the version's own conformance.yaml (in the e2e artifact) says a preset must run. */
function expectedFor(binaries: E2eBinaries, preset: keyof typeof CONFORMANCE_PRESETS): string[] {
  return expectedSpecs(parseConformanceYaml(readFileSync(binaries.conformanceYaml, 'utf8')), CONFORMANCE_PRESETS[preset]).map((s) => s.codename);
}

/** Processes whose command line mentions `marker` (the run dir is in e2e.test's --report-dir). */
function processesMentioning(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && (processCmdline(pid)?.includes(marker) ?? false));
}

/**
 * The real Kubernetes e2e suite of the baseline version (e2e.test and the
 * Ginkgo v2 CLI built from k8s.io/kubernetes at the pinned tag) against a
 * real upstream cluster of node containers carrying the real agnhost: the
 * quick preset passes for real; an interrupted conformance run keeps what it
 * has and says how many specs did not run, counted from the version's
 * conformance.yaml.
 */
describe('conformance suite on an upstream cluster (container backend)', () => {
  let ctx: RunContext;
  let cluster: StartedCluster;
  let binaries: E2eBinaries;

  beforeAll(async () => {
    ctx = newRunContext('conformance', CONTAINER_TIMEOUT_SCALE);
    binaries = await ensureE2eBinaries(ctx);
    cluster = await startContainerCluster(ctx, { controlPlanes: 1, workers: 0 });
  });

  afterAll(async () => {
    await ctx?.dispose();
  });

  it('quick: the one spec runs and passes; junit_01.xml and e2e.log are kept verbatim and parsed', async () => {
    const [quickSpec] = expectedFor(binaries, 'quick');
    expect(quickSpec).toBe('[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]');
    await runConformanceSuite(ctx, cluster, { preset: 'quick' });
    const checks = ctx.events.events.filter((e) => e.type === 'check' && e.suite === 'conformance') as unknown as CheckEvent[];
    const run = checks.find((c) => c.id === 'CONF-1')!;
    expect(run.verdict, run.reason).toBe('pass');
    expect(run.evidence).toMatchObject({ preset: 'quick', expected: 1, willRun: 1, ran: 1, passed: 1, failed: 0, notRun: 0, exitCode: 0, interrupted: false, timedOut: false });

    expect(run.evidence.junit).toEqual(['conformance/quick/junit_01.xml']);
    const junit = join(ctx.runDir, 'conformance/quick/junit_01.xml');
    const report = parseGinkgoJunit(readFileSync(junit, 'utf8'), junit);
    const ran = report.specs.filter((s) => s.status !== 'skipped');
    expect(ran).toEqual([expect.objectContaining({ name: quickSpec, status: 'passed' })]);
    expect(report.failures).toBe(0);
    // Every other spec of the binary is listed as skipped: the file is Ginkgo's own, not a summary.
    expect(report.specs.length).toBeGreaterThan(1000);
    expect(report.tests).toBe(report.specs.length + report.setup.length);

    const log = readFileSync(join(ctx.runDir, 'conformance/quick/e2e.log'), 'utf8');
    expect(log).toMatch(/^Will run 1 of \d+ specs$/m);
    expect(log).toMatch(/^Ran 1 of \d+ Specs in [\d.]+ seconds$/m);
    expect(log).toContain('SUCCESS! -- 1 Passed | 0 Failed');
    expect(log).toContain('STEP: submitting the pod to kubernetes');
    // The suite ran the version it was built from.
    expect(log).toMatch(new RegExp(`e2e test version: ${binaries.version.replace(/\./g, '\\.')}`));

    expect(checks.filter((c) => c.id === 'CONF-1/spec')).toEqual([expect.objectContaining({ name: quickSpec, verdict: 'pass' })]);
    const duration = ctx.events.events.find((e) => e.type === 'measurement' && e.id === 'CONF-1/duration');
    expect(duration).toMatchObject({ unit: 'ms', value: expect.any(Number) });
    const artifacts = ctx.events.events.filter((e) => e.type === 'artifact').map((e) => (e as { path: string }).path);
    expect(artifacts).toEqual(expect.arrayContaining(['conformance/quick/e2e.log', 'conformance/quick/junit_01.xml']));
  });

  it('air-gap: with the mirror repo list, the real suite asks for exactly the images the copy plan puts on the mirror', async () => {
    const { e2eTest, version } = binaries;
    const plan = mirrorPlan(await listE2eImages(e2eTest), 'registry.lan:5000', version);
    expect(plan.conformanceImage.source).toBe(`registry.k8s.io/conformance:${version}`);
    const repoList = join(ctx.runDir, 'mirror-repo-list.yaml');
    writeFileSync(repoList, plan.repoListYaml);
    const { stdout } = await hostRun(e2eTest, ['--list-images'], { env: { ...process.env, KUBE_TEST_REPO_LIST: repoList } });
    // v1.35 lists the CSI manifests' images as written; they are mapped when deployed, so compare what is pulled.
    const asked = parseImageList(stdout).map((image) => pulledAs(image, parseYaml(plan.repoListYaml) as Record<string, string>)).sort();
    const invalid = `${E2E_REGISTRY_DEFAULTS.invalidRegistry}/`;
    // All of them, but the deliberately invalid image (left where it fails) and the conformance image (the pod's, not the suite's).
    expect(asked.filter((i) => !i.startsWith(invalid))).toEqual(plan.copies.map((c) => c.target).filter((t) => t !== plan.conformanceImage.target).sort());
    expect(asked).toContain('invalid.registry.k8s.io/invalid/alpine:3.1');
  });

  it('local images: under the local repo list the suite asks for each image built for the nodes, by the same name', async () => {
    const repoList = join(ctx.runDir, 'local-repo-list.yaml');
    writeFileSync(repoList, localRepoList());
    const { stdout } = await hostRun(binaries.e2eTest, ['--list-images'], { env: { ...process.env, KUBE_TEST_REPO_LIST: repoList } });
    expect(parseImageList(stdout)).toEqual(expect.arrayContaining(LOCAL_E2E_IMAGES.map((i) => i.ref)));
  });

  it('an interrupted conformance run fails, keeps its e2e.log and JUnit, says how many specs did not run, and leaves no process', async () => {
    const interrupted = newRunContext('conformance-interrupt', CONTAINER_TIMEOUT_SCALE);
    try {
      // Interrupt once the suite is past its set-up and into the specs.
      const timer = setTimeout(() => interrupted.abort(new Error('test interrupt')), 90_000);
      await runConformanceSuite(interrupted, cluster, { preset: 'conformance', parallel: 1 });
      clearTimeout(timer);
      const run = interrupted.events.events.find((e) => e.type === 'check' && e.id === 'CONF-2') as unknown as CheckEvent;
      const expected = expectedFor(binaries, 'conformance').length;
      expect(run.verdict).toBe('fail');
      expect(run.evidence).toMatchObject({ interrupted: true, expected });
      const notRun = run.evidence.notRun as number;
      expect(notRun).toBeGreaterThan(0);
      expect(notRun).toBe(expected - (run.evidence.ran as number));
      const version = binaries.version.replace(/\./g, '\\.');
      expect(run.reason).toMatch(new RegExp(`^interrupted after .*ran ${run.evidence.ran as number} of ${expected} specs expected for ${version}: ${notRun} did not run`));
      const dir = join(interrupted.runDir, 'conformance/conformance');
      expect(readFileSync(join(dir, 'e2e.log'), 'utf8')).toMatch(new RegExp(`Will run ${expected} of \\d+ specs`));
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
