import type { RunContext } from '../core/context.js';
import { EdgeproofError, PrerequisiteMissingError, describeError } from '../core/errors.js';
import type { Evidence, Verdict } from '../core/events.js';

export interface CheckOutcome {
  verdict: Verdict;
  reason?: string;
  evidence: Evidence;
}

export interface CheckSpec {
  /** Catalog id (checks.md): BOOT-1, SMOKE-2, BM-API-1/pod-create... */
  id: string;
  suite: string;
  name: string;
}

export const pass = (evidence: Evidence = {}): CheckOutcome => ({ verdict: 'pass', evidence });
export const fail = (reason: string, evidence: Evidence = {}): CheckOutcome => ({ verdict: 'fail', reason, evidence });
export const notApplicable = (reason: string, evidence: Evidence = {}): CheckOutcome => ({ verdict: 'not-applicable', reason, evidence });
export const skipped = (reason: string, evidence: Evidence = {}): CheckOutcome => ({ verdict: 'skipped', reason, evidence });

/**
 * Runs one check and records it. An exception is a failure with its message
 * as the reason (a timeout says what it last saw); a missing prerequisite is
 * not-applicable. Nothing that did not run is ever a pass.
 */
export async function runCheck(ctx: RunContext, spec: CheckSpec, body: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  ctx.progress.start(`${spec.id} ${spec.name}`);
  const { outcome, durationMs } = await evaluateCheck(ctx, body);
  recordCheck(ctx, spec, outcome, durationMs);
  return outcome;
}

/** Runs a check's body without recording it (checks that run side by side, like the CNI matrix's cells, are recorded when their verdict is final). */
export async function evaluateCheck(ctx: RunContext, body: () => Promise<CheckOutcome>): Promise<{ outcome: CheckOutcome; durationMs: number }> {
  const started = Date.now();
  let outcome: CheckOutcome;
  try {
    outcome = await body();
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    outcome =
      error instanceof PrerequisiteMissingError
        ? notApplicable(describeError(error), { prerequisite: error.what })
        : fail(describeError(error), { errorCode: error instanceof EdgeproofError ? error.code : 'INTERNAL' });
  }
  return { outcome, durationMs: Date.now() - started };
}

/** Records an evaluated check: the event and the progress line. */
export function recordCheck(ctx: RunContext, spec: CheckSpec, outcome: CheckOutcome, durationMs: number): void {
  ctx.events.emit({ type: 'check', ...spec, verdict: outcome.verdict, durationMs, evidence: outcome.evidence, ...(outcome.reason ? { reason: outcome.reason } : {}) });
  const mark = outcome.verdict === 'pass' ? 'ok' : outcome.verdict === 'fail' ? 'failed' : 'skipped';
  ctx.progress.end(`${spec.id} ${spec.name}`, durationMs, mark, outcome.verdict === 'pass' ? undefined : `${outcome.verdict}: ${outcome.reason ?? ''}`);
}
