/**
 * report.html: one self-contained page per run, rendered from the result
 * model. Phases as a timeline, every check with its verdict, reason and
 * evidence, latency histograms and percentile tables, footprint beside the
 * distribution's claim (and over time when samples were recorded), failover
 * timelines. Anchors (`#check-<id>`, `#measurement-<id>`) let the comparison
 * table link each cell to its evidence.
 */
import type { CheckResult, MeasurementResult, RunResult } from './result-model.js';
import { ChartRegistry, OUTCOME_COLORS, SERIES_COLORS, renderPage, verdictBadge, type ChartSpec, type ReportAssets } from './html-page.js';
import { fragment, h, relativeHref, type Child, type Html } from './html.js';
import {
  anchorIds,
  apiLatencyMeasurements,
  failoverView,
  footprintSeries,
  isTopLevelFootprint,
  latencyHistogram,
  phaseTimeline,
  type FailoverView,
  type FootprintSeries,
  type HistogramView,
} from './report-views.js';
import {
  apiLatencyRows,
  distroDisplayName,
  footprintView,
  formatDuration,
  formatNumber,
  headerView,
  type ApiLatencyRow,
  type FootprintView,
  type SummaryOptions,
} from './summary-views.js';

export interface HtmlReportOptions extends SummaryOptions {
  assets: ReportAssets;
  generator?: string;
}

export function renderHtmlReport(result: RunResult, opts: HtmlReportOptions): string {
  const charts = new ChartRegistry();
  const footprint = footprintView(result, opts);
  const sections: [id: string, title: string, body: Child][] = [
    ['phases', 'Phases', phasesSection(result, charts)],
    ['checks', 'Checks', checksSection(result)],
    ['latency', 'API latency', latencySection(result, charts)],
    ['footprint', 'Footprint', footprintSection(result, footprint, charts)],
    ['failover', 'Failover', failoverSection(failoverView(result), charts)],
    ['measurements', 'All measurements', measurementsSection(result)],
    ['environment', 'Environment', environmentSection(result)],
    ['artifacts', 'Artifacts', artifactsSection(result)],
  ];
  const present = sections.filter(([, , body]) => body);
  const body = [
    headerSection(result),
    h('nav', {}, present.map(([id, title]) => h('a', { href: `#${id}` }, title))),
    present.map(([id, title, content]) => h('section', { id }, h('h2', {}, title), content)),
  ];
  const header = headerView(result);
  return renderPage({ title: `edgeproof ${header.runId}: ${header.verdict}`, assets: opts.assets, charts, body, generator: opts.generator ?? 'edgeproof' });
}

// ---------------------------------------------------------------- header

function headerSection(result: RunResult): Html {
  const header = headerView(result);
  return h(
    'header',
    {},
    h('h1', {}, `edgeproof run ${header.runId} `, h('span', { class: `badge badge-${header.verdict}` }, header.verdict)),
    h('p', {}, h('strong', {}, 'Outcome: '), header.outcome, '. ', h('strong', {}, 'Checks: '), header.counts, '.'),
    h('dl', { class: 'kv' }, header.fields.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)])),
  );
}

// ---------------------------------------------------------------- phases

