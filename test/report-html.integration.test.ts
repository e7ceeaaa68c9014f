/**
 * report.html in a real browser: Debian's headless Chromium (driven by
 * playwright-core) opens the report of a real run (fixtures/samples/runs)
 * with every network request refused, and the test checks that the charts
 * drew (non-blank canvases), every check has its row, nothing tried to leave
 * the file and no script error happened; it saves docs/images/report.png.
 * Skipped, saying why, where Chromium is not installed (`apt-get install chromium`).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EventLog } from '../src/core/events.js';
import { SAMPLE_RUNS, sampleEvents } from '../src/reports/sample-runs.js';
import { writeReports } from '../src/reports/write-reports.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
const SCREENSHOT = fileURLToPath(new URL('../docs/images/report.png', import.meta.url));
const claims = { microk8s: 540, k3s: 512, minikube: 644 };

interface Visit {
  page: Page;
  requests: string[];
  errors: string[];
  dialogs: string[];
}

let browser: Browser;
let work: string;

async function visit(reportPath: string): Promise<Visit> {
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  const visit: Visit = { page: await context.newPage(), requests: [], errors: [], dialogs: [] };
  // Anything but the file itself is refused and recorded: the report must need nothing else.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === pathToFileURL(reportPath).href) return route.continue();
    visit.requests.push(url);
    return route.abort();
  });
  visit.page.on('pageerror', (error) => visit.errors.push(error.message));
  visit.page.on('console', (message) => message.type() === 'error' && visit.errors.push(message.text()));
  visit.page.on('dialog', (dialog) => {
    visit.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await visit.page.goto(pathToFileURL(reportPath).href);
  await visit.page.waitForSelector('html[data-charts-drawn]', { timeout: 30_000 });
  return visit;
}

/** The little of a canvas this test uses (the project compiles without the DOM library). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** Pixels of each canvas that are not transparent: a chart that drew has thousands. */
function paintedPixels(page: Page): Promise<number[]> {
  return page.$$eval('canvas[data-chart]', (canvases) =>
    (canvases as unknown as Canvas[]).map((canvas) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted += 1;
      return painted;
    }),
  );
}

describe.skipIf(!CHROMIUM)(`report.html in headless Chromium${CHROMIUM ? '' : ' (skipped: chromium is not installed; apt-get install chromium)'}`, () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ep-report-html-'));
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu'] });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('the report of a real run renders its charts and every check, offline, and is screenshotted', async () => {
    const runDir = join(work, SAMPLE_RUNS.passing);
    mkdirSync(runDir);
    const result = await writeReports(runDir, sampleEvents(SAMPLE_RUNS.passing), { claims });
    const { page, requests, errors, dialogs } = await visit(join(runDir, 'report.html'));

    const canvases = await page.locator('canvas[data-chart]').count();
    expect(canvases).toBeGreaterThanOrEqual(14); // timeline, percentiles, 10 histograms, footprint, PSS per process
    expect(Number(await page.getAttribute('html', 'data-charts-drawn'))).toBe(canvases);
    for (const painted of await paintedPixels(page)) expect(painted).toBeGreaterThan(2_000);

    expect(await page.locator('tr.check').count()).toBe(result.checks.length);
    expect(await page.locator('tr.check .badge-pass').count()).toBe(result.summary.pass);
    await expect.poll(() => page.locator('#check-BM-API-1\\/pod-delete td').nth(2).textContent()).toBe('pod-delete p99 within the SIG Scalability SLO');
    expect(await page.locator('h1').textContent()).toContain('PASS');
    expect(await page.locator('#footprint').textContent()).toContain('MicroK8s 540 MB');

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    // The README shows the top of the page: verdict, phase timeline, checks, latency.
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.setViewportSize({ width: 1280, height: 1800 });
    await page.screenshot({ path: join(runDir, 'report.png') });
    copyFileSync(join(runDir, 'report.png'), SCREENSHOT);
  });

  test('hostile text stays text in the browser; failover and footprint-over-time charts draw (sample input for rendering only)', async () => {
    // Not a measurement: a made-up stream that exercises the parts no real run here has yet (faults, outages, series).
    const hostile = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>';
    const log = new EventLog();
    log.emit({ type: 'run-start', runId: 'render-sample-not-a-measurement', argv: [], config: { note: 'sample input for rendering only' } });
    log.emit({ type: 'environment', environment: { distro: 'upstream', board: 'rpi4', timeoutScale: 8 } });
    log.emit({ type: 'phase-start', phase: hostile });
    log.emit({ type: 'phase-end', phase: hostile, durationMs: 40, outcome: 'ok' });
    log.emit({ type: 'fault', node: 'ep-00000000-cp-1', fault: 'powerOff', detail: hostile });
    log.emit({ type: 'measurement', id: 'HA-3/longest-outage', suite: 'ha', name: hostile, unit: 'ms', value: 4_000, evidence: { outages: [{ startMs: 1_000, endMs: 5_000, target: 'cp-0' }, { startMs: 1_200, endMs: 3_000, target: hostile }] } });
    log.emit({ type: 'measurement', id: 'BM-MEM-1/services-pss', suite: 'footprint', name: 'services PSS', unit: 'MiB', value: 700, node: 'ep-00000000-cp-0', stats: { p50: 700, p95: 720 }, evidence: { series: { tMs: [0, 1_000, 2_000, 3_000], values: [690, 700, 720, 705] } } });
    log.emit({ type: 'check', id: 'HA-3', suite: 'ha', name: hostile, verdict: 'fail', reason: hostile, durationMs: 5, evidence: { hostile } });
    log.emit({ type: 'run-end', outcome: 'completed', durationMs: 6_000 });
    const runDir = join(work, 'render-sample');
    mkdirSync(runDir);
    await writeReports(runDir, log.events, { claims });
    const { page, requests, errors, dialogs } = await visit(join(runDir, 'report.html'));

    expect(dialogs).toEqual([]);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('tr.check td').nth(2).textContent()).toBe(hostile);
    const drawn = Number(await page.getAttribute('html', 'data-charts-drawn'));
    expect(drawn).toBe(await page.locator('canvas[data-chart]').count());
    for (const key of ['failover', 'footprint-series-0']) {
      expect(await page.locator(`canvas[data-chart="${key}"]`).count()).toBe(1);
    }
    for (const painted of await paintedPixels(page)) expect(painted).toBeGreaterThan(1_000);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  });
});
