/**
 * Human summaries of a run: summary.md (GitHub-flavoured Markdown) and the
 * compact plain text `edgeproof run` prints at the end.
 */
import type { CheckResult, PhaseResult, RunResult } from './result-model.js';
import {
  apiLatencyRows,
  distroDisplayName,
  footprintView,
  formatDuration,
  formatNumber,
  headerView,
  oneLine,
  otherMeasurements,
  type ApiLatencyRow,
  type FootprintView,
  type SummaryOptions,
} from './summary-views.js';

export type { SummaryOptions } from './summary-views.js';

// ---------------------------------------------------------------- Markdown

export function renderSummary(result: RunResult, opts: SummaryOptions = {}): string {
  const sections = [
    markdownHeader(result),
    markdownPhases(result),
    markdownChecks(result),
    markdownFailureEvidence(result.checks),
    markdownFootprint(footprintView(result, opts)),
    markdownApiLatency(apiLatencyRows(result)),
    markdownOtherMeasurements(result),
    markdownFaults(result),
    markdownArtifacts(result),
  ];
  return `${sections.filter((s) => s !== '').join('\n\n')}\n`;
}

function markdownHeader(result: RunResult): string {
  const header = headerView(result);
  return [
    `# edgeproof run ${header.runId}: ${header.verdict}`,
    '',
    `**Outcome:** ${mdText(header.outcome)}. **Checks:** ${header.counts}.`,
    '',
    ...header.fields.map(([label, value]) => `- ${label}: ${mdText(value)}`),
  ].join('\n');
}

function markdownPhases(result: RunResult): string {
  const outcome = (p: PhaseResult) => (p.error ? `${p.outcome}: ${p.error}` : p.outcome);
  const rows = result.phases.map((p) => [p.name, p.node ?? '-', formatDuration(p.durationMs), outcome(p)]);
  return section('Phases', rows.length ? mdTable(['Phase', 'Node', 'Duration', 'Outcome'], rows, 'llrl') : '_No phases recorded._');
}

function markdownChecks(result: RunResult): string {
  const rows = result.checks.map((c) => [c.id, c.name, c.verdict === 'fail' ? '**fail**' : c.verdict, c.reason ?? '']);
  return section('Checks', rows.length ? mdTable(['ID', 'Name', 'Verdict', 'Reason'], rows, 'llll', [2]) : '_No checks recorded._');
}

/** The evidence of each failed check, so the summary alone says why. */
function markdownFailureEvidence(checks: CheckResult[]): string {
  const failed = checks.filter((c) => c.verdict === 'fail');
  if (!failed.length) return '';
  const blocks = failed.map((c) => `### ${mdText(`${c.id} ${c.name}`)}\n\n${fenced(JSON.stringify(c.evidence, null, 2), 'json')}`);
  return section('Evidence of failed checks', blocks.join('\n\n'));
}

function markdownFootprint(view: FootprintView): string {
  if (!view.rows.length) return '';
  const claimHeader = view.claim ? [`% of ${distroDisplayName(view.claim.distro)} claim (p95)`] : [];
  const rows = view.rows.map((r) => [
    r.name,
    r.node,
    formatNumber(r.p50),
    formatNumber(r.p95),
    formatNumber(r.min),
    formatNumber(r.max),
    formatNumber(r.samples),
    ...(view.claim ? [percentOf(r.p95 ?? r.p50, view.claim.mb)] : []),
  ]);
  const table = mdTable(['Measurement', 'Node', 'p50 MB', 'p95 MB', 'min MB', 'max MB', 'samples', ...claimHeader], rows, 'llrrrrrr');
  return section('Footprint', [table, '', `${claimsLine(view)} MB here is 2^20 bytes.`].join('\n'));
}

function markdownApiLatency(rows: ApiLatencyRow[]): string {
  if (!rows.length) return '';
  const cells = rows.map((r) => [
    r.operation,
    r.node,
    formatNumber(r.p50),
    formatNumber(r.p90),
    formatNumber(r.p99),
    formatNumber(r.max),
    formatNumber(r.samples),
    r.sloMs === undefined ? '-' : `p99 ≤ ${formatNumber(r.sloMs)} ms`,
    r.sloVerdict ?? '-',
  ]);
  const headers = ['Operation', 'Node', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'samples', 'SLO', 'Verdict'];
  return section('API latency', mdTable(headers, cells, 'llrrrrrll'));
}

function markdownOtherMeasurements(result: RunResult): string {
  const rows = otherMeasurements(result).map((m) => [m.id, m.name, m.node ?? '-', `${formatNumber(m.value)} ${m.unit}`]);
  return rows.length ? section('Other measurements', mdTable(['ID', 'Name', 'Node', 'Value'], rows, 'lllr')) : '';
}

