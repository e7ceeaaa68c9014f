import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { fixturePath } from '../../core/paths.js';
import { E2eProgressCounter, e2eArgv } from './e2e-runner.js';
import { parseGinkgoJunit, tallySpecs } from './junit-results.js';
import { CONFORMANCE_PRESETS, expectedSpecs, parseConformanceYaml } from './presets.js';
import { judgeConformance } from './verdict.js';

/** Real files of a quick run against the upstream cluster of node containers (see fixtures/samples/conformance/README.md). */
const quick = (name: string) => fixturePath('samples', 'conformance', 'quick-v1.20.2', name);
const QUICK_SPEC = '[k8s.io] Pods should be submitted and removed [NodeConformance] [Conformance]';
const documented = parseConformanceYaml(readFileSync(fixturePath('samples', 'conformance', 'conformance-v1.20.2.yaml'), 'utf8'));

describe('Ginkgo JUnit of the quick run (v1.20.2, real)', () => {
  const report = parseGinkgoJunit(readFileSync(quick('junit_01.xml'), 'utf8'), 'junit_01.xml');

  test('one spec ran and passed; every other spec of the binary is listed as skipped', () => {
    expect(report.tests).toBe(1);
    expect(report.failures).toBe(0);
    expect(report.durationMs).toBe(13_661);
    expect(report.specs).toHaveLength(5667);
    expect(report.specs.filter((s) => s.status !== 'skipped')).toEqual([{ name: QUICK_SPEC, status: 'passed', durationMs: 13_411 }]);
    expect(report.setup).toEqual([]);
  });

  test('the expected-count check passes it: 1 of 1 expected for v1.20.2', () => {
    const tally = tallySpecs([report]);
    const judged = judgeConformance({
      version: 'v1.20.2',
      expected: expectedSpecs(documented, CONFORMANCE_PRESETS.quick).length,
      willRun: 1,
      tally,
      exit: { exitCode: 0, signal: null, timedOut: false, interrupted: false, durationMs: 17_480 },
    });
    expect(judged).toEqual({ verdict: 'pass', counts: { expected: 1, willRun: 1, ran: 1, passed: 1, failed: 0, notRun: 0 } });
  });

  test('judged against the conformance preset, the same file is a short run: 290 of 291 did not run', () => {
    const judged = judgeConformance({
      version: 'v1.20.2',
      expected: expectedSpecs(documented, CONFORMANCE_PRESETS.conformance).length,
      tally: tallySpecs([report]),
      exit: { exitCode: 0, signal: null, timedOut: false, interrupted: false, durationMs: 17_480 },
    });
    expect(judged.verdict).toBe('fail');
    expect(judged.reason).toBe('ran 1 of 291 specs expected for v1.20.2: 290 did not run');
  });

  test('a truncated file (a killed writer) is an input error naming the file, not a crash', () => {
    const text = readFileSync(quick('junit_01.xml'), 'utf8');
    expect(() => parseGinkgoJunit(text.slice(0, 5000), 'junit_01.xml')).toThrow(/junit_01\.xml/);
    expect(() => parseGinkgoJunit('<?xml version="1.0"?><html/>', 'x.xml')).toThrow(/x\.xml has no <testsuite> element/);
  });
});

describe('an interrupted conformance run (real: SIGINT 50 s in, during the first spec)', () => {
  const interrupted = (name: string) => fixturePath('samples', 'conformance', 'interrupted-v1.20.2', name);
  const report = parseGinkgoJunit(readFileSync(interrupted('junit_01.xml'), 'utf8'), 'junit_01.xml');

  test("Ginkgo's interrupt path still wrote a JUnit file; the spec it stopped in is not in it", () => {
    expect(report.specs.length).toBeGreaterThan(0);
    expect(report.specs.every((s) => s.status === 'skipped')).toBe(true);
    expect(report.specs.some((s) => s.name.includes('Projected downwardAPI should update labels'))).toBe(false);
  });

  test('the log says where it stopped; the verdict fails with how many did not run and the spec it stopped in', () => {
    const counter = new E2eProgressCounter();
    for (const line of readFileSync(interrupted('e2e.log'), 'utf8').split('\n')) counter.feed(line);
    expect(counter.state).toMatchObject({ willRun: 291, finished: 0, current: '[sig-storage] Projected downwardAPI should update labels on modification [NodeConformance] [Conformance]' });
    const judged = judgeConformance({
      version: 'v1.20.2',
      expected: 291,
      willRun: 291,
      tally: tallySpecs([report]),
      stoppedDuring: counter.state.current!,
      exit: { exitCode: 1, signal: null, timedOut: false, interrupted: true, durationMs: 50_157 },
    });
    expect(judged.reason).toBe('interrupted after 50s during "[sig-storage] Projected downwardAPI should update labels on modification [NodeConformance] [Conformance]"; ran 0 of 291 specs expected for v1.20.2: 291 did not run');
    expect(judged.counts).toEqual({ expected: 291, willRun: 291, ran: 0, passed: 0, failed: 0, notRun: 291 });
  });
});

