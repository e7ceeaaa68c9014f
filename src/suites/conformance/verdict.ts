import { formatMs } from '../../core/errors.js';
import { failureHeadline, type SpecTally } from './junit-results.js';

/** How the e2e process ended. */
export interface E2eExit {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  interrupted: boolean;
  durationMs: number;
}

export interface ConformanceFacts {
  version: string;
  /** Documented conformance specs the preset selects (conformance.yaml of the version). */
  expected: number;
  /** Ginkgo's "Will run N of M specs", when it got that far. */
  willRun?: number;
  /** The spec that was running when an interrupt or the timeout stopped the run. */
  stoppedDuring?: string;
  /** From the JUnit reports; absent when none was written. */
  tally?: SpecTally;
  exit: E2eExit;
}

export interface ConformanceCounts {
  expected: number;
  willRun: number | null;
  ran: number;
  passed: number;
  failed: number;
  notRun: number;
}

export interface ConformanceVerdict {
  verdict: 'pass' | 'fail';
  reason?: string;
  counts: ConformanceCounts;
}

/**
 * A conformance run passes only when every expected spec ran and passed and
 * the runner exited 0. A short run (fewer specs than the version documents,
 * an interrupt, a timeout) is a failure that says how many did not run.
 */
export function judgeConformance(facts: ConformanceFacts): ConformanceVerdict {
  const { tally, exit, expected } = facts;
  const ran = tally?.ran.length ?? 0;
  const counts: ConformanceCounts = {
    expected,
    willRun: facts.willRun ?? null,
    ran,
    passed: tally?.passed ?? 0,
    failed: tally?.failed.length ?? 0,
    notRun: Math.max(0, expected - ran),
  };
  const reasons: string[] = [];
  const during = facts.stoppedDuring ? ` during "${facts.stoppedDuring}"` : '';
  if (exit.interrupted) reasons.push(`interrupted after ${formatMs(exit.durationMs)}${during}`);
  else if (exit.timedOut) reasons.push(`timed out after ${formatMs(exit.durationMs)}${during}`);
  if (!tally) reasons.push(`no JUnit report was written (the runner ${howEnded(exit)})`);
  for (const setup of tally?.setupFailures ?? []) reasons.push(`${setup.name} failed: ${failureHeadline(setup)}`);
  if (tally && tally.failed.length > 0) {
    const listed = tally.failed.slice(0, 3).map((s) => `"${s.name}": ${failureHeadline(s)}`);
    reasons.push(`${tally.failed.length} of ${ran} specs failed: ${listed.join('; ')}${tally.failed.length > 3 ? '; ...' : ''}`);
  }
  if (ran < expected) reasons.push(`ran ${ran} of ${expected} specs expected for ${facts.version}: ${expected - ran} did not run`);
  if (facts.willRun !== undefined && facts.willRun < expected) reasons.push(`the e2e binary selects ${facts.willRun} specs where conformance.yaml of ${facts.version} lists ${expected}`);
  if (reasons.length === 0 && exit.exitCode !== 0) reasons.push(`every spec passed but the runner ${howEnded(exit)}`);
  return reasons.length === 0 ? { verdict: 'pass', counts } : { verdict: 'fail', reason: reasons.join('; '), counts };
}

function howEnded(exit: E2eExit): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.exitCode}`;
}
