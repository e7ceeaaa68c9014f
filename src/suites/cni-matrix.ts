/**
 * The CNI suite's connectivity matrix (NET-2, and the hairpin cells of
 * NET-3) run in rounds against one deadline. Each cell is recorded the
 * moment its verdict is final, so a run that is interrupted keeps every
 * cell that finished. The probe is given: from a pod (exec) or a node (its
 * shell), see cni.ts.
 */
import { performance } from 'node:perf_hooks';
import { mapConcurrent } from '../core/concurrency.js';
import type { RunContext } from '../core/context.js';
import { formatMs } from '../core/errors.js';
import type { Evidence } from '../core/events.js';
import { sleep } from '../core/wait.js';
import { evaluateCheck, fail, notApplicable, pass, recordCheck, type CheckOutcome } from './check.js';
import { CNI_SUITE, resolveSource, resolveTarget, type ClusterView, type MatrixCell, type ResolvedTarget, type RunnableCell, type Source } from './cni-plan.js';
import { httpProbeFailure, type HttpProbeResult } from './workloads.js';

const LATENCY_SOURCE = "the prober's shell reading /proc/uptime around the request (10 ms resolution); roundTripMs is the harness's exec round trip";

/** One probe from a source: what the prober printed, parsed, and how long the harness waited for it. */
export interface ProbeRun {
  result?: HttpProbeResult;
  /** Why the probe did not run to its end (exec failed or timed out). */
  error?: string;
  roundTripMs: number;
}

/** One HTTP request to `url` from a pod or a node; throws only for a missing prerequisite or an abort. */
export type MatrixProbe = (source: Source, url: string) => Promise<ProbeRun>;

/** The suite's pods and Services as the cluster reports them once deployed. */
export interface Deployed {
  view: ClusterView;
  /** Why the suite's pods and Services could not be created: every check that needs them fails with it. */
  problem?: string;
}

export interface MatrixTiming {
  /** Shared by every cell, counted from the matrix's start (already scaled). */
  budgetMs: number;
  /** Between rounds. */
  pauseMs: number;
  /** Probes in flight at once. */
  concurrency: number;
}

/** A cell as the matrix runs it, round after round. */
interface CellRun {
  cell: RunnableCell;
  evidence: Evidence;
  target?: ResolvedTarget;
  attempts: number;
  /** The last failed attempt's reason. */
  last?: string;
  lastRun?: ProbeRun;
  /** Final before the rounds end: a pass, or a precondition that no retry can change. */
  settled?: CheckOutcome;
  /** Thrown by an attempt (a missing prerequisite becomes not-applicable). */
  error?: unknown;
  durationMs: number;
  recorded?: boolean;
}

/**
 * Rounds: every cell still open gets one attempt per round (a few probes in
 * flight at once), then a pause, until every cell passed or the budget,
 * counted from the same start for all cells, is spent. A broken network thus
 * costs one budget, not one per cell, and every cell gets as many attempts as
 * the slowest. A cell is recorded, with its own duration, as soon as it
 * passes or cannot run; the cells still failing when the budget is spent are
 * recorded then. Returns the outcomes in the order they were recorded.
 */
