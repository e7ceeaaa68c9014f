import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import type { RunContext } from '../core/context.js';
import { formatMs } from '../core/errors.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { ensureE2eBinaries, type E2eBinaries } from './conformance/e2e-binaries.js';
import { recordCheck, type CheckOutcome, type CheckSpec } from './check.js';
import { runE2e, type E2eOutcome, type E2eProgress } from './conformance/e2e-runner.js';
import { localRepoList } from './conformance/images.js';
import { parseGinkgoJunit, tallySpecs, failureHeadline, type JunitReport, type SpecTally } from './conformance/junit-results.js';
import { CONFORMANCE_PRESETS, expectedSpecs, ginkgoNodes, parseConformanceYaml, type ConformancePresetName, type ConformanceSpec } from './conformance/presets.js';
import { judgeConformance } from './conformance/verdict.js';
import { runInCluster } from './conformance/in-cluster-run.js';

const SUITE = 'conformance';

export interface ConformanceOptions {
  preset: ConformancePresetName;
  /** Ginkgo nodes for the parallel preset (default ⌈ncpu/2⌉). */
  parallel?: number;
  /** The conformance image (hydrophone's way: a pod in the cluster); absent: e2e.test and ginkgo on the host. */
  image?: string;
  /** A KUBE_TEST_REPO_LIST file; absent: the local stand-ins (localRepoList). */
  repoList?: string;
}

/**
 * The Kubernetes e2e suite against the cluster (CONF-1..3): e2e.test and
 * the Ginkgo v2 CLI built from the same Kubernetes module as the upstream binaries, run on the host
 * through the harness kubeconfig; junit_NN.xml and e2e.log kept verbatim in
 * the run dir; one check for the run (judged against the version's expected
 * spec count) and one per spec, so runs diff spec by spec.
 */
export async function runConformanceSuite(ctx: RunContext, cluster: StartedCluster, options: ConformanceOptions): Promise<CheckOutcome[]> {
  const preset = CONFORMANCE_PRESETS[options.preset];
  const spec: CheckSpec = { id: preset.checkId, suite: SUITE, name: preset.title };
  const reportDir = join(ctx.runDir, 'conformance', preset.name);
  // A report of an earlier run in the same dir must not count for this one.
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const nodes = ginkgoNodes(preset, options.parallel, cpus().length);
  const timeoutMs = ctx.scaled(preset.baseTimeoutMs);

  const binaries = await ctx.phase('e2e suite binaries', 90 * 60_000, () => ensureE2eBinaries(ctx));
  const documented = parseConformanceYaml(readFileSync(binaries.conformanceYaml, 'utf8'), binaries.conformanceYaml);
  const expected = expectedSpecs(documented, preset);
  ctx.progress.info(`conformance ${preset.name}: ${expected.length} spec(s) expected for ${binaries.version}, ${nodes} Ginkgo node(s), <= ${formatMs(timeoutMs)}`);

  // The registries the suite pulls from, kept beside its results: the user's list, else (on the host) the local stand-ins;
  // the conformance image without a list keeps its own defaults.
  const repoListYaml = options.repoList ? readFileSync(options.repoList, 'utf8') : options.image ? undefined : localRepoList();
  const repoListPath = join(reportDir, 'repo-list.yaml');
  if (repoListYaml !== undefined) writeFileSync(repoListPath, repoListYaml);
  const started = Date.now();
  const run = options.image
    ? await runInCluster(ctx, cluster, { image: options.image, outputImage: cluster.workloadImage, preset, nodes, reportDir, timeoutMs, ...(repoListYaml !== undefined ? { repoListYaml } : {}) })
    : await runOnHost(ctx, cluster, binaries, { reportDir, focus: preset.focus, skip: preset.skip, nodes, timeoutMs, repoListPath });
  const reports = run.junitFiles.map((file) => parseGinkgoJunit(readFileSync(file, 'utf8'), file));
  const tally = reports.length > 0 ? tallySpecs(reports) : undefined;
  const stoppedDuring = (run.interrupted || run.timedOut) ? specStoppedIn(run.progress.current, expected, tally) : undefined;
  const judged = judgeConformance({
    version: binaries.version,
    expected: expected.length,
    ...(run.progress.willRun !== undefined ? { willRun: run.progress.willRun } : {}),
    ...(tally ? { tally } : {}),
    ...(stoppedDuring ? { stoppedDuring } : {}),
    exit: run,
  });

  for (const file of [run.e2eLog, ...run.junitFiles]) ctx.events.emit({ type: 'artifact', name: `conformance ${preset.name} ${relative(reportDir, file)}`, path: relative(ctx.runDir, file) });
  ctx.events.emit({ type: 'measurement', id: `${preset.checkId}/duration`, suite: SUITE, name: `e2e ${preset.name} run, start to end`, unit: 'ms', value: run.durationMs });
  const outcome: CheckOutcome = {
    verdict: judged.verdict,
    ...(judged.reason ? { reason: judged.reason } : {}),
    evidence: {
      preset: preset.name,
      focus: preset.focus,
      skip: preset.skip,
      ginkgoNodes: nodes,
      runner: options.image ? { kind: 'in-cluster', image: options.image } : { kind: 'host', e2eTest: binaries.e2eTest, artifact: binaries.key },
      ...judged.counts,
      exitCode: run.exitCode,
      ...(run.signal ? { signal: run.signal } : {}),
      timedOut: run.timedOut,
      interrupted: run.interrupted,
      durationMs: run.durationMs,
      failures: (tally?.failed ?? []).map((s) => ({ spec: s.name, type: s.failure?.type, message: s.failure?.message })),
      junit: run.junitFiles.map((f) => relative(ctx.runDir, f)),
      e2eLog: relative(ctx.runDir, run.e2eLog),
    },
  };
  recordCheck(ctx, spec, outcome, Date.now() - started);
  return [outcome, ...recordSpecs(ctx, spec, expected, tally, reports, run)];
}