function markdownFaults(result: RunResult): string {
  const rows = result.faults.map((f) => [formatDuration(f.t), f.node, f.fault, f.detail ?? '']);
  return rows.length ? section('Injected faults', mdTable(['At', 'Node', 'Fault', 'Detail'], rows, 'rlll')) : '';
}

function markdownArtifacts(result: RunResult): string {
  const items = result.artifacts.map((a) => `- ${mdText(a.name)}: \`${a.path.replace(/`/g, "'")}\``);
  return items.length ? section('Artifacts', items.join('\n')) : '';
}

function section(title: string, body: string): string {
  return `## ${title}\n\n${body}`;
}

/** alignments: one letter per column, l or r. Columns listed in `raw` already hold Markdown. */
function mdTable(headers: string[], rows: string[][], alignments: string, raw: number[] = []): string {
  const rule = headers.map((_, i) => (alignments[i] === 'r' ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const body = rows.map((row) => line(row.map((cell, i) => (raw.includes(i) ? cell : mdCell(cell)))));
  return [line(headers), line(rule), ...body].join('\n');
}

function mdCell(text: string): string {
  return mdText(text).replace(/\|/g, '\\|');
}

/** Reasons come from the outside world (command output, API messages): never let them become HTML. */
function mdText(text: string): string {
  return oneLine(text, 300).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fenced(text: string, lang: string): string {
  const longestRun = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

// ---------------------------------------------------------------- console

export function renderConsoleSummary(result: RunResult, opts: SummaryOptions = {}): string {
  const header = headerView(result);
  const fields = header.fields.filter(([label]) => label !== 'started');
  const blocks = [
    [
      `edgeproof run ${header.runId}: ${header.verdict}, ${oneLine(header.outcome, 200)}`,
      fields.map(([label, value]) => `${label} ${value}`).join('  '),
    ],
    consolePhases(result),
    consoleChecks(result),
    consoleFootprint(footprintView(result, opts)),
    consoleApiLatency(apiLatencyRows(result)),
  ];
  return `${blocks.filter((b) => b.length).map((b) => b.join('\n')).join('\n\n')}\n`;
}

function consolePhases(result: RunResult): string[] {
  if (!result.phases.length) return [];
  const rows = result.phases.map((p) => [p.name, p.node ?? '-', formatDuration(p.durationMs), p.outcome, oneLine(p.error, 100)]);
  return ['Phases', ...alignColumns(rows, 'llrll')];
}

function consoleChecks(result: RunResult): string[] {
  const header = `Checks: ${headerView(result).counts}`;
  const rows = result.checks.map((c) => [c.id, oneLine(c.name, 50), c.verdict === 'fail' ? 'FAIL' : c.verdict, oneLine(c.reason, 100)]);
  return [header, ...alignColumns(rows, 'llll')];
}

function consoleFootprint(view: FootprintView): string[] {
  if (!view.rows.length) return [];
  const claimColumn = view.claim ? ['of claim'] : [];
  const rows = view.rows.map((r) => [
    oneLine(r.name, 50),
    r.node,
    formatNumber(r.p50),
    formatNumber(r.p95),
    ...(view.claim ? [percentOf(r.p95 ?? r.p50, view.claim.mb)] : []),
  ]);
  return ['Footprint (MB)', ...alignColumns([['', 'node', 'p50', 'p95', ...claimColumn], ...rows], 'llrrr'), `  ${claimsLine(view)}`];
}

function consoleApiLatency(rows: ApiLatencyRow[]): string[] {
  if (!rows.length) return [];
  const cells = rows.map((r) => [
    r.operation,
    formatNumber(r.p50),
    formatNumber(r.p90),
    formatNumber(r.p99),
    formatNumber(r.max),
    r.sloMs === undefined ? '-' : `<= ${formatNumber(r.sloMs)}`,
    r.sloVerdict ?? '-',
  ]);
  return ['API latency (ms)', ...alignColumns([['', 'p50', 'p90', 'p99', 'max', 'SLO p99', 'verdict'], ...cells], 'lrrrrll')];
}

/** Pads each column to its widest cell; empty trailing cells leave no trailing spaces. */
function alignColumns(rows: string[][], alignments: string, indent = '  '): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) => {
    const cells = row.map((cell, i) => (alignments[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)));
    return `${indent}${cells.join('  ')}`.trimEnd();
  });
}

// ---------------------------------------------------------------- shared

function claimsLine(view: FootprintView): string {
  if (!view.claims.length) return 'No vendor claims given.';
  const claims = view.claims.map(([distro, mb]) => `${distroDisplayName(distro)} ${mb} MB`).join(', ');
  return `Vendor claims: ${claims}.`;
}

function percentOf(mb: number, claimMb: number): string {
  return `${Math.round((mb / claimMb) * 100)}%`;
}