export async function runConnectivityMatrix(ctx: RunContext, cells: MatrixCell[], deployed: Deployed, probe: MatrixProbe, timing: MatrixTiming): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  const started = performance.now();
  const record = async (cell: MatrixCell, outcome: () => Promise<CheckOutcome>, durationMs: number) => {
    const evaluated = await evaluateCheck(ctx, outcome);
    recordCheck(ctx, { id: cell.id, suite: CNI_SUITE, name: cell.name }, evaluated.outcome, durationMs);
    outcomes.push(evaluated.outcome);
  };
  const finish = async (run: CellRun) => {
    run.recorded = true;
    await record(run.cell, async () => cellOutcome(run, deployed.view, timing.budgetMs), run.durationMs);
  };
  for (const cell of cells) if ('notApplicable' in cell) await record(cell, async () => notApplicable(cell.notApplicable, { cell: cell.kind }), 0);
  const runs = cells.filter((c): c is RunnableCell => 'source' in c).map((cell) => prepareCell(cell, deployed));
  for (const run of runs) if (run.settled) await finish(run);
  const isOpen = (run: CellRun) => !run.settled && run.error === undefined;
  ctx.progress.info(`connectivity matrix: ${runs.length} cells, ${timing.concurrency} probes at a time, each cell <= ${formatMs(timing.budgetMs)}`);
  for (;;) {
    const open = runs.filter(isOpen);
    if (open.length === 0) break;
    await mapConcurrent(open, timing.concurrency, async (run) => {
      await attemptCell(ctx, run, probe, deployed.view, started);
      if (!isOpen(run)) await finish(run);
    });
    if (performance.now() - started + timing.pauseMs >= timing.budgetMs) break;
    if (runs.some(isOpen)) await sleep(timing.pauseMs, ctx.signal);
  }
  for (const run of runs) if (!run.recorded) await finish(run);
  return outcomes;
}

/** Resolves a cell's source and destination; a cell whose pods are not there fails at once (deploy already waited for them). */
function prepareCell(cell: RunnableCell, deployed: Deployed): CellRun {
  const run: CellRun = { cell, evidence: { cell: cell.kind }, attempts: 0, durationMs: 0 };
  if (deployed.problem) return { ...run, settled: fail(`the suite's pods did not all start: ${deployed.problem}`, run.evidence) };
  const source = resolveSource(cell.source, deployed.view);
  if ('problem' in source) return { ...run, settled: fail(source.problem, run.evidence) };
  run.evidence.source = source.describe;
  const target = resolveTarget(cell.target, deployed.view);
  if ('problem' in target) return { ...run, settled: fail(target.problem, run.evidence) };
  run.evidence.destination = target.describe;
  run.evidence.url = target.url;
  return { ...run, target };
}

async function attemptCell(ctx: RunContext, run: CellRun, probe: MatrixProbe, view: ClusterView, started: number): Promise<void> {
  run.attempts++;
  try {
    const probeRun = await probe(run.cell.source, run.target!.url);
    run.lastRun = probeRun;
    const failure = probeRun.error ?? httpProbeFailure(probeRun.result!, run.target!.backends);
    if (failure) run.last = failure;
    else run.settled = pass({ ...run.evidence, ...answerEvidence(probeRun, view), attempts: run.attempts });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    run.error = error;
  } finally {
    run.durationMs = Math.round(performance.now() - started);
  }
}

/** The cell's verdict: its pass, its failure after the rounds, or what its attempt threw (a missing prerequisite is not-applicable, through evaluateCheck). */
function cellOutcome(run: CellRun, view: ClusterView, budgetMs: number): CheckOutcome {
  if (run.error !== undefined) throw run.error;
  if (run.settled) return run.settled;
  const evidence = { ...run.evidence, ...(run.lastRun ? answerEvidence(run.lastRun, view) : {}), attempts: run.attempts, lastError: run.last };
  return fail(`${run.target!.url} from ${describeSource(run.cell.source)}: ${run.last} (${run.attempts} attempts within ${formatMs(budgetMs)})`, evidence);
}

function answerEvidence(run: ProbeRun, view: ClusterView): Evidence {
  const r = run.result;
  return {
    latencyMs: r?.elapsedMs,
    roundTripMs: run.roundTripMs,
    latencySource: LATENCY_SOURCE,
    statusLine: r?.statusLine,
    marker: r?.marker,
    servedBy: r?.servedBy,
    servedByNode: r?.servedBy ? view.pods[r.servedBy]?.node : undefined,
    ...(r?.error ? { probeError: r.error } : {}),
    ...(run.error ? { execError: run.error } : {}),
  };
}

function describeSource(source: Source): string {
  return source.kind === 'pod' ? `pod ${source.pod} on ${source.node}` : `node ${source.node}`;
}
