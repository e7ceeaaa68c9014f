import { XMLParser } from 'fast-xml-parser';
import { EdgeproofError } from '../../core/errors.js';

/**
 * The Kubernetes e2e suite's JUnit file (junit_01.xml) in both shapes:
 * - Ginkgo v2 (Kubernetes >= 1.25, the baseline): one merged report for all
 *   parallel processes, <testsuites><testsuite> with every spec of the binary
 *   as a <testcase status="..."> named "[It] <full text>"; the ones focus/skip
 *   left out are status="skipped"; failed, timedout and aborted specs carry
 *   <failure>, interrupted and panicked ones <error>; suite nodes are testcases
 *   named "[SynchronizedBeforeSuite]", "[ReportAfterSuite] ...".
 * - Ginkgo v1 (Kubernetes v1.20): one <testsuite> per parallel node, a failed
 *   spec has <failure type="Failure|Timeout|Panic">, a failed
 *   BeforeSuite/AfterSuite is a testcase of that name.
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
  /** testsuite/@tests: v1, the specs this node was to run; v2, every spec of the binary. */
  tests: number;
  failures: number;
  durationMs: number;
  specs: SpecResult[];
  /** BeforeSuite / AfterSuite, present when they failed. */
  setup: SpecResult[];
}

const SETUP_NODES = new Set(['BeforeSuite', 'AfterSuite', 'SynchronizedBeforeSuite', 'SynchronizedAfterSuite']);
/** Ginkgo v2's suite-level nodes: "[SynchronizedBeforeSuite]", "[ReportAfterSuite] Kubernetes e2e suite report", "[DeferCleanup (Suite)]"... */
const V2_SETUP_NODE = /^\[(?:Synchronized|Report)?(?:Before|After)Suite\]|^\[DeferCleanup \(Suite\)\]/;
/** Ginkgo v2 names a spec by its leaf node type, then its full text: "[It] [sig-node] Pods should ...". */
const V2_LEAF_PREFIX = /^\[It\] /;
/** Ginkgo v2 testcase states other than passed and skipped/pending: each is a spec that ran and did not pass. */
const NOT_RUN_STATES = new Set(['skipped', 'pending']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Keep text verbatim (failure messages are multi-line Go output), and <testcase> a list even when there is one.
  trimValues: false,
  parseAttributeValue: false,
  parseTagValue: false,
  // Ginkgo v2 writes newlines and quotes in messages as character references (&#xA;, &#34;).
  htmlEntities: true,
  isArray: (name, path) => name === 'testcase' || path === 'testsuites.testsuite',
});

type RawProblem = string | { '#text'?: string; type?: string };

interface RawCase {
  name?: string;
  time?: string;
  /** Ginkgo v2 only: passed, skipped, pending, failed, timedout, interrupted, aborted, panicked. */
  status?: string;
  failure?: RawProblem;
  error?: RawProblem;
  skipped?: unknown;
}

interface RawSuite {
  tests?: string;
  failures?: string;
  errors?: string;
  time?: string;
  testcase?: RawCase[];
}

export function parseGinkgoJunit(xml: string, file: string): JunitReport {
  let doc: { testsuites?: { testsuite?: RawSuite[] }; testsuite?: RawSuite };
  try {
    doc = parser.parse(xml, true) as typeof doc;
  } catch (error) {
    throw new EdgeproofError('INPUT', `${file} is not well-formed XML: ${(error as Error).message}`, { cause: error, hint: 'a run killed while writing it leaves it truncated; the e2e.log beside it has the spec output' });
  }
  const suite = doc.testsuites?.testsuite?.[0] ?? doc.testsuite;
  if (!suite) throw new EdgeproofError('INPUT', `${file} has no <testsuite> element: not a Ginkgo JUnit report`);
  const cases = (suite.testcase ?? []).map(toSpec);
  const isSetup = (spec: SpecResult) => SETUP_NODES.has(spec.name) || V2_SETUP_NODE.test(spec.name);
  return {
    file,
    tests: Number(suite.tests ?? 0),
    // Ginkgo v2 counts interrupted and panicked specs as errors, not failures.
    failures: Number(suite.failures ?? 0) + Number(suite.errors ?? 0),
    durationMs: seconds(suite.time),
    specs: cases.filter((c) => !isSetup(c)),
    setup: cases.filter(isSetup),
  };
}

function toSpec(raw: RawCase): SpecResult {
  const spec: SpecResult = { name: String(raw.name ?? '').replace(V2_LEAF_PREFIX, ''), status: 'passed', durationMs: seconds(raw.time) };
  const problem = raw.failure ?? raw.error;
  if (raw.status !== undefined) {
    if (NOT_RUN_STATES.has(raw.status)) spec.status = 'skipped';
    else if (raw.status !== 'passed') {
      spec.status = 'failed';
      spec.failure = { type: raw.status, message: problemText(problem) };
    }
  } else if (problem !== undefined) {
    spec.status = 'failed';
    spec.failure = { type: (typeof problem === 'string' ? undefined : problem.type) ?? 'Failure', message: problemText(problem) };
  } else if (raw.skipped !== undefined) {
    spec.status = 'skipped';
  }
  return spec;
}

function problemText(problem: RawProblem | undefined): string {
  if (problem === undefined) return '';
  return (typeof problem === 'string' ? problem : (problem['#text'] ?? '')).trim();
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
