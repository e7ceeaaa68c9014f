/**
 * JUnit XML for CI: one testsuite per check suite plus "phases" for bring-up.
 * Hand-written rather than junit-report-builder because its `skipped()` takes
 * no message, and the reason is the point of a skip or not-applicable verdict.
 */
import type { CheckResult, PhaseResult, RunResult } from './result-model.js';
import { escapeXmlText, xmlAttributes } from './xml.js';

interface TestCase {
  name: string;
  classname: string;
  durationMs?: number;
  /** The element inside <testcase>, if any: failure, error or skipped. */
  outcome?: { element: 'failure' | 'error' | 'skipped'; message: string; type?: string; body?: string };
}

interface TestSuite {
  name: string;
  cases: TestCase[];
  properties?: Record<string, string>;
}

export function renderJunit(result: RunResult): string {
  const suites = [phasesSuite(result), ...checkSuites(result.checks)];
  const all = suites.flatMap((s) => s.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${xmlAttributes({ name: `edgeproof ${result.runId}`, ...counts(all), time: seconds(result.durationMs) })}>`,
    ...suites.flatMap(renderSuite),
    '</testsuites>',
  ];
  return `${lines.join('\n')}\n`;
}

/** Bring-up phases as test cases; the run's environment rides along as properties. */
function phasesSuite(result: RunResult): TestSuite {
  const properties: Record<string, string> = { runId: result.runId, outcome: result.outcome };
  for (const [key, value] of Object.entries(result.environment)) {
    if (value !== undefined) properties[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { name: 'phases', properties, cases: result.phases.map(phaseCase) };
}

function phaseCase(phase: PhaseResult): TestCase {
  const name = phase.node ? `${phase.name} [${phase.node}]` : phase.name;
  const testCase: TestCase = { name, classname: 'phases', durationMs: phase.durationMs };
  if (phase.outcome === 'failed') {
    testCase.outcome = { element: 'failure', message: phase.error ?? 'phase failed', type: 'failed' };
  } else if (phase.outcome !== 'ok') {
    // Interrupted or cut short: the phase did not judge the distribution, so it is a JUnit error, not a failure.
    const message = phase.error ?? (phase.outcome === 'unfinished' ? 'the run ended before this phase finished' : 'interrupted');
    testCase.outcome = { element: 'error', message, type: phase.outcome };
  }
  return testCase;
}

function checkSuites(checks: CheckResult[]): TestSuite[] {
  const bySuite = new Map<string, TestCase[]>();
  for (const check of checks) {
    const cases = bySuite.get(check.suite) ?? [];
    cases.push(checkCase(check));
    bySuite.set(check.suite, cases);
  }
  return [...bySuite].map(([name, cases]) => ({ name, cases }));
}

function checkCase(check: CheckResult): TestCase {
  const testCase: TestCase = { name: `${check.id} ${check.name}`, classname: check.suite, durationMs: check.durationMs };
  if (check.verdict === 'fail') {
    const body = JSON.stringify(check.evidence, null, 2);
    testCase.outcome = { element: 'failure', message: check.reason ?? 'check failed', type: 'fail', body };
  } else if (check.verdict !== 'pass') {
    const message = check.reason ? `${check.verdict}: ${check.reason}` : check.verdict;
    testCase.outcome = { element: 'skipped', message };
  }
  return testCase;
}

function renderSuite(suite: TestSuite): string[] {
  const time = seconds(suite.cases.reduce((sum, c) => sum + (c.durationMs ?? 0), 0));
  const properties = Object.entries(suite.properties ?? {}).map(([name, value]) => `      <property${xmlAttributes({ name, value })}/>`);
  return [
    `  <testsuite${xmlAttributes({ name: suite.name, ...counts(suite.cases), time })}>`,
    ...(properties.length ? ['    <properties>', ...properties, '    </properties>'] : []),
    ...suite.cases.flatMap(renderCase),
    '  </testsuite>',
  ];
}

function renderCase(testCase: TestCase): string[] {
  const open = `    <testcase${xmlAttributes({ name: testCase.name, classname: testCase.classname, time: seconds(testCase.durationMs) })}`;
  const { outcome } = testCase;
  if (!outcome) return [`${open}/>`];
  const attributes = xmlAttributes({ message: outcome.message, type: outcome.type });
  const inner = outcome.body === undefined
    ? `      <${outcome.element}${attributes}/>`
    : `      <${outcome.element}${attributes}>${escapeXmlText(outcome.body)}</${outcome.element}>`;
  return [`${open}>`, inner, '    </testcase>'];
}

function counts(cases: TestCase[]): { tests: number; failures: number; errors: number; skipped: number } {
  const countOf = (element: string) => cases.filter((c) => c.outcome?.element === element).length;
  return { tests: cases.length, failures: countOf('failure'), errors: countOf('error'), skipped: countOf('skipped') };
}

function seconds(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : (ms / 1000).toFixed(3);
}
