import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildResult, parseEventsJsonl, type RunResult } from './result-model.js';
import { renderConsoleSummary, renderSummary } from './summary-md.js';
import { apiLatencyRows, footprintView, formatNumber, oneLine, toMegabytes, toMilliseconds } from './summary-views.js';

const claims: Record<string, number> = JSON.parse(readFileSync(new URL('../../fixtures/versions.json', import.meta.url), 'utf8')).claims;

const goldenResult = (): RunResult =>
  buildResult(parseEventsJsonl(readFileSync(new URL('../../fixtures/golden/reports/killed-run/events.jsonl', import.meta.url), 'utf8')).events);

function lineOf(text: string, fragment: string): string {
  const line = text.split('\n').find((l) => l.includes(fragment));
  if (line === undefined) throw new Error(`no line with ${fragment}`);
  return line;
}

describe('renderSummary', () => {
  it('renders the golden run', async () => {
    await expect(renderSummary(goldenResult(), { claims })).toMatchFileSnapshot('../../fixtures/golden/reports/killed-run/summary.md');
  });

  it('says the killed run failed and why, with the environment', () => {
    const md = renderSummary(goldenResult(), { claims });
    expect(md).toMatch(/^# edgeproof run 20261124-063500-a1b2: FAIL\n/);
    expect(md).toContain('**Outcome:** incomplete (no run-end event: the run was killed or crashed).');
    expect(md).toContain('- slowdown factor: 9.6x\n- timeout scale: 10x');
    expect(md).toContain('| teardown | - | - | unfinished |');
  });

  it('shows footprint in MB whatever unit was recorded, beside the vendor claims', () => {
    const md = renderSummary(goldenResult(), { claims });
    expect(lineOf(md, 'Kubernetes services')).toBe('| Kubernetes services (cgroup memory.current) | ep-3500a1b2-cp-0 | 413 | 431 | 405 | 436 | 600 |');
    expect(lineOf(md, 'Guest used memory')).toContain('| 464 | 478 | 459 | 481 | 600 |'); // KiB
    expect(lineOf(md, 'kube-apiserver RSS')).toContain('| 256 | 268 | 250 | 270 | 600 |'); // bytes
    expect(md).toContain('Vendor claims: MicroK8s 540 MB, K3s 512 MB, minikube 644 MB.');
  });

  it('compares p95 with the claim of the distribution under test', () => {
    const result = goldenResult();
    result.environment.distro = 'k3s';
    const md = renderSummary(result, { claims });
    expect(md).toContain('| Measurement | Node | p50 MB | p95 MB | min MB | max MB | samples | % of K3s claim (p95) |');
    expect(lineOf(md, 'Kubernetes services')).toMatch(/\| 84% \|$/); // 431.2 / 512
  });

  it('shows API latency with the SLO and verdict of the matching BM-API-1 check', () => {
    const md = renderSummary(goldenResult(), { claims });
    expect(lineOf(md, '| get-configmap')).toBe('| get-configmap | ep-3500a1b2-cp-0 | 85.2 | 112 | 189 | 242 | 600 | p99 ≤ 1000 ms | pass |');
    expect(lineOf(md, '| create-configmap')).toBe('| create-configmap | ep-3500a1b2-cp-0 | 150 | 204 | 1281 | 1912 | 600 | p99 ≤ 1000 ms | fail |');
  });

  it('keeps table cells one line and inert', () => {
    const result = goldenResult();
    result.checks[0] = { ...result.checks[0]!, verdict: 'skipped', reason: 'a | b <script>alert(1)</script>\nsecond line' };
    expect(lineOf(renderSummary(result), '| BOOT-1 |')).toBe(
      '| BOOT-1 | Every expected node is Ready | skipped | a \\| b &lt;script&gt;alert(1)&lt;/script&gt;... |',
    );
  });

  it('puts failed checks evidence in a fence longer than any backtick run inside', () => {
    const result = goldenResult();
    result.checks[2] = { ...result.checks[2]!, evidence: { output: 'a ``` b' } };
    expect(renderSummary(result)).toContain('````json\n{\n  "output": "a ``` b"\n}\n````');
  });

  it('omits sections with nothing to show', () => {
    const result = { ...goldenResult(), measurements: [], artifacts: [] };
    const md = renderSummary(result);
    expect(md).not.toContain('## Footprint');
    expect(md).not.toContain('## API latency');
    expect(md).not.toContain('## Artifacts');
  });
});

describe('renderConsoleSummary', () => {
  it('renders the golden run', async () => {
    await expect(renderConsoleSummary(goldenResult(), { claims })).toMatchFileSnapshot('../../fixtures/golden/reports/killed-run/console.txt');
  });

  it('aligns columns without table pipes or trailing spaces', () => {
    const text = renderConsoleSummary(goldenResult(), { claims });
    expect(text).not.toMatch(/\|/);
    expect(text).not.toMatch(/ +$/m);
    const verdictColumn = (id: string) => lineOf(text, `  ${id} `).search(/(pass|FAIL|skipped|not-applicable)/);
    expect(new Set(['BOOT-1', 'SMOKE-2', 'SMOKE-4', 'BM-API-1/create-configmap'].map(verdictColumn)).size).toBe(1);
  });

  it('shows a control character in a reason as text instead of sending it to the terminal', () => {
    const result = goldenResult();
    result.checks[2] = { ...result.checks[2]!, reason: 'refused \u001b[31mred' };
    const text = renderConsoleSummary(result);
    expect(text).toContain('FAIL            refused \\u001b[31mred');
    expect(text).not.toContain('\u001b');
  });
});

describe('summary views', () => {
  it('converts memory units to MB (2^20 bytes) and time units to ms', () => {
    expect(toMegabytes(2 ** 20, 'bytes')).toBe(1);
    expect(toMegabytes(2048, 'KiB')).toBe(2);
    expect(toMegabytes(2048, 'kB')).toBe(2);
    expect(toMegabytes(1.5, 'GiB')).toBe(1536);
    expect(toMegabytes(1, 'furlongs')).toBeUndefined();
    expect(toMilliseconds(1.2, 's')).toBe(1200);
    expect(toMilliseconds(850, 'us')).toBeCloseTo(0.85);
  });

  it('leaves measurements in unknown units to the other-measurements table', () => {
    const result = goldenResult();
    result.measurements[2] = { ...result.measurements[2]!, unit: 'pages' };
    expect(footprintView(result).rows.map((r) => r.id)).toEqual(['BM-MEM-1/guest-used', 'BM-MEM-1/rss/kube-apiserver']);
    expect(renderSummary(result)).toMatch(/## Other measurements[\s\S]*BM-MEM-1\/k8s-services/);
  });

  it('finds no SLO when there is no matching check', () => {
    const result = goldenResult();
    result.checks = result.checks.filter((c) => !c.id.startsWith('BM-API-1/'));
    expect(apiLatencyRows(result)[0]).not.toHaveProperty('sloMs');
    expect(apiLatencyRows(result)[0]).not.toHaveProperty('sloVerdict');
  });

  it('formats numbers to about three figures', () => {
    expect([412.6, 85.24, 9.6, 7.256, 1912, 0].map(formatNumber)).toEqual(['413', '85.2', '9.6', '7.26', '1912', '0']);
    expect(formatNumber(undefined)).toBe('-');
  });

  it('cuts text to its first line', () => {
    expect(oneLine('  first\nsecond')).toBe('first...');
    expect(oneLine('x'.repeat(20), 10)).toBe('xxxxxxx...');
    expect(oneLine(undefined)).toBe('');
  });
});
