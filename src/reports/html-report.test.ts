import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../core/events.js';
import { renderHtmlReport } from './html-report.js';
import { loadReportAssets } from './html-page.js';
import { escapeHtml, relativeHref } from './html.js';
import { anchorIds, latencyHistogram } from './report-views.js';
import { buildResult, validateResult } from './result-model.js';
import { SAMPLE_RUNS, sampleResult } from './sample-runs.js';

const assets = loadReportAssets();
const claims = { microk8s: 540, k3s: 512, minikube: 644 };

/** The page's JSON chart specs, as the browser will read them. */
function chartSpecs(html: string): Record<string, { type: string; data: { labels?: unknown[]; datasets: { data: unknown[] }[] } }> {
  const match = /<script type="application\/json" id="chart-specs">([\s\S]*?)<\/script>/.exec(html);
  return JSON.parse(match![1]!);
}

function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
}

describe('renderHtmlReport on a real run', () => {
  const result = sampleResult(SAMPLE_RUNS.passing);
  const html = renderHtmlReport(result, { assets, claims });

  it('is one file with Chart.js inlined and nothing fetched: no src=, no external href, a CSP with no network', () => {
    expect(assets.chartLibraryVersion).toMatch(/^4\.\d+\.\d+$/);
    expect(html).toContain(`Chart.js v${assets.chartLibraryVersion}`);
    expect(html).not.toMatch(/\ssrc=/i);
    expect([...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]).filter((href) => !href!.startsWith('#'))).toEqual([]);
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!.replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    // Only the scripts the renderer wrote may run: their hashes, nothing else.
    for (const script of inlineScripts(html)) {
      expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    }
    expect(inlineScripts(html)).toHaveLength(2);
  });

  it('has a timeline bar per phase, a row with verdict and evidence per check, histograms from the recorded HDR data', () => {
    const specs = chartSpecs(html);
    expect(specs.phases!.data.labels).toHaveLength(result.phases.length);
    expect(specs.phases!.data.labels).toContain('apiserver ready [ep-24702470-cp-0]');
    const anchors = anchorIds(result.checks, 'check');
    for (const anchor of anchors) expect(html).toContain(`id="${anchor}"`);
    expect(html.match(/<tr id="check-[^"]+" class="check verdict-pass"/g)).toHaveLength(result.checks.length);
    // Ten API operations, each with its HDR histogram of 6 calls.
    const histograms = Object.keys(specs).filter((k) => k.startsWith('latency-histogram-'));
    expect(histograms).toHaveLength(10);
    const counts = specs[histograms[0]!]!.data.datasets[0]!.data as number[];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(specs['latency-percentiles']!.data.labels).toContain('pod-delete');
    expect(html).toContain('MicroK8s claim 540 MB');
    expect(html).toContain('This distribution publishes no memory claim');
  });

  it('decodes the loader\'s histogram to the same call count the measurement states', () => {
    for (const m of result.measurements.filter((x) => x.suite === 'api-latency')) {
      expect(latencyHistogram(m)?.total).toBe(m.stats?.samples);
    }
  });
});

describe('renderHtmlReport escapes everything from outside', () => {
  const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>"\'&\u0007';

  function hostileResult() {
    const log = new EventLog();
    log.emit({ type: 'run-start', runId: 'r-<b>x</b>', argv: [hostile], config: { note: hostile } });
    log.emit({ type: 'environment', environment: { distro: hostile, board: hostile } });
    log.emit({ type: 'phase-start', phase: hostile, node: hostile });
    log.emit({ type: 'phase-end', phase: hostile, node: hostile, durationMs: 5, outcome: 'failed', error: hostile });
    log.emit({ type: 'check', id: `X-1/${hostile}`, suite: hostile, name: hostile, verdict: 'fail', reason: hostile, durationMs: 1, evidence: { [hostile]: hostile } });
    log.emit({ type: 'measurement', id: `BM-API-1/${hostile}`, suite: 'api-latency', name: hostile, unit: 'ms', value: 3, evidence: { operation: hostile, histogramBase64Us: hostile } });
    log.emit({ type: 'measurement', id: `BM-MEM-1/${hostile}`, suite: 'footprint', name: hostile, unit: 'B', value: 3, node: hostile, evidence: { series: { tMs: [0, 1000], values: [1, 2] }, outages: [{ startMs: 10, endMs: 20, target: hostile }] } });
    log.emit({ type: 'fault', node: hostile, fault: hostile, detail: hostile });
    log.emit({ type: 'artifact', name: hostile, path: 'javascript:alert(3)' });
    log.emit({ type: 'artifact', name: 'console', path: 'nodes/cp 0/console.log' });
    log.emit({ type: 'run-end', outcome: 'failed', durationMs: 10, error: hostile });
    return validateResult(buildResult(log.events));
  }

  const html = renderHtmlReport(hostileResult(), { assets, claims: { [hostile]: 1 } });
  const withoutOurScripts = html.replace(/<script>[\s\S]*?<\/script>/g, '');

  it('no hostile text becomes markup: no extra script, no img, no event handler, no javascript: link', () => {
    expect(inlineScripts(html)).toHaveLength(2);
    expect(withoutOurScripts).not.toMatch(/<img|<b>|<script>alert|href="javascript:/i);
    // Quotes are escaped too, so no value can leave its attribute and add a handler.
    expect(withoutOurScripts).not.toContain(`>"'&`);
    expect(withoutOurScripts).toContain('&gt;&quot;&#39;&amp;');
    expect(html).toContain(escapeHtml(hostile));
    expect(html).not.toContain('\u0007');
    expect(html).toContain('<a href="nodes/cp%200/console.log">');
  });

  it('the JSON data cannot close its script element', () => {
    const json = /<script type="application\/json" id="chart-specs">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(json).not.toContain('<');
    expect(JSON.stringify(chartSpecs(html))).toContain('</script><script>alert(1)');
  });

  it('a histogram that does not decode is left out, not fatal; failover and series still draw', () => {
    const specs = chartSpecs(html);
    expect(Object.keys(specs).filter((k) => k.startsWith('latency-histogram-'))).toEqual([]);
    expect(specs.failover!.data.labels).toEqual(['faults', hostile]);
    expect(specs['footprint-series-0']!.data.datasets[0]!.data).toEqual([{ x: 0, y: 0 }, { x: 1, y: 0 }]);
  });

  it('relative links only', () => {
    expect(relativeHref('https://example.com/x')).toBeUndefined();
    expect(relativeHref('/etc/passwd')).toBeUndefined();
    expect(relativeHref('//host/x')).toBeUndefined();
    expect(relativeHref('../runs/a b/report.html')).toBe('../runs/a%20b/report.html');
  });
});
