/**
 * The shell every HTML report shares: one file, styles and scripts inline,
 * Chart.js inlined from node_modules, chart specs as JSON data, no network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrerequisiteMissingError } from '../core/errors.js';
import { contentSecurityPolicy, h, inlineScript, jsonScript, raw, text, type Child, type Html } from './html.js';

/** What every page inlines; read once from disk by loadReportAssets(). */
export interface ReportAssets {
  /** Chart.js UMD build (defines the global `Chart`). */
  chartLibrary: string;
  chartLibraryVersion: string;
}

let cachedAssets: ReportAssets | undefined;

/** Chart.js as installed with the project (node_modules), never fetched. */
export function loadReportAssets(): ReportAssets {
  if (cachedAssets) return cachedAssets;
  const require = createRequire(import.meta.url);
  let chartLibrary: string;
  try {
    // The package exports no ./package.json nor ./dist/*: resolve its CommonJS entry and take its sibling UMD build.
    chartLibrary = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  } catch (error) {
    throw new PrerequisiteMissingError('Chart.js (npm package chart.js) for report.html', 'install the npm dependencies: npm ci (node scripts/setup.mjs does it)', { cause: error });
  }
  const version = /Chart\.js v(\d+\.\d+\.\d+)/.exec(chartLibrary)?.[1] ?? 'unknown';
  cachedAssets = { chartLibrary, chartLibraryVersion: version };
  return cachedAssets;
}

/** A Chart.js configuration made only of JSON (no callbacks), so it travels as data. */
export interface ChartSpec {
  type: string;
  data: { labels?: (string | number)[]; datasets: Record<string, unknown>[] };
  options?: Record<string, unknown>;
}

/** Draws every `canvas[data-chart]` from the JSON specs and says how many it drew (the browser test reads it). */
const CLIENT = `(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var drawn = 0;
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    var spec = specs[canvas.getAttribute('data-chart')];
    if (!spec) return;
    try {
      new Chart(canvas, spec);
      drawn += 1;
    } catch (error) {
      var note = document.createElement('p');
      note.className = 'chart-error';
      note.textContent = 'chart not drawn: ' + error.message;
      canvas.parentNode.replaceChild(note, canvas);
    }
  });
  document.documentElement.setAttribute('data-charts-drawn', String(drawn));
})();`;

export class ChartRegistry {
  readonly specs: Record<string, ChartSpec> = {};

  /** A canvas for the chart; `heightPx` because Chart.js fills its container. */
  canvas(key: string, spec: ChartSpec, label: string, heightPx = 260): Html {
    this.specs[key] = spec;
    return h('div', { class: 'chart', style: `height:${Math.round(heightPx)}px` }, h('canvas', { 'data-chart': key, role: 'img', 'aria-label': label }));
  }
}

export function renderPage(opts: { title: string; assets: ReportAssets; charts: ChartRegistry; body: Child[]; generator: string }): string {
  // A page without charts carries no script at all.
  const scripts = Object.keys(opts.charts.specs).length
    ? [inlineScript(opts.assets.chartLibrary, `Chart.js ${opts.assets.chartLibraryVersion}`), inlineScript(CLIENT, 'the chart client')]
    : [];
  const head = [
    raw('<meta charset="utf-8">'),
    h('meta', { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy(scripts.map((s) => s.hash)) }),
    raw('<meta name="viewport" content="width=device-width, initial-scale=1">'),
    h('meta', { name: 'generator', content: `${opts.generator}; charts by Chart.js ${opts.assets.chartLibraryVersion} (MIT), inlined` }),
    h('title', {}, opts.title),
    raw(`<style>${STYLE}</style>`),
  ];
  const body = [...opts.body, scripts.length ? jsonScript('chart-specs', opts.charts.specs) : '', scripts.map((s) => s.html)];
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n${text(head.map((x) => [x, '\n'])).value}</head>\n<body>\n${text(body.map((x) => [x, '\n'])).value}</body>\n</html>\n`;
}

export const VERDICT_COLORS: Record<string, string> = {
  pass: '#1a7f37',
  fail: '#cf222e',
  skipped: '#6e7781',
  'not-applicable': '#8250df',
};

export const OUTCOME_COLORS: Record<string, string> = {
  ok: '#0969da',
  failed: '#cf222e',
  interrupted: '#bc4c00',
  unfinished: '#8c959f',
};

export const SERIES_COLORS = ['#0969da', '#bc4c00', '#1a7f37', '#8250df', '#bf3989', '#0a7b83', '#953800', '#57606a'];

export function verdictBadge(verdict: string): Html {
  return h('span', { class: `badge badge-${verdict}` }, verdict);
}

const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
nav { margin: 8px 0 16px; } nav a { margin-right: 12px; }
a { color: #0969da; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:target { outline: 2px solid #0969da; outline-offset: -2px; background: #ddf4ff; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge-pass { background: #1a7f37; } .badge-fail { background: #cf222e; } .badge-skipped { background: #6e7781; } .badge-not-applicable { background: #8250df; }
.badge-PASS { background: #1a7f37; font-size: 16px; } .badge-FAIL { background: #cf222e; font-size: 16px; }
.badge-missing, .badge-corrupt { background: #cf222e; } .badge-ok { background: #1a7f37; }
.muted { color: var(--muted); }
.reason { white-space: pre-wrap; word-break: break-word; }
details > summary { cursor: pointer; color: var(--muted); }
pre { background: var(--bg-alt); border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 360px; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
.chart { position: relative; width: 100%; margin: 8px 0 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 8px 16px; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; word-break: break-word; }
.gap { border-left: 4px solid #cf222e; background: #ffebe9; padding: 6px 10px; margin: 8px 0; }
.chart-error { color: #cf222e; }
@media print { nav { display: none; } .chart { break-inside: avoid; } }
`;
