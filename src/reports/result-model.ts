/**
 * The versioned result model: what a run established, built from its event
 * stream and written as result.json. Every report renders from this, never
 * from the events directly, so a result.json from another machine renders the same.
 */
import { z } from 'zod';
import { EdgeproofError } from '../core/errors.js';
import { EXIT } from '../core/exit-codes.js';
import type { RunEvent, Verdict } from '../core/events.js';
import { withoutUndefined } from './objects.js';

export const RESULT_SCHEMA_VERSION = 1;

const verdictSchema = z.enum(['pass', 'fail', 'skipped', 'not-applicable']);
const evidenceSchema = z.record(z.unknown());

/** Known keys are typed; anything else a backend records is kept as is. */
export const environmentSchema = z
  .object({
    host: z.string(),
    qemuVersion: z.string(),
    accel: z.string(),
    board: z.string(),
    backend: z.string(),
    arch: z.string(),
    slowdownFactor: z.number().positive(),
    timeoutScale: z.number().positive(),
    distro: z.string(),
    distroVersion: z.string(),
    k8sVersion: z.string(),
    topology: z.string(),
    nodeCount: z.number().int().nonnegative(),
    addons: z.array(z.string()),
  })
  .partial()
  .catchall(z.unknown());

export const phaseResultSchema = z.object({
  name: z.string(),
  node: z.string().optional(),
  /** Offset of the phase start from the run start, in ms. */
  t: z.number().nonnegative(),
  budgetMs: z.number().nonnegative().optional(),
  durationMs: z.number().nonnegative().optional(),
  outcome: z.enum(['ok', 'failed', 'interrupted', 'unfinished']),
  error: z.string().optional(),
});

export const checkResultSchema = z.object({
  id: z.string().min(1),
  suite: z.string().min(1),
  name: z.string(),
  verdict: verdictSchema,
  reason: z.string().optional(),
  durationMs: z.number().nonnegative(),
  evidence: evidenceSchema,
});

export const measurementResultSchema = z.object({
  id: z.string().min(1),
  suite: z.string().min(1),
  name: z.string(),
  unit: z.string(),
  value: z.number(),
  stats: z.record(z.number()).optional(),
  node: z.string().optional(),
  evidence: evidenceSchema.optional(),
});

export const faultResultSchema = z.object({
  t: z.number().nonnegative(),
  node: z.string(),
  fault: z.string(),
  detail: z.string().optional(),
});

export const artifactResultSchema = z.object({ name: z.string(), path: z.string() });

const count = z.number().int().nonnegative();
export const summarySchema = z.object({ pass: count, fail: count, skipped: count, notApplicable: count });

export const runResultSchema = z
  .object({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    runId: z.string().min(1),
    startedAt: z.string().datetime(),
    finishedAt: z.string().datetime().optional(),
    durationMs: z.number().nonnegative().optional(),
    /** incomplete: the stream has no run-end (the process was killed). */
    outcome: z.enum(['completed', 'failed', 'interrupted', 'incomplete']),
    error: z.string().optional(),
    argv: z.array(z.string()),
    config: z.record(z.unknown()),
    environment: environmentSchema,
    phases: z.array(phaseResultSchema),
    checks: z.array(checkResultSchema),
    measurements: z.array(measurementResultSchema),
    faults: z.array(faultResultSchema),
    artifacts: z.array(artifactResultSchema),
    summary: summarySchema,
  })
  .superRefine((result, ctx) => {
    // A hand-edited or merged result.json whose counts disagree with its checks would mislead every table.
    const expected = summarize(result.checks);
    for (const key of Object.keys(expected) as (keyof Summary)[]) {
      if (result.summary[key] !== expected[key]) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['summary', key],
          message: `is ${result.summary[key]} but the checks give ${expected[key]}`,
        });
      }
    }
  });