/**
 * The spec the console showed last, when the JUnit report does not have it
 * as finished. Ginkgo v2 prints a spec's labels after its text
 * ("... [Conformance] [NodeConformance, Conformance]"), so the documented
 * name it starts with is the one reported.
 */
function specStoppedIn(current: string | undefined, expected: ConformanceSpec[], tally: SpecTally | undefined): string | undefined {
  if (!current) return undefined;
  const name = expected.find((spec) => current.startsWith(spec.codename))?.codename ?? current;
  const finished = tally?.ran.some((s) => s.name === name && s.failure?.type !== 'interrupted');
  return finished ? undefined : name;
}

interface HostRun {
  reportDir: string;
  repoListPath: string;
  focus: string;
  skip: string;
  nodes: number;
  timeoutMs: number;
}

async function runOnHost(ctx: RunContext, cluster: StartedCluster, binaries: E2eBinaries, request: HostRun): Promise<E2eOutcome> {
  ctx.progress.start(`e2e ${request.focus}`, `<= ${formatMs(request.timeoutMs)}`);
  const outcome = await runE2e({
    ginkgo: binaries.ginkgo,
    e2eTest: binaries.e2eTest,
    kubeconfigPath: cluster.kubeconfigPath,
    ...(cluster.kubeContext ? { kubeContext: cluster.kubeContext } : {}),
    ...request,
    graceMs: ctx.scaled(60_000),
    setupTimeoutMs: ctx.scaled(5 * 60_000),
    signal: ctx.signal,
    onProgress: progressReporter(ctx),
  });
  const how = outcome.interrupted ? 'interrupted' : outcome.timedOut ? 'timed out' : `exit ${outcome.exitCode}`;
  ctx.progress.end(`e2e ${request.focus}`, outcome.durationMs, outcome.exitCode === 0 ? 'ok' : 'failed', `${outcome.progress.finished} spec(s) finished, ${how}`);
  return outcome;
}

/** Progress lines: the plan, then the finished count and the running spec (at most one line per 10 s; a failure or the last spec always). */
function progressReporter(ctx: RunContext): (p: E2eProgress) => void {
  let last = 0;
  let lastFailed = 0;
  let planShown = false;
  return (p) => {
    if (!planShown && p.willRun !== undefined) {
      planShown = true;
      ctx.progress.info(`e2e: will run ${p.willRun} of ${p.totalSpecs} specs`);
      return;
    }
    const now = Date.now();
    const worthIt = p.failed > lastFailed || (p.willRun !== undefined && p.finished === p.willRun) || now - last >= 10_000;
    if (!worthIt) return;
    last = now;
    lastFailed = p.failed;
    const of = p.willRun !== undefined ? `/${p.willRun}` : '';
    const done = p.willRun !== undefined && p.finished === p.willRun;
    ctx.progress.info(`e2e: ${p.finished}${of} specs finished, ${p.failed} failed${p.current ? `; ${done ? 'last' : 'running'}: ${p.current}` : ''}`);
  };
}

/**
 * One check per spec that ran (`CONF-n/spec`, named by the spec's full text)
 * and one per expected spec that did not, so `edgeproof diff` shows new
 * failures, fixes and flakes spec by spec.
 */
function recordSpecs(ctx: RunContext, parent: CheckSpec, expected: ConformanceSpec[], tally: SpecTally | undefined, reports: JunitReport[], run: E2eOutcome): CheckOutcome[] {
  const outcomes: CheckOutcome[] = [];
  const id = `${parent.id}/spec`;
  for (const spec of tally?.ran ?? []) {
    const outcome: CheckOutcome =
      spec.status === 'passed'
        ? { verdict: 'pass', evidence: { durationMs: spec.durationMs } }
        : { verdict: 'fail', reason: failureHeadline(spec), evidence: { durationMs: spec.durationMs, failureType: spec.failure?.type, message: spec.failure?.message } };
    emitSpec(ctx, id, spec.name, outcome, spec.durationMs);
    outcomes.push(outcome);
  }
  const ran = new Set((tally?.ran ?? []).map((s) => s.name));
  const why = run.interrupted ? 'the run was interrupted' : run.timedOut ? 'the run timed out' : reports.length === 0 ? 'no JUnit report was written' : 'the run ended before it';
  for (const spec of expected.filter((s) => !ran.has(s.codename))) {
    const outcome: CheckOutcome = { verdict: 'skipped', reason: `did not run: ${why}`, evidence: { file: spec.file } };
    emitSpec(ctx, id, spec.codename, outcome, 0);
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Recorded without a console line each (hundreds of them; the run's check has the summary). */
function emitSpec(ctx: RunContext, id: string, name: string, outcome: CheckOutcome, durationMs: number): void {
  ctx.events.emit({ type: 'check', id, suite: SUITE, name, verdict: outcome.verdict, durationMs, evidence: outcome.evidence, ...(outcome.reason ? { reason: outcome.reason } : {}) });
}
