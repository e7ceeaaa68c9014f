import type { RunContext } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { budgetChecks, loadBudgets } from '../reports/budgets.js';
import { buildResult, type RunResult } from '../reports/result-model.js';
import { writeReports } from '../reports/write-reports.js';
import { TEARDOWN_BUDGET_MS, interruptedBy, uncaughtError } from '../core/interrupt.js';

export interface RunEnd {
  /** Date.now() when the run began. */
  startedAt: number;
  /** What stopped bring-up or the suites, if anything. */
  error?: unknown;
  budgetsFile?: string;
  /** The vendors' memory claims, for the budget checks and the reports. */
  claims: Record<string, number>;
}

export interface EndedRun {
  result: RunResult;
  /** The run's error (its own, the teardown's or the budgets'); for an interrupted run, what it was doing when stopped. */
  error?: unknown;
  interrupted: boolean;
}

/**
 * Ends a run so that its results survive a slow or cut-short teardown: the
 * budgets are judged and every report written before teardown starts (a
 * second Ctrl-C or the end of the grace period may stop the process during
 * teardown), then teardown, then the reports again with the run's outcome.
 */
export async function endRun(ctx: RunContext, end: RunEnd): Promise<EndedRun> {
  let error = end.error;
  await judgeBudgets(ctx, end).catch((budgetError: unknown) => {
    error ??= budgetError;
  });
  // Reports first, so a cut-short teardown loses nothing; one that cannot be written now is said, and tried again after teardown.
  await writeReports(ctx.runDir, ctx.events.events, { claims: end.claims }).catch((writeError: unknown) => {
    ctx.progress.info(`reports not written before teardown: ${describeError(writeError)}`);
  });
  try {
    await ctx.phase('teardown', TEARDOWN_BUDGET_MS, () => ctx.dispose());
  } catch (teardownError) {
    error ??= teardownError;
  }
  const interrupted = ctx.signal.aborted && interruptedBy() !== undefined;
  // An uncaught exception aborted the run: that, not the aborts it caused, is the run's error.
  const uncaught = uncaughtError();
  if (uncaught && ctx.signal.aborted) error = uncaught;
  ctx.events.emit({
    type: 'run-end',
    outcome: interrupted ? 'interrupted' : error ? 'failed' : 'completed',
    durationMs: Date.now() - end.startedAt,
    ...(error ? { error: describeError(error) } : {}),
  });
  const result = await writeReports(ctx.runDir, ctx.events.events, { claims: end.claims });
  return { result, ...(error ? { error } : {}), interrupted };
}

/** The budgets (shipped defaults, then --budgets) turn the run's measurements into checks; the exit code follows. */
async function judgeBudgets(ctx: RunContext, end: RunEnd): Promise<void> {
  const budgets = await loadBudgets(end.budgetsFile);
  for (const check of budgetChecks(buildResult(ctx.events.events), budgets, end.claims)) ctx.events.emit({ type: 'check', ...check });
}