export type RunResult = z.infer<typeof runResultSchema>;
export type RunOutcome = RunResult['outcome'];
export type PhaseResult = z.infer<typeof phaseResultSchema>;
export type CheckResult = z.infer<typeof checkResultSchema>;
export type MeasurementResult = z.infer<typeof measurementResultSchema>;
export type Summary = z.infer<typeof summarySchema>;

/** A result.json (or any result object) that does not match the schema; `path` names the first bad field. */
export class ResultInvalidError extends EdgeproofError {
  constructor(
    readonly path: string,
    reason: string,
    readonly source = 'result',
  ) {
    super('INPUT', `Invalid ${source}: ${path || '(root)'} ${reason}`);
  }
}

export function validateResult(json: unknown, source?: string): RunResult {
  const parsed = runResultSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ResultInvalidError(formatIssuePath(issue.path), describeIssue(issue), source);
}

/** ['checks', 2, 'verdict'] -> 'checks[2].verdict' */
export function formatIssuePath(path: (string | number)[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${key}` : key), '');
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') return 'is missing';
  if (issue.code === z.ZodIssueCode.custom) return issue.message;
  return `is invalid: ${issue.message}`;
}

export function summarize(checks: { verdict: Verdict }[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, skipped: 0, notApplicable: 0 };
  for (const { verdict } of checks) summary[verdict === 'not-applicable' ? 'notApplicable' : verdict] += 1;
  return summary;
}

// ---------------------------------------------------------------- events

const eventBase = { ts: z.string(), t: z.number() };
const phaseOutcome = z.enum(['ok', 'failed', 'interrupted']);

/** The schema of one line of events.jsonl; checked against core's RunEvent type below. */
export const runEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...eventBase,
    type: z.literal('run-start'),
    runId: z.string(),
    argv: z.array(z.string()),
    config: z.record(z.unknown()),
  }),
  z.object({ ...eventBase, type: z.literal('environment'), environment: z.record(z.unknown()) }),
  z.object({ ...eventBase, type: z.literal('phase-start'), phase: z.string(), node: z.string().optional(), budgetMs: z.number().optional() }),
  z.object({
    ...eventBase,
    type: z.literal('phase-end'),
    phase: z.string(),
    node: z.string().optional(),
    durationMs: z.number(),
    outcome: phaseOutcome,
    error: z.string().optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('command'),
    node: z.string(),
    command: z.string(),
    exitCode: z.number().nullable(),
    durationMs: z.number(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('wait'),
    what: z.string(),
    budgetMs: z.number(),
    durationMs: z.number(),
    outcome: z.enum(['ok', 'timeout']),
  }),
  z.object({ ...eventBase, type: z.literal('fault'), node: z.string(), fault: z.string(), detail: z.string().optional() }),
  z.object({ ...eventBase, type: z.literal('check'), ...checkResultSchema.shape }),
  z.object({ ...eventBase, type: z.literal('measurement'), ...measurementResultSchema.shape }),
  z.object({ ...eventBase, type: z.literal('artifact'), name: z.string(), path: z.string() }),
  z.object({
    ...eventBase,
    type: z.literal('run-end'),
    outcome: z.enum(['completed', 'failed', 'interrupted']),
    error: z.string().optional(),
    durationMs: z.number(),
  }),
]);

// Compile-time guards: the schema produces RunEvents, and covers every RunEvent type core defines.
type ParsedEvent = z.infer<typeof runEventSchema>;
const schemaMatchesRunEvent: (event: ParsedEvent) => RunEvent = (event) => event;
type UncoveredEventTypes = Exclude<RunEvent['type'], ParsedEvent['type']>;
const schemaCoversRunEvent: [UncoveredEventTypes] extends [never] ? true : false = true;
void schemaMatchesRunEvent;
void schemaCoversRunEvent;

/**
 * Parses events.jsonl. A killed run can leave a truncated last line, and a
 * line may be corrupt: those are skipped and their 1-based numbers returned.
 */
export function parseEventsJsonl(text: string): { events: RunEvent[]; badLines: number[] } {
  const events: RunEvent[] = [];
  const badLines: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    const event = parseEventLine(line);
    if (event) events.push(event);
    else badLines.push(index + 1);
  });
  return { events, badLines };
}

function parseEventLine(line: string): RunEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = runEventSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

// ---------------------------------------------------------------- building

export function buildResult(events: RunEvent[]): RunResult {
  const start = events.find((e) => e.type === 'run-start');
  if (!start) throw new EdgeproofError('INPUT', 'The event stream has no run-start event: nothing to build a result from');
  const end = events.findLast((e) => e.type === 'run-end');
  const ofType = <T extends RunEvent['type']>(type: T) => events.filter((e): e is EventOf<T> => e.type === type);
  const checks = ofType('check').map(toCheck);
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: start.runId,
    startedAt: start.ts,
    ...(end ? { finishedAt: end.ts, durationMs: end.durationMs } : {}),
    outcome: end ? end.outcome : 'incomplete',
    ...(end?.error ? { error: end.error } : {}),
    argv: start.argv,
    config: start.config,
    // Later environment events add what is learnt during the run (e.g. the slowdown factor after boot).
    environment: Object.assign({}, ...ofType('environment').map((e) => e.environment)),
    phases: buildPhases(events, start.t),
    checks,
    measurements: ofType('measurement').map(toMeasurement),
    faults: ofType('fault').map(({ t, node, fault, detail }) => withoutUndefined({ t: t - start.t, node, fault, detail })),
    artifacts: ofType('artifact').map((e) => ({ name: e.name, path: e.path })),
    summary: summarize(checks),
  };
}

type EventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

/** Pairs each phase-end with the latest open phase-start of the same name and node. */
function buildPhases(events: RunEvent[], runT: number): PhaseResult[] {
  const phases: PhaseResult[] = [];
  const open: PhaseResult[] = [];
  for (const event of events) {
    if (event.type === 'phase-start') {
      const phase = openPhase(event.phase, event.node, event.t - runT, event.budgetMs);
      phases.push(phase);
      open.push(phase);
    } else if (event.type === 'phase-end') {
      const index = open.findLastIndex((p) => p.name === event.phase && p.node === event.node);
      const phase = index >= 0 ? open.splice(index, 1)[0]! : lostStartPhase(event, runT, phases);
      Object.assign(phase, withoutUndefined({ durationMs: event.durationMs, outcome: event.outcome, error: event.error }));
    }
  }
  return phases;
}

function openPhase(name: string, node: string | undefined, t: number, budgetMs?: number): PhaseResult {
  return withoutUndefined({ name, node, t, budgetMs, outcome: 'unfinished' as const });
}

/** A phase-end whose start line was lost (corrupt): keep it, dated back by its duration. */
function lostStartPhase(event: EventOf<'phase-end'>, runT: number, phases: PhaseResult[]): PhaseResult {
  const phase = openPhase(event.phase, event.node, Math.max(0, event.t - runT - event.durationMs));
  phases.push(phase);
  return phase;
}

function toCheck(e: EventOf<'check'>): CheckResult {
  const { id, suite, name, verdict, reason, durationMs, evidence } = e;
  return withoutUndefined({ id, suite, name, verdict, reason, durationMs, evidence });
}

function toMeasurement(e: EventOf<'measurement'>): MeasurementResult {
  const { id, suite, name, unit, value, stats, node, evidence } = e;
  return withoutUndefined({ id, suite, name, unit, value, stats, node, evidence });
}

// ---------------------------------------------------------------- judging

/**
 * The exit code of a run: 3 if it did not complete (it errored, was stopped or
 * crashed: no verdict), else 1 if a check failed; skipped and not-applicable
 * never fail it.
 */
export function exitCodeFor(result: RunResult): 0 | 1 | 3 {
  if (result.outcome !== 'completed') return EXIT.error;
  return result.checks.some((c) => c.verdict === 'fail') ? EXIT.failed : EXIT.ok;
}
