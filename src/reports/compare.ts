/**
 * The comparison table vendors publish (memory, HA, CNIs, addons,
 * conformance), measured: one column per run (a distribution on a board),
 * each row the claim beside the measurement, every measured cell linking to
 * its evidence in that run's report.html.
 */
import { z } from 'zod';
import type { Verdict } from '../core/events.js';
import { ChartRegistry, renderPage, verdictBadge, type ReportAssets } from './html-page.js';
import { fragment, h, type Html } from './html.js';
import { mdInline as md } from './markdown.js';
import { checkAnchor, measurementAnchor } from './report-views.js';
import { exitCodeFor, type CheckResult, type MeasurementResult, type RunResult } from './result-model.js';
import { cellIdOf } from './run-cell.js';
import { distroDisplayName, formatDuration, formatNumber, toMegabytes, toMilliseconds } from './summary-views.js';

export interface CompareInput {
  result: RunResult;
  /** Link to the run's report.html, relative to where the table is written; absent: cells are not linked. */
  reportHref?: string;
}

export type CellVerdict = Verdict | 'none';

export interface CompareCell {
  claimed?: string;
  measured: string;
  href?: string;
  verdict: CellVerdict;
}

export interface CompareColumn {
  label: string;
  detail: string;
  cell: string;
  runId: string;
  href?: string;
}

export interface CompareRow {
  aspect: string;
  cells: CompareCell[];
}

export interface CompareTable {
  columns: CompareColumn[];
  rows: CompareRow[];
}

/** What a distribution advertises, as the run recorded it (environment.claims); memory also from the vendor table. */
const claimsSchema = z
  .object({
    memoryMB: z.number().optional(),
    memorySource: z.string().optional(),
    ha: z.boolean().optional(),
    cnis: z.array(z.string()).optional(),
    addons: z.array(z.string()).optional(),
    conformance: z.union([z.string(), z.boolean()]).optional(),
  })
  .passthrough();

type Claims = z.infer<typeof claimsSchema>;

function claimsOf(result: RunResult, claimsMB: Record<string, number>): Claims {
  const recorded = claimsSchema.safeParse(result.environment.claims);
  const claims: Claims = recorded.success ? recorded.data : {};
  const distro = result.environment.distro?.toLowerCase();
  const vendor = Object.entries(claimsMB).find(([name]) => name.toLowerCase() === distro)?.[1];
  return claims.memoryMB === undefined && vendor !== undefined ? { ...claims, memoryMB: vendor } : claims;
}

const ADDON_PREFIXES = ['LB-', 'ING-', 'STO-', 'MESH-', 'FN-', 'KATA-', 'STRICT-'];
const NOT_RECORDED = 'not recorded';

export function compareRuns(inputs: CompareInput[], opts: { claimsMB?: Record<string, number> } = {}): CompareTable {
  const columns = inputs.map(({ result, reportHref }) => column(result, reportHref));
  const rowOf = (aspect: string, cell: (input: CompareInput, claims: Claims) => CompareCell): CompareRow => ({
    aspect,
    cells: inputs.map((input) => cell(input, claimsOf(input.result, opts.claimsMB ?? {}))),
  });
  return {
    columns,
    rows: [
      rowOf('Verdict', ({ result, reportHref }) => ({
        measured: `${exitCodeFor(result) === 0 ? 'PASS' : 'FAIL'} (${result.summary.pass} pass, ${result.summary.fail} fail, ${result.summary.skipped + result.summary.notApplicable} not run)`,
        verdict: exitCodeFor(result) === 0 ? 'pass' : 'fail',
        ...(reportHref ? { href: `${reportHref}#checks` } : {}),
      })),
      rowOf('Memory: Kubernetes services (PSS, p50)', (input, claims) => memoryCell(input, claims, 'BM-MEM-1/services-pss')),
      rowOf('Memory: guest above pre-install baseline (p50)', (input) => memoryCell(input, {}, 'BM-MEM-1/guest-above-baseline')),
      rowOf('Bring-up: QEMU start to node Ready', (input) => durationCell(input, 'BOOT-0/nodeReady')),
      rowOf('Smoke (BOOT, SMOKE)', (input) => checksCell(input, (c) => /^(BOOT|SMOKE)-/.test(c.id))),
      rowOf('HA failover', (input, claims) => withClaim(checksCell(input, (c) => c.id.startsWith('HA-')), claims.ha === undefined ? undefined : claims.ha ? 'HA supported' : 'no HA')),
      rowOf('CNIs', (input, claims) => withClaim(checksCell(input, (c) => c.id.startsWith('NET-')), claims.cnis?.join(', '))),
      rowOf('Addons', (input, claims) => withClaim(checksCell(input, (c) => ADDON_PREFIXES.some((p) => c.id.startsWith(p))), claims.addons?.join(', '))),
      rowOf('Conformance', (input, claims) => withClaim(checksCell(input, (c) => c.id.startsWith('CONF-')), claims.conformance === undefined ? undefined : String(claims.conformance === true ? 'certified' : claims.conformance))),
      rowOf('API latency: worst p99 (SLO checks)', (input) => latencyCell(input)),
    ],
  };
}

