/**
 * Budgets turn measurements into verdicts (design: "bench never judges;
 * budgets live in reports"). Defaults ship in fixtures/budgets.yaml; a user
 * file overrides entries by name (or turns one off). Each verdict carries the
 * measured figure, the limit, the scale applied and the budget's file:line.
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import type { Evidence, Verdict } from '../core/events.js';
import { fixturePath } from '../core/paths.js';
import type { CheckResult, MeasurementResult, RunResult } from './result-model.js';
import { formatNumber, toMegabytes, toMilliseconds } from './summary-views.js';
import { parseYamlConfig, readYamlConfig, type ParsedConfig, type YamlSource } from './yaml-config.js';

export const DEFAULT_BUDGETS_FILE = fixturePath('budgets.yaml');
export const BUDGET_SUITE = 'budgets';
export const BUDGET_CHECK_PREFIX = 'BUDGET/';

// ---------------------------------------------------------------- limits

/** A limit as written: a bare number is in the measurement's own unit. */
export type Limit =
  | { kind: 'number'; value: number; text: string }
  | { kind: 'duration'; ms: number; text: string }
  | { kind: 'size'; bytes: number; text: string }
  | { kind: 'percent'; value: number; text: string }
  | { kind: 'claim'; factor: number; text: string };

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 2 ** 10, kib: 2 ** 10, mb: 2 ** 20, mib: 2 ** 20, gb: 2 ** 30, gib: 2 ** 30 };
const SIZE = /^(\d+(?:\.\d+)?)\s*([KMG]i?B|B)$/i;
const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

/** '540MB' (MB is 2^20 bytes here, as in the reports), '1.5GiB', '99%', '30s', '250ms'. */
export function parseLimitText(text: string): Limit {
  const trimmed = text.trim();
  const size = SIZE.exec(trimmed);
  if (size) return { kind: 'size', bytes: Number(size[1]) * SIZE_UNITS[size[2]!.toLowerCase()]!, text: trimmed };
  const percent = PERCENT.exec(trimmed);
  if (percent) return { kind: 'percent', value: Number(percent[1]), text: trimmed };
  return { kind: 'duration', ms: parseDuration(trimmed, 'budget limit'), text: trimmed };
}