describe('progress from the real e2e.log of the quick run', () => {
  test('the plan, each finished spec and the spec text are read from Ginkgo verbose output', () => {
    const counter = new E2eProgressCounter();
    const updates: string[] = [];
    for (const line of readFileSync(quick('e2e.log'), 'utf8').split('\n')) {
      if (counter.feed(line)) updates.push(`${counter.state.finished}/${counter.state.willRun}`);
    }
    // The plan, the spec starting, the spec finished.
    expect(updates).toEqual(['0/1', '0/1', '1/1']);
    expect(counter.state).toEqual({ willRun: 1, totalSpecs: 5667, finished: 1, failed: 0, current: QUICK_SPEC, ranReported: 1 });
  });

  test('failure, timeout and panic denoters count as finished and failed', () => {
    const counter = new E2eProgressCounter();
    for (const line of ['• Failure [12.1 seconds]', '•... Timeout [600 seconds]', '•! Panic [0.2 seconds]', '• [SLOW TEST:13.4 seconds]', '•', 'SSSS']) counter.feed(line);
    expect(counter.state).toMatchObject({ finished: 5, failed: 3 });
  });
});

test('the host command line (Ginkgo v2 CLI): verbose, colourless, focus/skip, a backstop timeout, the suite flags', () => {
  expect(
    e2eArgv({
      ginkgo: 'ginkgo',
      e2eTest: '/c/e2e.test',
      kubeconfigPath: '/r/kubeconfig',
      reportDir: '/r/conformance/quick',
      focus: 'Pods should be submitted and removed',
      skip: '',
      nodes: 1,
      timeoutMs: 600_000,
      setupTimeoutMs: 300_000,
    }),
  ).toEqual([
    '--nodes=1',
    '--no-color',
    '-v',
    '--focus=Pods should be submitted and removed',
    '--timeout=1500s',
    '/c/e2e.test',
    '--',
    '--kubeconfig=/r/kubeconfig',
    '--provider=skeleton',
    '--report-dir=/r/conformance/quick',
    '--disable-log-dump',
    '--system-pods-startup-timeout=300s',
    '--node-schedulable-timeout=300s',
  ]);
});

test("an existing cluster's chosen context is passed on, beside the user's own kubeconfig", () => {
  const argv = e2eArgv({ ginkgo: 'ginkgo', e2eTest: '/c/e2e.test', kubeconfigPath: '/home/u/.kube/config', kubeContext: 'lab', reportDir: '/r', focus: 'x', skip: '', nodes: 1, timeoutMs: 600_000, setupTimeoutMs: 300_000 });
  expect(argv.slice(argv.indexOf('--'), argv.indexOf('--') + 3)).toEqual(['--', '--kubeconfig=/home/u/.kube/config', '--context=lab']);
});

/**
 * Real files of the v1.35.4 suite (Ginkgo v2), run by the harness's runner on
 * this host (see fixtures/samples/conformance/README.md).
 */