function phasesSection(result: RunResult, charts: ChartRegistry): Child {
  if (!result.phases.length) return h('p', { class: 'muted' }, 'No phases recorded.');
  const bars = phaseTimeline(result);
  const spec: ChartSpec = {
    type: 'bar',
    data: {
      labels: bars.map((b) => b.label),
      datasets: [
        {
          label: 'phase (s since run start)',
          data: bars.map((b) => [round(b.startS), round(Math.max(b.endS, b.startS + 0.05))]),
          backgroundColor: bars.map((b) => OUTCOME_COLORS[b.outcome]),
          borderSkipped: false,
          barPercentage: 0.8,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, title: { display: true, text: 'Phases (blue ok, red failed, orange interrupted, grey unfinished)' } },
      scales: { x: { type: 'linear', min: 0, title: { display: true, text: 'seconds since the run started' } }, y: { ticks: { autoSkip: false } } },
    },
  };
  const rows = result.phases.map((p) =>
    h('tr', {}, h('td', {}, p.name), h('td', {}, p.node ?? '-'), h('td', { class: 'num' }, formatDuration(p.t)), h('td', { class: 'num' }, formatDuration(p.durationMs)), h('td', { class: 'num' }, formatDuration(p.budgetMs)), h('td', {}, p.outcome), h('td', { class: 'reason' }, p.error ?? '')),
  );
  return [
    charts.canvas('phases', spec, 'timeline of the run phases', 70 + 22 * bars.length),
    table(['Phase', 'Node', 'Started at', 'Duration', 'Budget', 'Outcome', 'Error'], rows, [2, 3, 4]),
  ];
}

// ---------------------------------------------------------------- checks

function checksSection(result: RunResult): Child {
  if (!result.checks.length) return h('p', { class: 'muted' }, 'No checks recorded.');
  const anchors = anchorIds(result.checks, 'check');
  const rows = result.checks.map((check, i) => checkRow(check, anchors[i]!));
  return table(['ID', 'Suite', 'Name', 'Verdict', 'Reason and evidence', 'Duration'], rows, [5]);
}

function checkRow(check: CheckResult, anchor: string): Html {
  const evidence = JSON.stringify(check.evidence, null, 2);
  const details = h('details', { open: check.verdict === 'fail' }, h('summary', {}, 'evidence'), h('pre', {}, evidence));
  return h(
    'tr',
    { id: anchor, class: `check verdict-${check.verdict}`, 'data-verdict': check.verdict },
    h('td', {}, h('a', { href: fragment(anchor) }, check.id)),
    h('td', {}, check.suite),
    h('td', {}, check.name),
    h('td', {}, verdictBadge(check.verdict)),
    h('td', {}, check.reason ? h('div', { class: 'reason' }, check.reason) : '', details),
    h('td', { class: 'num' }, formatDuration(check.durationMs)),
  );
}

// ---------------------------------------------------------------- latency

function latencySection(result: RunResult, charts: ChartRegistry): Child {
  const rows = apiLatencyRows(result);
  if (!rows.length) return undefined;
  const histograms = apiLatencyMeasurements(result).map(latencyHistogram).filter((x): x is HistogramView => x !== undefined);
  return [
    charts.canvas('latency-percentiles', percentileChart(rows), 'API latency percentiles per operation', 300),
    latencyTable(rows),
    histograms.length
      ? [h('h3', {}, 'Latency histograms (from the HDR histograms recorded by the loader)'), h('div', { class: 'charts' }, histograms.map((hist, i) => charts.canvas(`latency-histogram-${i}`, histogramChart(hist), `latency histogram of ${hist.operation}`, 220)))]
      : h('p', { class: 'muted' }, 'No latency histograms were recorded with these measurements: percentiles only.'),
  ];
}

function percentileChart(rows: ApiLatencyRow[]): ChartSpec {
  const stat = (key: 'p50' | 'p90' | 'p99') => rows.map((r) => (r[key] === undefined ? null : round(r[key]!)));
  const datasets = (['p50', 'p90', 'p99'] as const).map((key, i) => ({ label: `${key} ms`, data: stat(key), backgroundColor: SERIES_COLORS[i] }));
  const slo = rows.map((r) => r.sloMs ?? null);
  if (slo.some((v) => v !== null)) datasets.push({ type: 'line', label: 'SLO judged (p99, ms)', data: slo, borderColor: '#cf222e', backgroundColor: '#cf222e', borderDash: [6, 4], pointRadius: 3, showLine: false } as never);
  return {
    type: 'bar',
    data: { labels: rows.map((r) => (r.node === '-' ? r.operation : `${r.operation}`)), datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'API call latency percentiles (log scale)' } },
      scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms' } } },
    },
  };
}

function latencyTable(rows: ApiLatencyRow[]): Html {
  const cells = rows.map((r) =>
    h(
      'tr',
      {},
      h('td', {}, r.operation),
      h('td', {}, r.node),
      ...[r.p50, r.p90, r.p99, r.max, r.samples].map((v) => h('td', { class: 'num' }, formatNumber(v))),
      h('td', {}, r.sloMs === undefined ? '-' : `p99 ≤ ${formatNumber(r.sloMs)} ms`),
      h('td', {}, r.sloVerdict ? verdictBadge(r.sloVerdict) : '-'),
    ),
  );
  return table(['Operation', 'Node', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'samples', 'SLO', 'Verdict'], cells, [2, 3, 4, 5, 6]);
}

function histogramChart(hist: HistogramView): ChartSpec {
  return {
    type: 'bar',
    data: {
      labels: hist.upperMs.map((ms) => `≤${formatNumber(ms)}`),
      datasets: [{ label: 'calls', data: hist.counts, backgroundColor: SERIES_COLORS[0], barPercentage: 1, categoryPercentage: 1 }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, title: { display: true, text: `${hist.operation}: ${hist.total} calls` } },
      scales: { x: { title: { display: true, text: 'latency bucket, ms (log-spaced)' } }, y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'calls' } } },
    },
  };
}

// ---------------------------------------------------------------- footprint