const limitSchema = z.union([
  z.number().finite().transform((value): Limit => ({ kind: 'number', value, text: String(value) })),
  z.string().transform((text, ctx): Limit => {
    try {
      return parseLimitText(text);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not a limit: write a number, a duration ("30s"), a size ("540MB") or a percentage ("99%")` });
      return z.NEVER;
    }
  }),
  z.object({ claim: z.number().positive() }).strict().transform(({ claim }): Limit => ({ kind: 'claim', factor: claim, text: `${claim} x claim` })),
]);

const fractionSchema = z.string().regex(PERCENT, 'write a percentage such as "25%"').transform((text) => Number(PERCENT.exec(text)![1]) / 100);

// ---------------------------------------------------------------- the file

const STATS = ['value', 'p50', 'p90', 'p95', 'p99', 'min', 'max', 'mean'] as const;
export type BudgetStat = (typeof STATS)[number];

const budgetSchema = z
  .object({
    description: z.string().optional(),
    /** Glob over measurement ids: `*` within one segment, `**` across segments. */
    measurement: z.string().min(1),
    except: z.array(z.string().min(1)).optional(),
    /** Only runs of these distributions. */
    distros: z.array(z.string().min(1)).optional(),
    stat: z.enum(STATS).default('value'),
    max: limitSchema.optional(),
    min: limitSchema.optional(),
    /** `timeout`: the limit is multiplied by the run's timeout scale (emulation is slower). */
    scale: z.enum(['none', 'timeout']).default('none'),
    off: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.off || b.max !== undefined || b.min !== undefined, { message: 'needs a max or a min (or off: true)' });

const regressionSchema = z
  .object({
    tolerance: fractionSchema.optional(),
    /** Per-metric tolerance by glob, e.g. 'BM-MEM-1/*': '10%'. */
    metrics: z.record(fractionSchema).optional(),
    /** Metrics where a higher value is better (availability, throughput). */
    higherIsBetter: z.array(z.string()).optional(),
    /** Metrics no diff judges (the harness's own overhead, calibration). */
    ignore: z.array(z.string()).optional(),
  })
  .strict();

export const budgetsFileSchema = z
  .object({
    schemaVersion: z.literal(1),
    budgets: z.record(budgetSchema).optional(),
    regression: regressionSchema.optional(),
  })
  .strict();

export interface BudgetRule {
  name: string;
  description?: string;
  measurement: string;
  except: string[];
  distros?: string[];
  stat: BudgetStat;
  max?: Limit;
  min?: Limit;
  scale: 'none' | 'timeout';
  /** file:line of the entry, cited in evidence. */
  source: string;
}

export interface RegressionSettings {
  tolerance: number;
  metrics: [pattern: string, tolerance: number][];
  higherIsBetter: string[];
  ignore: string[];
}

export interface Budgets {
  rules: BudgetRule[];
  regression: RegressionSettings;
  /** The files read, defaults first. */
  files: string[];
}

const HINT = 'see fixtures/budgets.yaml for the format';

export function parseBudgets(source: YamlSource): Budgets {
  return overlay(emptyBudgets(), parsed(source.file, parseYamlConfig(source, budgetsFileSchema, HINT)));
}

/** The shipped defaults, overridden entry by entry by `userFile` when given. */
export async function loadBudgets(userFile?: string, defaultsFile = DEFAULT_BUDGETS_FILE): Promise<Budgets> {
  const files = [defaultsFile, ...(userFile ? [userFile] : [])];
  let budgets = emptyBudgets();
  for (const file of files) budgets = overlay(budgets, parsed(file, await readYamlConfig(file, budgetsFileSchema, HINT)));
  return budgets;
}

type BudgetsFile = z.infer<typeof budgetsFileSchema>;

interface ParsedBudgets {
  file: string;
  config: ParsedConfig<BudgetsFile>;
}

const parsed = (file: string, config: ParsedConfig<BudgetsFile>): ParsedBudgets => ({ file, config });

function emptyBudgets(): Budgets {
  return { rules: [], regression: { tolerance: 0.25, metrics: [], higherIsBetter: [], ignore: [] }, files: [] };
}

/** Later files win: a budget of the same name replaces the earlier one; `off: true` removes it. */
function overlay(base: Budgets, { file, config }: ParsedBudgets): Budgets {
  const { budgets = {}, regression } = config.value;
  const rules = base.rules.filter((rule) => !(rule.name in budgets));
  for (const [name, entry] of Object.entries(budgets)) {
    if (entry.off) continue;
    const line = config.lineOf(['budgets', name]);
    rules.push(withoutUndefinedRule({
      name,
      description: entry.description,
      measurement: entry.measurement,
      except: entry.except ?? [],
      distros: entry.distros,
      stat: entry.stat,
      max: entry.max,
      min: entry.min,
      scale: entry.scale,
      source: `${file}:${line ?? 1}`,
    }));
  }
  return {
    rules,
    files: [...base.files, file],
    regression: {
      tolerance: regression?.tolerance ?? base.regression.tolerance,
      metrics: [...Object.entries(regression?.metrics ?? {}), ...base.regression.metrics],
      higherIsBetter: [...base.regression.higherIsBetter, ...(regression?.higherIsBetter ?? [])],
      ignore: [...base.regression.ignore, ...(regression?.ignore ?? [])],
    },
  };
}

function withoutUndefinedRule(rule: BudgetRule): BudgetRule {
  return Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as unknown as BudgetRule;
}

// ---------------------------------------------------------------- matching

/** `*` matches within one `/`-separated segment, `**` across segments; everything else literally. */
export function globToRegExp(glob: string): RegExp {
  const source = glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

export function matchesGlob(id: string, glob: string): boolean {
  return globToRegExp(glob).test(id);
}

export function rulesFor(budgets: Budgets, measurementId: string, distro?: string): BudgetRule[] {
  return budgets.rules.filter(
    (rule) =>
      matchesGlob(measurementId, rule.measurement) &&
      !rule.except.some((glob) => matchesGlob(measurementId, glob)) &&
      (!rule.distros || (distro !== undefined && rule.distros.includes(distro.toLowerCase()))),
  );
}

// ---------------------------------------------------------------- judging

export interface JudgeContext {
  /** The run's timeout scale; limits with `scale: timeout` are multiplied by it. */
  timeoutScale?: number;
  distro?: string;
  /** Vendor memory claims, MB by distribution. */
  claimsMB?: Record<string, number>;
}

export interface BudgetVerdict {
  verdict: Verdict;
  reason?: string;
  evidence: Evidence;
}

/** The measured figure in the limit's terms, or why it cannot be compared. */
interface Comparable {
  measured: number;
  limit: number;
  unit: string;
}

/**
 * Judges one figure against every budget that matches its id. The HA suite
 * (or any scenario) can call this with a figure it has just measured, in the
 * unit it measured it in. Returns [] when no budget applies.
 */
export function judge(budgets: Budgets, measurementId: string, value: number, unit: string, ctx: JudgeContext = {}): (BudgetVerdict & { rule: string })[] {
  return rulesFor(budgets, measurementId, ctx.distro).map((rule) => ({ rule: rule.name, ...judgeValue(rule, measurementId, value, unit, ctx) }));
}

/** One rule against one figure. */
export function judgeValue(rule: BudgetRule, measurementId: string, value: number, unit: string, ctx: JudgeContext): BudgetVerdict {
  const scale = rule.scale === 'timeout' ? (ctx.timeoutScale ?? 1) : 1;
  const base = { budget: rule.name, source: rule.source, measurement: measurementId, stat: rule.stat, measured: value, unit, scale };
  const bounds = [
    ...(rule.max ? [{ side: 'max' as const, limit: rule.max }] : []),
    ...(rule.min ? [{ side: 'min' as const, limit: rule.min }] : []),
  ];
  const judged: Evidence[] = [];
  for (const { side, limit } of bounds) {
    const comparable = toComparable(limit, value, unit, scale, ctx);
    if (typeof comparable === 'string') {
      const verdict: Verdict = limit.kind === 'claim' ? 'not-applicable' : 'fail';
      return { verdict, reason: `budget ${rule.name} (${rule.source}): ${comparable}`, evidence: { ...base, limitText: limit.text } };
    }
    const within = side === 'max' ? comparable.measured <= comparable.limit : comparable.measured >= comparable.limit;
    const evidence = { ...base, bound: side, limit: comparable.limit, limitUnit: comparable.unit, limitText: describeLimit(limit, scale), ...claimEvidence(limit, ctx) };
    if (!within) {
      const op = side === 'max' ? '>' : '<';
      return { verdict: 'fail', reason: `${measurementId} ${rule.stat} ${formatNumber(comparable.measured)} ${comparable.unit} ${op} ${describeLimit(limit, scale)} (budget ${rule.name})`, evidence: { ...evidence, measuredInLimitUnit: comparable.measured } };
    }
    judged.push(evidence);
  }
  return { verdict: 'pass', evidence: { ...base, bounds: judged } };
}

function claimEvidence(limit: Limit, ctx: JudgeContext): Evidence {
  if (limit.kind !== 'claim') return {};
  return { claimMB: claimOf(ctx), claimFactor: limit.factor, distro: ctx.distro };
}

function claimOf(ctx: JudgeContext): number | undefined {
  const distro = ctx.distro?.toLowerCase();
  const entry = Object.entries(ctx.claimsMB ?? {}).find(([name]) => name.toLowerCase() === distro);
  return entry?.[1];
}

function describeLimit(limit: Limit, scale: number): string {
  return scale === 1 ? limit.text : `${limit.text} x ${scale} (timeout scale)`;
}

/** Brings the measured value and the (scaled) limit to one unit; a string says why they cannot be compared. */
function toComparable(limit: Limit, value: number, unit: string, scale: number, ctx: JudgeContext): Comparable | string {
  switch (limit.kind) {
    case 'number':
      return { measured: value, limit: limit.value * scale, unit };
    case 'percent':
      return unit === '%' ? { measured: value, limit: limit.value * scale, unit: '%' } : `limit ${limit.text} is a percentage but the measurement is in ${unit}`;
    case 'duration': {
      const ms = toMilliseconds(value, unit);
      return ms === undefined ? `limit ${limit.text} is a duration but the measurement is in ${unit}` : { measured: ms, limit: limit.ms * scale, unit: 'ms' };
    }
    case 'size': {
      const mb = toMegabytes(value, unit);
      return mb === undefined ? `limit ${limit.text} is a size but the measurement is in ${unit}` : { measured: mb, limit: (limit.bytes / 2 ** 20) * scale, unit: 'MB' };
    }
    case 'claim': {
      const claim = claimOf(ctx);
      if (claim === undefined) return `${ctx.distro ?? 'this distribution'} publishes no memory claim to judge against`;
      const mb = toMegabytes(value, unit);
      return mb === undefined ? `a claim is in MB but the measurement is in ${unit}` : { measured: mb, limit: claim * limit.factor * scale, unit: 'MB' };
    }
  }
}

/** The statistic a rule judges; undefined when the measurement does not carry it. */
export function statOf(measurement: MeasurementResult, stat: BudgetStat): number | undefined {
  if (stat === 'value') return measurement.value;
  return measurement.stats?.[stat];
}

// ---------------------------------------------------------------- over a whole result

/**
 * Every budget verdict for a run's measurements, as checks (suite "budgets",
 * id `BUDGET/<budget>/<measurement>`). Emitted as check events before run-end,
 * they fail the run like any other check.
 */
export function budgetChecks(result: Pick<RunResult, 'measurements' | 'environment'>, budgets: Budgets, claimsMB?: Record<string, number>): CheckResult[] {
  const ctx: JudgeContext = {
    ...(result.environment.timeoutScale !== undefined ? { timeoutScale: result.environment.timeoutScale } : {}),
    ...(result.environment.distro !== undefined ? { distro: result.environment.distro } : {}),
    ...(claimsMB ? { claimsMB } : {}),
  };
  return result.measurements.flatMap((m) => rulesFor(budgets, m.id, ctx.distro).map((rule) => budgetCheck(rule, m, ctx)));
}

function budgetCheck(rule: BudgetRule, m: MeasurementResult, ctx: JudgeContext): CheckResult {
  const value = statOf(m, rule.stat);
  const outcome: BudgetVerdict =
    value === undefined
      ? { verdict: 'skipped', reason: `${m.id} has no ${rule.stat} to judge (budget ${rule.name})`, evidence: { budget: rule.name, source: rule.source, measurement: m.id, stat: rule.stat } }
      : judgeValue(rule, m.id, value, m.unit, ctx);
  const bound = [rule.max ? `<= ${rule.max.text}` : '', rule.min ? `>= ${rule.min.text}` : ''].filter(Boolean).join(', ');
  const scaled = rule.scale === 'timeout' ? ' x timeout scale' : '';
  return {
    id: `${BUDGET_CHECK_PREFIX}${rule.name}/${m.id}`,
    suite: BUDGET_SUITE,
    name: `${m.name}${m.node ? ` on ${m.node}` : ''}: ${rule.stat} ${bound}${scaled}`,
    verdict: outcome.verdict,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    durationMs: 0,
    evidence: { ...outcome.evidence, ...(m.node ? { node: m.node } : {}) },
  };
}