describe('Ginkgo v2 JUnit and console output of the v1.35.4 suite (real)', () => {
  const sample = (dir: string, name: string) => fixturePath('samples', 'conformance', dir, name);
  const documentedNow = parseConformanceYaml(readFileSync(fixturePath('samples', 'conformance', 'conformance-v1.35.4.yaml'), 'utf8'));
  const quickNow = expectedSpecs(documentedNow, CONFORMANCE_PRESETS.quick);
  const quickReport = parseGinkgoJunit(readFileSync(sample('quick-v1.35.4', 'junit_01.xml'), 'utf8'), 'junit_01.xml');
  const interruptedReport = parseGinkgoJunit(readFileSync(sample('interrupted-v1.35.4', 'junit_01.xml'), 'utf8'), 'junit_01.xml');

  test('quick: the merged report lists every spec of the binary; the one that ran passed, under its conformance.yaml name', () => {
    expect(quickReport.specs).toHaveLength(7355);
    expect(quickReport.failures).toBe(0);
    expect(quickReport.tests).toBe(7360);
    expect(quickReport.specs.filter((s) => s.status !== 'skipped')).toEqual([{ name: quickNow[0]!.codename, status: 'passed', durationMs: 3_549 }]);
    // Suite nodes are set-up, not specs; all passed.
    expect(quickReport.setup.map((s) => `${s.name}: ${s.status}`)).toEqual([
      '[ReportBeforeSuite]: passed',
      '[SynchronizedBeforeSuite]: passed',
      '[SynchronizedAfterSuite]: passed',
      '[ReportAfterSuite] Invariant Metrics: passed',
      '[ReportAfterSuite] Kubernetes e2e suite report: passed',
    ]);
    const judged = judgeConformance({ version: 'v1.35.4', expected: quickNow.length, willRun: 1, tally: tallySpecs([quickReport]), exit: { exitCode: 0, signal: null, timedOut: false, interrupted: false, durationMs: 5_455 } });
    expect(judged).toEqual({ verdict: 'pass', counts: { expected: 1, willRun: 1, ran: 1, passed: 1, failed: 0, notRun: 0 } });
  });

  test('interrupted: the spec that was running is reported as run and interrupted, with its message decoded; the rest did not run', () => {
    const tally = tallySpecs([interruptedReport]);
    expect(interruptedReport.failures).toBe(1);
    expect(tally.ran).toHaveLength(1);
    const [stopped] = tally.failed;
    expect(stopped!.name).toBe('[sig-api-machinery] Servers with support for API chunking should support continue listing from the last key if the original version has been compacted away, though the list is inconsistent [Slow] [Conformance]');
    expect(stopped!.failure!.type).toBe('interrupted');
    expect(stopped!.failure!.message.split('\n')[0]).toBe('[INTERRUPTED] Interrupted by User');
    const expected = expectedSpecs(documentedNow, CONFORMANCE_PRESETS.conformance).length;
    const judged = judgeConformance({ version: 'v1.35.4', expected, willRun: 412, tally, exit: { exitCode: 1, signal: null, timedOut: false, interrupted: true, durationMs: 100_046 } });
    expect(judged.reason).toBe(`interrupted after 1m40s; 1 of 1 specs failed: "${stopped!.name}": [INTERRUPTED] Interrupted by User; ran 1 of 412 specs expected for v1.35.4: 411 did not run`);
    expect(judged.counts).toEqual({ expected: 412, willRun: 412, ran: 1, passed: 0, failed: 1, notRun: 411 });
  });

  test('progress from the quick e2e.log: the plan, the spec starting (its text, then its labels), the spec finished', () => {
    const counter = new E2eProgressCounter();
    const updates: string[] = [];
    for (const line of readFileSync(sample('quick-v1.35.4', 'e2e.log'), 'utf8').split('\n')) if (counter.feed(line)) updates.push(`${counter.state.finished}/${counter.state.willRun}`);
    expect(updates).toEqual(['0/1', '0/1', '1/1']);
    expect(counter.state).toEqual({
      willRun: 1,
      totalSpecs: 7355,
      finished: 1,
      failed: 0,
      current: `${quickNow[0]!.codename} [sig-node, NodeConformance, Conformance]`,
      ranReported: 1,
    });
  });

  test('progress from the interrupted e2e.log: one spec finished, as a failure; "current" stays the spec, without the [It] of its failure block', () => {
    const counter = new E2eProgressCounter();
    for (const line of readFileSync(sample('interrupted-v1.35.4', 'e2e.log'), 'utf8').split('\n')) counter.feed(line);
    expect(counter.state).toMatchObject({ willRun: 412, finished: 1, failed: 1, ranReported: 1 });
    expect(counter.state.current).toBe('[sig-api-machinery] Servers with support for API chunking should support continue listing from the last key if the original version has been compacted away, though the list is inconsistent [Slow] [Conformance] [sig-api-machinery, Slow, Conformance]');
  });

  test('v2 closing lines: passed, and each state that is not', () => {
    const counter = new E2eProgressCounter();
    for (const line of ['• [2.345 seconds]', '• [FAILED] [30.100 seconds]', '• [TIMEDOUT] [600.000 seconds]', '• [INTERRUPTED] [88.498 seconds]', '• [PANICKED] [0.200 seconds]', '[SynchronizedBeforeSuite] PASSED [1.234 seconds]', 'SSSS']) counter.feed(line);
    expect(counter.state).toMatchObject({ finished: 5, failed: 4 });
  });
});