function footprintSection(result: RunResult, view: FootprintView, charts: ChartRegistry): Child {
  if (!view.rows.length) return undefined;
  const nodes = [...new Set(view.rows.map((r) => r.node))];
  const series = footprintSeries(result);
  return [
    h('p', {}, claimSentence(view), ' MB here is 2', h('sup', {}, '20'), ' bytes.'),
    nodes.map((node, i) => {
      const rows = view.rows.filter((r) => r.node === node);
      const processes = rows.filter((r) => r.id.includes('/process/') && r.id.endsWith('/pss'));
      return [
        charts.canvas(`footprint-${i}`, footprintChart(rows.filter((r) => isTopLevelFootprint(r.id)), view, node), `memory footprint of ${node} beside the claims`, 320),
        processes.length ? charts.canvas(`footprint-processes-${i}`, processChart(processes, node), `PSS per process on ${node}`, 60 + 24 * processes.length) : '',
      ];
    }),
    series.length ? [h('h3', {}, 'Footprint over time'), nodes.map((node, i) => seriesCanvas(series.filter((s) => s.node === node), view, node, i, charts))] : h('p', { class: 'muted' }, 'No per-sample series were recorded with these measurements: the table gives their percentiles over the window.'),
    footprintTable(view),
  ];
}

function claimSentence(view: FootprintView): string {
  const others = view.claims.map(([distro, mb]) => `${distroDisplayName(distro)} ${mb} MB`).join(', ');
  const own = view.claim ? `This distribution (${distroDisplayName(view.claim.distro)}) claims ${view.claim.mb} MB. ` : 'This distribution publishes no memory claim. ';
  return others ? `${own}Vendor claims, for comparison: ${others}.` : own;
}

function claimDatasets(view: FootprintView, labels: number): Record<string, unknown>[] {
  return view.claims.map(([distro, mb], i) => ({
    type: 'line',
    label: `${distroDisplayName(distro)} claim ${mb} MB`,
    data: new Array(labels).fill(mb),
    borderColor: SERIES_COLORS[(i + 3) % SERIES_COLORS.length],
    borderDash: [6, 4],
    borderWidth: view.claim?.distro === distro ? 3 : 1,
    pointRadius: 0,
    fill: false,
    order: 0,
  }));
}

function footprintChart(rows: FootprintView['rows'], view: FootprintView, node: string): ChartSpec {
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => r.id.split('/').at(-1)!),
      datasets: [
        { label: 'p50 MB', data: rows.map((r) => round(r.p50)), backgroundColor: SERIES_COLORS[0], order: 1 },
        { label: 'p95 MB', data: rows.map((r) => (r.p95 === undefined ? null : round(r.p95))), backgroundColor: SERIES_COLORS[1], order: 1 },
        ...claimDatasets(view, rows.length),
      ],
    },
    options: { responsive: true, maintainAspectRatio: false, plugins: { title: { display: true, text: `Footprint on ${node}` } }, scales: { y: { beginAtZero: true, title: { display: true, text: 'MB' } } } },
  };
}

function processChart(rows: FootprintView['rows'], node: string): ChartSpec {
  return {
    type: 'bar',
    data: { labels: rows.map((r) => r.name.replace(/ PSS$/, '')), datasets: [{ label: 'PSS p50 MB', data: rows.map((r) => round(r.p50)), backgroundColor: SERIES_COLORS[2] }] },
    options: { indexAxis: 'y', responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false }, title: { display: true, text: `PSS per process on ${node} (p50, MB)` } }, scales: { x: { beginAtZero: true } } },
  };
}

function seriesCanvas(series: FootprintSeries[], view: FootprintView, node: string, index: number, charts: ChartRegistry): Child {
  if (!series.length) return '';
  const ts = series.flatMap((s) => s.points.map((p) => p.tS));
  const [t0, t1] = [Math.min(...ts), Math.max(...ts)];
  const datasets = [
    ...series.map((s, i) => ({ label: s.name, data: s.points.map((p) => ({ x: round(p.tS), y: round(p.mb) })), borderColor: SERIES_COLORS[i % SERIES_COLORS.length], pointRadius: 0, borderWidth: 2 })),
    ...view.claims.map(([distro, mb], i) => ({ label: `${distroDisplayName(distro)} claim ${mb} MB`, data: [{ x: t0, y: mb }, { x: t1, y: mb }], borderColor: SERIES_COLORS[(i + 3) % SERIES_COLORS.length], borderDash: [6, 4], pointRadius: 0, borderWidth: view.claim?.distro === distro ? 3 : 1 })),
  ];
  const spec: ChartSpec = {
    type: 'line',
    data: { datasets },
    options: { responsive: true, maintainAspectRatio: false, plugins: { title: { display: true, text: `Footprint over the sampling window on ${node}` } }, scales: { x: { type: 'linear', title: { display: true, text: 's' } }, y: { title: { display: true, text: 'MB' } } } },
  };
  return charts.canvas(`footprint-series-${index}`, spec, `footprint over time on ${node}`, 300);
}

