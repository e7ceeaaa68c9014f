import { describe, expect, it } from 'vitest';
import { compareRuns, renderCompareMarkdown } from './compare.js';
import { SAMPLE_RUNS, sampleResult } from './sample-runs.js';

const passing = sampleResult(SAMPLE_RUNS.passing);
const failing = sampleResult(SAMPLE_RUNS.failing);
/** As the run records it once the lead wires it: the upstream driver's own claims (upstream-distribution.ts). */
const withClaims = { ...passing, environment: { ...passing.environment, claims: { architectures: ['arm64', 'amd64'], ha: true } } };

describe('compareRuns on real runs', () => {
  const table = compareRuns([{ result: withClaims, reportHref: 'a/report.html' }, { result: failing }], { claimsMB: { microk8s: 540, k3s: 512 } });
  const row = (aspect: string) => table.rows.find((r) => r.aspect.startsWith(aspect))!;

  it('one column per run, labelled by distribution and board', () => {
    expect(table.columns.map((c) => c.label)).toEqual(['upstream v1.20.2 on rpi4', 'upstream v1.20.2 on rpi4']);
    expect(table.columns[0]).toMatchObject({ cell: 'upstream/rpi4/1/api-latency,footprint,smoke', href: 'a/report.html' });
  });

  it('claimed beside measured, linked to the evidence anchor', () => {
    expect(row('Memory: Kubernetes services').cells[0]).toEqual({ claimed: 'no published claim', measured: '732 MB', verdict: 'none', href: 'a/report.html#measurement-BM-MEM-1/services-pss' });
    expect(row('HA failover').cells[0]).toMatchObject({ claimed: 'HA supported', measured: 'not run', verdict: 'none' });
    expect(row('HA failover').cells[1]).toMatchObject({ claimed: 'not recorded' });
    expect(row('Smoke').cells[1]).toMatchObject({ verdict: 'fail', measured: '3/6 pass; BOOT-3 failed: /readyz answered 0, /livez answered 0' });
    expect(row('Smoke').cells[1]!.href).toBeUndefined();
    expect(row('API latency').cells[1]).toMatchObject({ verdict: 'fail' });
    expect(row('Verdict').cells.map((c) => c.verdict)).toEqual(['pass', 'fail']);
  });

  it('Markdown keeps the links and marks failures', () => {
    const md = renderCompareMarkdown(table);
    expect(md).toContain('claimed: no published claim<br>measured: [732 MB](a/report.html#measurement-BM-MEM-1/services-pss)');
    expect(md).toContain('**fail** 3/6 pass; BOOT-3 failed: /readyz answered 0, /livez answered 0');
  });
});
