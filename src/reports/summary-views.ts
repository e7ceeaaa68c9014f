/**
 * What the human summaries show, as data: the Markdown and the console
 * renderers format the same rows, so they cannot disagree.
 */
import { formatMs } from '../core/errors.js';
import type { Verdict } from '../core/events.js';
import { withoutUndefined } from './objects.js';
import { exitCodeFor, type MeasurementResult, type RunResult } from './result-model.js';

export interface SummaryOptions {
  /** Vendor memory claims in MB by distribution, e.g. { microk8s: 540, k3s: 512, minikube: 644 }. */
  claims?: Record<string, number>;
}

export const FOOTPRINT_SUITE = 'footprint';
export const API_LATENCY_SUITE = 'api-latency';
/** Convention: the SLO check of an API operation is `BM-API-1/<op>`, its evidence carries `sloMs`. */
export const API_SLO_CHECK_PREFIX = 'BM-API-1/';

const DISPLAY_NAMES: Record<string, string> = { microk8s: 'MicroK8s', k3s: 'K3s', minikube: 'minikube', upstream: 'upstream' };

export function distroDisplayName(distro: string): string {
  return DISPLAY_NAMES[distro.toLowerCase()] ?? distro;
}

// ---------------------------------------------------------------- header

export interface HeaderView {
  runId: string;
  verdict: 'PASS' | 'FAIL';
  outcome: string;
  counts: string;
  fields: [label: string, value: string][];
}

const OUTCOME_TEXT: Record<RunResult['outcome'], string> = {
  completed: 'completed',
  failed: 'failed',
  interrupted: 'interrupted',
  incomplete: 'incomplete (no run-end event: the run was killed or crashed)',
};

export function headerView(result: RunResult): HeaderView {
  const env = result.environment;
  const { pass, fail, skipped, notApplicable } = result.summary;
  const outcome = result.error ? `${OUTCOME_TEXT[result.outcome]}: ${result.error}` : OUTCOME_TEXT[result.outcome];
  return {
    runId: result.runId,
    verdict: exitCodeFor(result) === 0 ? 'PASS' : 'FAIL',
    outcome,
    counts: `${pass} pass, ${fail} fail, ${skipped} skipped, ${notApplicable} not-applicable`,
    fields: [
      ['board', env.board ?? '-'],
      ['distro', distroText(env.distro, env.distroVersion ?? env.k8sVersion)],
      ['accel', env.qemuVersion ? `${env.accel ?? '-'} (QEMU ${env.qemuVersion})` : (env.accel ?? '-')],
      ['slowdown factor', env.slowdownFactor === undefined ? '-' : `${env.slowdownFactor}x`],
      ['timeout scale', env.timeoutScale === undefined ? '-' : `${env.timeoutScale}x`],
      ['started', result.startedAt],
      ['duration', result.durationMs === undefined ? '-' : formatMs(result.durationMs)],
    ],
  };
}

function distroText(distro: string | undefined, version: string | undefined): string {
  if (!distro) return '-';
  return version ? `${distroDisplayName(distro)} ${version}` : distroDisplayName(distro);
}

// ---------------------------------------------------------------- footprint

export interface FootprintRow {
  id: string;
  name: string;
  node: string;
  p50: number;
  p95?: number;
  min?: number;
  max?: number;
  samples?: number;
}

export interface FootprintView {
  rows: FootprintRow[];
  /** The claim of this run's distribution, if the vendor published one. */
  claim?: { distro: string; mb: number };
  /** Every claim passed in, for the line "beside" the figures. */
  claims: [distro: string, mb: number][];
}

// MB here is 2^20 bytes, as `free -m` and /proc report; kB as in /proc/meminfo is KiB.
const BYTES_PER_UNIT: Record<string, number> = {
  b: 1, bytes: 1, byte: 1,
  kb: 2 ** 10, kib: 2 ** 10,
  mb: 2 ** 20, mib: 2 ** 20,
  gb: 2 ** 30, gib: 2 ** 30,
};

export function toMegabytes(value: number, unit: string): number | undefined {
  const bytes = BYTES_PER_UNIT[unit.toLowerCase()];
  return bytes === undefined ? undefined : (value * bytes) / 2 ** 20;
}

