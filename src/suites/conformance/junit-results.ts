import { XMLParser } from 'fast-xml-parser';
import { EdgeproofError } from '../../core/errors.js';

/**
 * Ginkgo v1's JUnit files (junit_01.xml, one per parallel node), as the
 * Kubernetes e2e suite writes them: one <testsuite> whose <testcase>s are
 * every spec of the binary, the ones focus/skip left out marked <skipped/>;
 * a failed spec has <failure type="Failure|Timeout|Panic">; a failed
 * BeforeSuite/AfterSuite is a testcase of that name.
 */
export type SpecStatus = 'passed' | 'failed' | 'skipped';

export interface SpecResult {
  name: string;
  status: SpecStatus;
  durationMs: number;
  failure?: { type: string; message: string };
}

export interface JunitReport {
  file: string;
  /** testsuite/@tests: the specs this node was to run. */
  tests: number;
  failures: number;
  durationMs: number;
  specs: SpecResult[];
  /** BeforeSuite / AfterSuite, present when they failed. */
  setup: SpecResult[];
}

const SETUP_NODES = new Set(['BeforeSuite', 'AfterSuite', 'SynchronizedBeforeSuite', 'SynchronizedAfterSuite']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Keep text verbatim (failure messages are multi-line Go output), and <testcase> a list even when there is one.
  trimValues: false,
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => name === 'testcase',
});

interface RawCase {
  name?: string;
  time?: string;
  failure?: string | { '#text'?: string; type?: string };
  skipped?: unknown;
}

export function parseGinkgoJunit(xml: string, file: string): JunitReport {
  let doc: { testsuite?: { tests?: string; failures?: string; time?: string; testcase?: RawCase[] } };
  try {
    doc = parser.parse(xml, true) as typeof doc;
  } catch (error) {
    throw new EdgeproofError('INPUT', `${file} is not well-formed XML: ${(error as Error).message}`, { cause: error, hint: 'a run killed while writing it leaves it truncated; the e2e.log beside it has the spec output' });
  }
  const suite = doc.testsuite;
  if (!suite) throw new EdgeproofError('INPUT', `${file} has no <testsuite> element: not a Ginkgo JUnit report`);
  const cases = (suite.testcase ?? []).map(toSpec);
  return {
    file,
    tests: Number(suite.tests ?? 0),
    failures: Number(suite.failures ?? 0),
    durationMs: seconds(suite.time),
    specs: cases.filter((c) => !SETUP_NODES.has(c.name)),
    setup: cases.filter((c) => SETUP_NODES.has(c.name)),
  };
}

function toSpec(raw: RawCase): SpecResult {
  const spec: SpecResult = { name: String(raw.name ?? ''), status: 'passed', durationMs: seconds(raw.time) };
  if (raw.failure !== undefined) {
    const failure = typeof raw.failure === 'string' ? { '#text': raw.failure } : raw.failure;
    spec.status = 'failed';
    spec.failure = { type: failure.type ?? 'Failure', message: (failure['#text'] ?? '').trim() };
  } else if (raw.skipped !== undefined) {
    spec.status = 'skipped';
  }
  return spec;
}

function seconds(text: string | undefined): number {
  const value = Number(text ?? 0);
  return Number.isFinite(value) ? Math.round(value * 1000) : 0;
}

/** The run's specs from every node's report: a spec that ran somewhere counts as run (nodes report the others as skipped). */
export interface SpecTally {
  specs: SpecResult[];
  ran: SpecResult[];
  passed: number;
  failed: SpecResult[];
  /** What the Ginkgo nodes were to run, summed over their reports. */
  selected: number;
  setupFailures: SpecResult[];
}

export function tallySpecs(reports: JunitReport[]): SpecTally {
  const rank: Record<SpecStatus, number> = { skipped: 0, passed: 1, failed: 2 };
  const byName = new Map<string, SpecResult>();
  for (const spec of reports.flatMap((r) => r.specs)) {
    const seen = byName.get(spec.name);
    if (!seen || rank[spec.status] > rank[seen.status]) byName.set(spec.name, spec);
  }
  const specs = [...byName.values()];
  const ran = specs.filter((s) => s.status !== 'skipped');
  return {
    specs,
    ran,
    passed: ran.filter((s) => s.status === 'passed').length,
    failed: ran.filter((s) => s.status === 'failed'),
    selected: reports.reduce((sum, r) => sum + r.tests, 0),
    setupFailures: reports.flatMap((r) => r.setup.filter((s) => s.status === 'failed')),
  };
}

/** The first line of a Ginkgo failure that says something (the message, not the file:line that follows). */
export function failureHeadline(spec: SpecResult): string {
  const lines = (spec.failure?.message ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => !/^\/.*\.go:\d+$/.test(l)) ?? spec.failure?.type ?? 'failed';
}