function column(result: RunResult, reportHref: string | undefined): CompareColumn {
  const env = result.environment;
  const distro = env.distro ? `${distroDisplayName(env.distro)} ${env.distroVersion ?? env.k8sVersion ?? ''}`.trim() : 'unknown distribution';
  const details = [env.accel, env.slowdownFactor === undefined ? undefined : `slowdown ${env.slowdownFactor}x`, env.topology ? `topology ${env.topology}` : undefined].filter(Boolean);
  return {
    label: `${distro} on ${env.board ?? 'unknown board'}`,
    detail: `${result.runId}${details.length ? ` (${details.join(', ')})` : ''}`,
    cell: cellIdOf(result),
    runId: result.runId,
    ...(reportHref ? { href: reportHref } : {}),
  };
}

function link(input: CompareInput, anchor: string): { href?: string } {
  return input.reportHref ? { href: `${input.reportHref}${fragment(anchor)}` } : {};
}

function withClaim(cell: CompareCell, claimed: string | undefined): CompareCell {
  return { ...cell, claimed: claimed ?? NOT_RECORDED };
}

function memoryCell(input: CompareInput, claims: Claims, id: string): CompareCell {
  const figures = input.result.measurements.filter((m) => m.id === id && toMegabytes(m.value, m.unit) !== undefined);
  const claimed = 'memoryMB' in claims || id.endsWith('services-pss') ? { claimed: claims.memoryMB === undefined ? 'no published claim' : `${claims.memoryMB} MB` } : {};
  if (!figures.length) return { ...claimed, measured: 'not measured', verdict: 'none' };
  const worst = figures.reduce((a, b) => (mbP50(b) > mbP50(a) ? b : a));
  const mb = mbP50(worst);
  const ofClaim = claims.memoryMB ? ` (${Math.round((mb / claims.memoryMB) * 100)}% of claim)` : '';
  const nodes = figures.length > 1 ? `, largest of ${figures.length} nodes` : '';
  return { ...claimed, measured: `${formatNumber(mb)} MB${ofClaim}${nodes}`, verdict: 'none', ...link(input, measurementAnchor(input.result, worst)) };
}

function mbP50(m: MeasurementResult): number {
  return toMegabytes(m.stats?.p50 ?? m.value, m.unit)!;
}

function durationCell(input: CompareInput, id: string): CompareCell {
  const m = input.result.measurements.find((x) => x.id === id);
  const ms = m ? toMilliseconds(m.value, m.unit) : undefined;
  if (!m || ms === undefined) return { measured: 'not measured', verdict: 'none' };
  return { measured: formatDuration(ms), verdict: 'none', ...link(input, measurementAnchor(input.result, m)) };
}

