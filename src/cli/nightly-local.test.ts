/**
 * The nightly pipeline without GitHub, through the real CLI: shards' run
 * directories (built by the real writeReports from real event streams) are
 * merged with the plan, a gap is named, and the merged night is diffed
 * against the previous one; compare links every cell to existing evidence.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mergedManifestSchema } from '../reports/merged-manifest.js';
import { SAMPLE_RUNS, sampleEvents } from '../reports/sample-runs.js';
import { writeReports } from '../reports/write-reports.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
const claims = { microk8s: 540, k3s: 512, minikube: 644 };
const FULL = 'upstream/rpi4/1/api-latency,footprint,smoke';
const SMOKE = 'upstream/rpi4/1/smoke';

async function edgeproof(...args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { reject: false, cwd: work, env: { EDGEPROOF_REAPER: 'off' } });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** What a shard job leaves: `<shard>/<runId>/` as `edgeproof run --reports-dir <shard>` writes it, secrets included. */
async function shardWith(shard: string, runId: string): Promise<string> {
  const runDir = join(work, shard, runId);
  mkdirSync(join(runDir, 'secrets'), { recursive: true });
  writeFileSync(join(runDir, 'secrets', 'ssh_key'), 'PRIVATE KEY', { mode: 0o600 });
  writeFileSync(join(runDir, 'events.jsonl'), readFileSync(new URL(`../../fixtures/samples/runs/${runId}/events.jsonl`, import.meta.url)));
  await writeReports(runDir, sampleEvents(runId), { claims });
  return join(work, shard);
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'edgeproof-nightly-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('two nights run locally: merge, then diff', () => {
  test('night 1: two shards merge into one report; a corrupt and a missing shard are named and error the merge (exit 3)', async () => {
    const full = await shardWith('results-shard-01', SAMPLE_RUNS.passing);
    const smoke = await shardWith('results-shard-02', SAMPLE_RUNS.interrupted);
    const corrupt = join(work, 'results-shard-03', 'r-corrupt');
    mkdirSync(corrupt, { recursive: true });
    writeFileSync(join(corrupt, 'result.json'), '{"schemaVersion": 1, "runId": "trunc');
    const plan = join(work, 'plan-1.json');
    writeFileSync(plan, JSON.stringify({ include: [
      { shard: 'shard-01', cells: [FULL] },
      { shard: 'shard-02', cells: [SMOKE] },
      { shard: 'shard-03', cells: ['upstream/x86-vm/1/smoke'] },
      { shard: 'shard-04', cells: ['upstream/rpi3b/1/smoke'] },
    ] }));

    const { code, stdout, stderr } = await edgeproof('merge', full, smoke, dirname(corrupt), '--out', 'night-1', '--plan', plan);
    expect(code).toBe(3);
    expect(stdout).toContain('merged 2 run(s) from 4 shard(s): FAIL');
    expect(stderr).toMatch(/gap: shard shard-03 corrupt: .*result\.json/);
    expect(stderr).toContain('gap: shard shard-04 missing: no directory for shard shard-04');

    const manifest = mergedManifestSchema.parse(JSON.parse(readFileSync(join(work, 'night-1', 'merged.json'), 'utf8')));
    expect(manifest.shards.map((s) => [s.name, s.status])).toEqual([['shard-01', 'ok'], ['shard-02', 'ok'], ['shard-03', 'corrupt'], ['shard-04', 'missing']]);
    expect(manifest.runs.map((r) => [r.shard, r.cell])).toEqual([['shard-01', FULL], ['shard-02', SMOKE]]);
    for (const run of manifest.runs) {
      const dir = join(work, 'night-1', run.dir);
      expect(existsSync(join(dir, 'report.html'))).toBe(true);
      expect(existsSync(join(dir, 'secrets'))).toBe(false);
    }
    const report = readFileSync(join(work, 'night-1', 'report.html'), 'utf8');
    expect(report).toContain('2 gap(s): these results are missing from the merge');
    expect(report).toContain('shard shard-04 missing');
    expect(readFileSync(join(work, 'night-1', 'summary.md'), 'utf8')).toContain('| shard-03 | **corrupt** | 0 |');
  });

  test('night 2 (the failing run of the same cell) diffed against night 1: new failures named, exit 1', async () => {
    const shard = await shardWith('night-2-shards/results-shard-01', SAMPLE_RUNS.failing);
    const merged = await edgeproof('merge', shard, '--out', 'night-2');
    expect(merged.code).toBe(1); // the run itself failed checks
    const { code, stdout } = await edgeproof('diff', 'night-1', 'night-2', '--out', 'diff');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^# edgeproof diff: WORSE/);
    expect(stdout).toContain('Cells only in the old runs (not run this time): `upstream/rpi4/1/smoke`');
    const diff = JSON.parse(readFileSync(join(work, 'diff', 'diff.json'), 'utf8'));
    expect(diff.counts.newFailures).toBe(7);
    expect(diff.cells[0].cell).toBe(FULL);
    expect(readFileSync(join(work, 'diff', 'diff.md'), 'utf8')).toBe(`${stdout}\n`); // execa strips the last newline
  });

  test('a diff of a night against itself finds nothing', async () => {
    const { code, stdout } = await edgeproof('diff', 'night-1', 'night-1');
    expect(code).toBe(0);
    expect(stdout).toContain('**0 new failures, 0 regressions**');
  });

  test('diff of something that holds no run exits 2, naming it', async () => {
    mkdirSync(join(work, 'empty'));
    const { code, stderr } = await edgeproof('diff', 'empty', 'night-1');
    expect(code).toBe(2);
    expect(stderr).toContain('diff: no readable run in empty');
  });
});

describe('compare', () => {
  test('one column per run; every linked cell points at an element that exists in that run\'s report', async () => {
    const { code } = await edgeproof('compare', 'night-1', 'night-2', '--out', 'cmp');
    expect(code).toBe(0);
    const html = readFileSync(join(work, 'cmp', 'compare.html'), 'utf8');
    const md = readFileSync(join(work, 'cmp', 'compare.md'), 'utf8');
    expect(md).toContain('| Memory: Kubernetes services (PSS, p50) |');
    expect(md).toContain('claimed: no published claim<br>measured: [732 MB](');
    const links = [...html.matchAll(/href="([^"#]+)#([^"]+)"/g)].map((m) => ({ file: decodeURI(m[1]!), anchor: decodeURIComponent(m[2]!) }));
    expect(links.length).toBeGreaterThan(10);
    for (const { file, anchor } of links) {
      const target = readFileSync(resolve(work, 'cmp', file), 'utf8');
      expect(target, `${file}#${anchor}`).toContain(`id="${anchor}"`);
    }
  });
});