export function footprintView(result: RunResult, opts: SummaryOptions = {}): FootprintView {
  const rows = result.measurements.filter(isFootprint).map(footprintRow);
  const claims = Object.entries(opts.claims ?? {});
  const distro = result.environment.distro?.toLowerCase();
  const own = claims.find(([name]) => name.toLowerCase() === distro);
  return { rows, claims, ...(own ? { claim: { distro: own[0], mb: own[1] } } : {}) };
}

function isFootprint(m: MeasurementResult): boolean {
  return m.suite === FOOTPRINT_SUITE && toMegabytes(m.value, m.unit) !== undefined;
}

function footprintRow(m: MeasurementResult): FootprintRow {
  const mb = (x: number) => toMegabytes(x, m.unit)!;
  const stat = (key: string) => (m.stats?.[key] === undefined ? undefined : mb(m.stats[key]));
  return withoutUndefined({
    id: m.id,
    name: m.name,
    node: m.node ?? '-',
    p50: stat('p50') ?? mb(m.value),
    p95: stat('p95'),
    min: stat('min'),
    max: stat('max'),
    samples: m.stats?.samples,
  });
}

// ---------------------------------------------------------------- API latency

export interface ApiLatencyRow {
  operation: string;
  node: string;
  p50: number;
  p90?: number;
  p99?: number;
  max?: number;
  samples?: number;
  sloMs?: number;
  sloVerdict?: Verdict;
}

const MS_PER_UNIT: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000 };

export function toMilliseconds(value: number, unit: string): number | undefined {
  const factor = MS_PER_UNIT[unit.toLowerCase()];
  return factor === undefined ? undefined : value * factor;
}

export function apiLatencyRows(result: RunResult): ApiLatencyRow[] {
  return result.measurements.filter(isApiLatency).map((m) => apiLatencyRow(m, result));
}

function isApiLatency(m: MeasurementResult): boolean {
  return m.suite === API_LATENCY_SUITE && toMilliseconds(m.value, m.unit) !== undefined;
}

/** The operation: evidence.operation, else the last segment of the id (`BM-API-1/get-configmap`). */
export function apiOperation(m: MeasurementResult): string {
  const fromEvidence = m.evidence?.operation;
  return typeof fromEvidence === 'string' ? fromEvidence : (m.id.split('/').at(-1) ?? m.id);
}

function apiLatencyRow(m: MeasurementResult, result: RunResult): ApiLatencyRow {
  const ms = (x: number) => toMilliseconds(x, m.unit)!;
  const stat = (key: string) => (m.stats?.[key] === undefined ? undefined : ms(m.stats[key]));
  const operation = apiOperation(m);
  const sloCheck = result.checks.find((c) => c.id === `${API_SLO_CHECK_PREFIX}${operation}`);
  const sloMs = sloCheck?.evidence.sloMs;
  return withoutUndefined({
    operation,
    node: m.node ?? '-',
    p50: stat('p50') ?? ms(m.value),
    p90: stat('p90'),
    p99: stat('p99'),
    max: stat('max'),
    samples: m.stats?.samples,
    sloMs: typeof sloMs === 'number' ? sloMs : undefined,
    sloVerdict: sloCheck?.verdict,
  });
}

// ---------------------------------------------------------------- the rest

/** Measurements neither table above shows, so nothing recorded goes missing from the summary. */
export function otherMeasurements(result: RunResult): MeasurementResult[] {
  return result.measurements.filter((m) => !isFootprint(m) && !isApiLatency(m));
}

// ---------------------------------------------------------------- formatting

/** About 3 significant figures, no trailing zeros: 541, 85.3, 7.25, 9.6. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '-';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

export function formatDuration(ms: number | undefined): string {
  return ms === undefined ? '-' : formatMs(ms);
}

/** First line only, at most `max` characters, control characters made visible: cells stay one line and cannot recolour a terminal. */
export function oneLine(text: string | undefined, max = 160): string {
  if (!text) return '';
  const trimmed = text.trim();
  const line = trimmed.split(/\r?\n/)[0]!.trimEnd().replace(/\t/g, ' ').replace(CONTROL_CHARACTERS, visibleEscape);
  const more = trimmed.includes('\n') || line.length > max;
  return more ? `${line.slice(0, max - 3).trimEnd()}...` : line;
}

const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F]/g;

function visibleEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