function footprintTable(view: FootprintView): Html {
  const claim = view.claim;
  const rows = view.rows.map((r) =>
    h(
      'tr',
      {},
      h('td', {}, r.name),
      h('td', {}, r.node),
      ...[r.p50, r.p95, r.min, r.max, r.samples].map((v) => h('td', { class: 'num' }, formatNumber(v))),
      claim ? h('td', { class: 'num' }, `${Math.round(((r.p95 ?? r.p50) / claim.mb) * 100)}%`) : '',
    ),
  );
  const claimHeader = claim ? [`% of ${distroDisplayName(claim.distro)} claim (p95)`] : [];
  return table(['Measurement', 'Node', 'p50 MB', 'p95 MB', 'min MB', 'max MB', 'samples', ...claimHeader], rows, [2, 3, 4, 5, 6, 7]);
}

// ---------------------------------------------------------------- failover

function failoverSection(view: FailoverView | undefined, charts: ChartRegistry): Child {
  if (!view) return undefined;
  const targets = [...new Set(view.outages.map((o) => o.target))];
  const labels = ['faults', ...targets];
  const spec: ChartSpec = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'fault injected', data: view.faults.map((f) => ({ y: 'faults', x: [round(f.tS), round(f.tS + 0.5)] })), backgroundColor: '#cf222e', borderSkipped: false },
        { label: 'outage seen by the probes', data: view.outages.map((o) => ({ y: o.target, x: [round(o.startS), round(Math.max(o.endS, o.startS + 0.2))] })), backgroundColor: '#bc4c00', borderSkipped: false },
      ],
    },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'Faults and outages (s since the run started)' } },
      scales: { x: { type: 'linear', title: { display: true, text: 's' } }, y: { ticks: { autoSkip: false } } },
    },
  };
  const faultRows = view.faults.map((f) => h('tr', {}, h('td', { class: 'num' }, formatNumber(f.tS)), h('td', {}, f.node), h('td', {}, f.fault), h('td', { class: 'reason' }, f.detail ?? '')));
  const outageRows = view.outages.map((o) => h('tr', {}, h('td', {}, o.target), h('td', { class: 'num' }, formatNumber(o.startS)), h('td', { class: 'num' }, formatNumber(o.endS)), h('td', { class: 'num' }, formatNumber(o.endS - o.startS)), h('td', {}, o.measurement)));
  return [
    charts.canvas('failover', spec, 'failover timeline: faults and outages', 90 + 26 * labels.length),
    faultRows.length ? table(['At s', 'Node', 'Fault', 'Detail'], faultRows, [0]) : '',
    outageRows.length ? table(['Target', 'From s', 'To s', 'Outage s', 'Measurement'], outageRows, [1, 2, 3]) : h('p', { class: 'muted' }, 'No probe outages were recorded with these measurements.'),
  ];
}

// ---------------------------------------------------------------- the rest

function measurementsSection(result: RunResult): Child {
  if (!result.measurements.length) return undefined;
  const anchors = anchorIds(result.measurements, 'measurement');
  const rows = result.measurements.map((m, i) => measurementRow(m, anchors[i]!));
  return table(['ID', 'Suite', 'Name', 'Node', 'Value', 'Stats'], rows, [4]);
}

function measurementRow(m: MeasurementResult, anchor: string): Html {
  const stats = Object.entries(m.stats ?? {}).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ');
  const evidence = m.evidence && Object.keys(m.evidence).length ? h('details', {}, h('summary', {}, 'evidence'), h('pre', {}, JSON.stringify(m.evidence, null, 2))) : '';
  return h('tr', { id: anchor }, h('td', {}, m.id), h('td', {}, m.suite), h('td', {}, m.name), h('td', {}, m.node ?? '-'), h('td', { class: 'num' }, `${formatNumber(m.value)} ${m.unit}`), h('td', {}, stats, evidence));
}

function environmentSection(result: RunResult): Child {
  const entries = Object.entries(result.environment).filter(([, v]) => v !== undefined);
  const config = JSON.stringify({ argv: result.argv, config: result.config }, null, 2);
  return [
    h('dl', { class: 'kv' }, entries.map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))])),
    h('details', {}, h('summary', {}, 'command line and configuration'), h('pre', {}, config)),
  ];
}

function artifactsSection(result: RunResult): Child {
  if (!result.artifacts.length) return undefined;
  return h('ul', {}, result.artifacts.map((a) => {
    const href = relativeHref(a.path);
    return h('li', {}, a.name, ': ', href ? h('a', { href }, a.path) : h('code', {}, a.path));
  }));
}

function table(headers: string[], rows: Html[], numeric: number[] = []): Html {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((title, i) => h('th', { class: numeric.includes(i) ? 'num' : undefined }, title)))), h('tbody', {}, rows));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

