import { describe, expect, test } from 'vitest';
import type { SpecResult } from './junit-results.js';
import { tallySpecs, type JunitReport } from './junit-results.js';
import { judgeConformance, type E2eExit } from './verdict.js';

const ok: E2eExit = { exitCode: 0, signal: null, timedOut: false, interrupted: false, durationMs: 61_000 };
const spec = (name: string, status: SpecResult['status'], message?: string): SpecResult => ({
  name,
  status,
  durationMs: 1000,
  ...(message ? { failure: { type: 'Failure', message } } : {}),
});
const report = (specs: SpecResult[], setup: SpecResult[] = []): JunitReport => ({
  file: 'junit_01.xml',
  tests: specs.filter((s) => s.status !== 'skipped').length,
  failures: specs.filter((s) => s.status === 'failed').length,
  durationMs: 0,
  specs,
  setup,
});

describe('judgeConformance: the expected count decides, not the exit code alone', () => {
  test('every expected spec ran and passed, exit 0: pass with the counts', () => {
    const tally = tallySpecs([report([spec('a', 'passed'), spec('b', 'passed'), spec('x', 'skipped')])]);
    expect(judgeConformance({ version: 'v1.20.2', expected: 2, willRun: 2, tally, exit: ok })).toEqual({
      verdict: 'pass',
      counts: { expected: 2, willRun: 2, ran: 2, passed: 2, failed: 0, notRun: 0 },
    });
  });

  test('a short run is a failure with the numbers, even when everything that ran passed and ginkgo exited 0', () => {
    const tally = tallySpecs([report([spec('a', 'passed')])]);
    const judged = judgeConformance({ version: 'v1.20.2', expected: 3, willRun: 1, tally, exit: ok });
    expect(judged.verdict).toBe('fail');
    expect(judged.reason).toBe('ran 1 of 3 specs expected for v1.20.2: 2 did not run; the e2e binary selects 1 specs where conformance.yaml of v1.20.2 lists 3');
    expect(judged.counts.notRun).toBe(2);
  });

  test('failed specs are named with their first meaningful line', () => {
    const message = '/go/src/k8s.io/kubernetes/test/e2e/common/pods.go:231\nUnexpected error:\n    timed out waiting for the condition';
    const tally = tallySpecs([report([spec('a', 'passed'), spec('b', 'failed', message)])]);
    const judged = judgeConformance({ version: 'v1.20.2', expected: 2, tally, exit: { ...ok, exitCode: 1 } });
    expect(judged.reason).toBe('1 of 2 specs failed: "b": Unexpected error:');
  });

  test('an interrupt with no JUnit: every expected spec did not run', () => {
    const judged = judgeConformance({ version: 'v1.20.2', expected: 291, exit: { ...ok, exitCode: null, signal: 'SIGKILL', interrupted: true, durationMs: 90_000 } });
    expect(judged.verdict).toBe('fail');
    expect(judged.reason).toBe('interrupted after 1m30s; no JUnit report was written (the runner was killed by SIGKILL); ran 0 of 291 specs expected for v1.20.2: 291 did not run');
  });

  test('a BeforeSuite failure is said first', () => {
    const tally = tallySpecs([report([], [spec('BeforeSuite', 'failed', 'Error waiting for all pods to be running and ready')])]);
    const judged = judgeConformance({ version: 'v1.20.2', expected: 1, tally, exit: { ...ok, exitCode: 1 } });
    expect(judged.reason).toMatch(/^BeforeSuite failed: Error waiting for all pods to be running and ready; ran 0 of 1/);
  });

  test('all passed but a non-zero exit (AfterSuite trouble, a crash after the report) is still a failure', () => {
    const tally = tallySpecs([report([spec('a', 'passed')])]);
    expect(judgeConformance({ version: 'v1.20.2', expected: 1, tally, exit: { ...ok, exitCode: 1 } }).reason).toBe('every spec passed but the runner exited with code 1');
  });

  test('parallel nodes: a spec that ran on one node and is skipped in the others counts once, as run', () => {
    const tally = tallySpecs([report([spec('a', 'passed'), spec('b', 'skipped')]), report([spec('a', 'skipped'), spec('b', 'failed', 'boom')])]);
    expect(tally.ran.map((s) => `${s.name}:${s.status}`)).toEqual(['a:passed', 'b:failed']);
    expect(tally.selected).toBe(2);
  });
});