/** A group of checks as one cell: counts, the first failure (or first check) linked, the reason when none ran. */
function checksCell(input: CompareInput, predicate: (c: CheckResult) => boolean): CompareCell {
  const checks = input.result.checks.filter(predicate);
  if (!checks.length) return { measured: 'not run', verdict: 'none' };
  const count = (v: Verdict) => checks.filter((c) => c.verdict === v).length;
  const failed = checks.find((c) => c.verdict === 'fail');
  const passed = count('pass');
  const target = failed ?? checks.find((c) => c.verdict === 'pass') ?? checks[0]!;
  const verdict: CellVerdict = failed ? 'fail' : passed ? 'pass' : target.verdict;
  const notRun = checks.length - passed - count('fail');
  const text = passed || failed
    ? `${passed}/${checks.length} pass${failed ? `; ${failed.id} failed: ${failed.reason ?? ''}` : ''}${notRun ? `; ${notRun} not run` : ''}`
    : `${target.verdict}: ${target.reason ?? ''}`;
  return { measured: text.trim(), verdict, ...link(input, checkAnchor(input.result, target)) };
}

function latencyCell(input: CompareInput): CompareCell {
  const figures = input.result.measurements.filter((m) => m.id.startsWith('BM-API-1/') && m.suite === 'api-latency' && m.stats?.p99 !== undefined);
  if (!figures.length) return { measured: 'not measured', verdict: 'none' };
  const worst = figures.reduce((a, b) => (b.stats!.p99! > a.stats!.p99! ? b : a));
  const slo = checksCell(input, (c) => c.id.startsWith('BM-API-1/'));
  return { measured: `${formatNumber(worst.stats!.p99)} ${worst.unit} (${worst.id.split('/').at(-1)}); SLO checks ${slo.measured}`, verdict: slo.verdict, ...link(input, measurementAnchor(input.result, worst)) };
}

// ---------------------------------------------------------------- Markdown

export function renderCompareMarkdown(table: CompareTable): string {
  const header = `| | ${table.columns.map((c) => (c.href ? `[${md(c.label)}](${c.href})<br>${md(c.detail)}` : `${md(c.label)}<br>${md(c.detail)}`)).join(' | ')} |`;
  const rule = `|---|${table.columns.map(() => '---').join('|')}|`;
  const rows = table.rows.map((row) => `| ${md(row.aspect)} | ${row.cells.map(mdCell).join(' | ')} |`);
  return [
    '# edgeproof comparison',
    '',
    'Claimed (what the vendor advertises, as the run recorded it) beside measured (linked to the evidence in each run\'s report). MB is 2^20 bytes.',
    '',
    header,
    rule,
    ...rows,
    '',
  ].join('\n');
}

function mdCell(cell: CompareCell): string {
  const measured = cell.href ? `[${md(cell.measured)}](${cell.href})` : md(cell.measured);
  const mark = cell.verdict === 'fail' ? '**fail** ' : '';
  return cell.claimed === undefined ? `${mark}${measured}` : `claimed: ${md(cell.claimed)}<br>measured: ${mark}${measured}`;
}


// ---------------------------------------------------------------- HTML

export function compareTableHtml(table: CompareTable): Html {
  const head = h('tr', {}, h('th', {}, ''), table.columns.map((c) => h('th', {}, c.href ? h('a', { href: c.href }, c.label) : c.label, h('div', { class: 'muted' }, c.detail))));
  const rows = table.rows.map((row) => h('tr', {}, h('th', {}, row.aspect), row.cells.map(htmlCell)));
  return h('table', { class: 'compare' }, h('thead', {}, head), h('tbody', {}, rows));
}

function htmlCell(cell: CompareCell): Html {
  const measured = cell.href ? h('a', { href: cell.href }, cell.measured) : cell.measured;
  return h(
    'td',
    { 'data-verdict': cell.verdict },
    cell.claimed === undefined ? '' : h('div', { class: 'muted' }, 'claimed: ', cell.claimed),
    h('div', {}, cell.verdict === 'none' ? '' : [verdictBadge(cell.verdict), ' '], cell.claimed === undefined ? '' : 'measured: ', measured),
  );
}

export function renderCompareHtml(table: CompareTable, assets: ReportAssets): string {
  return renderPage({
    title: `edgeproof comparison of ${table.columns.length} runs`,
    assets,
    charts: new ChartRegistry(),
    generator: 'edgeproof compare',
    body: [
      h('h1', {}, 'edgeproof comparison'),
      h('p', {}, "Claimed (what the vendor advertises, as the run recorded it) beside measured; every measured cell links to its evidence in that run's report. MB is 2", h('sup', {}, '20'), ' bytes.'),
      compareTableHtml(table),
    ],
  });
}
