/**
 * `mergeShards` against crafted shards: result files are data from another
 * machine, so their names and paths must never write outside `--out` or
 * copy anything the run directory did not hold itself (real files, real
 * symlinks, the real writer for the runs).
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadReportAssets } from './html-page.js';
import { mergeExitCode, mergeShards } from './merge.js';
import { SAMPLE_RUNS, sampleEvents } from './sample-runs.js';
import { writeReports } from './write-reports.js';

const SECRET = 'PRIVATE KEY of the shard';
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-merge-test-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A shard as `edgeproof run --reports-dir <shard>` leaves it, with its secrets/. */
async function shardRun(shard: string, runId: string = SAMPLE_RUNS.passing): Promise<string> {
  const runDir = join(root, 'work', shard, runId);
  mkdirSync(join(runDir, 'secrets'), { recursive: true });
  writeFileSync(join(runDir, 'secrets', 'ssh_key'), SECRET, { mode: 0o600 });
  await writeReports(runDir, sampleEvents(runId), { claims: {} });
  return runDir;
}

function rewriteJson(path: string, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(json);
  writeFileSync(path, JSON.stringify(json));
}

/** Every path under `dir`, symlinks listed but not followed. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((entry) => join(dir, entry));
}

const merge = (shardDirs: string[], out = join(root, 'night', 'merged')) => mergeShards({ shardDirs, out, assets: loadReportAssets() });

describe('mergeShards with crafted result files', () => {
  it('a run id like ../../../x is not a directory name: nothing is written outside --out, the run is a named gap', async () => {
    const good = await shardRun('shard-01');
    const crafted = await shardRun('shard-02');
    rewriteJson(join(crafted, 'result.json'), (json) => (json.runId = '../../../escaped'));
    const out = join(root, 'night', 'merged');

    const manifest = await merge([join(good, '..'), join(crafted, '..')], out);

    expect(existsSync(join(out, 'runs', 'shard-02', '../../../escaped'))).toBe(false);
    expect(readdirSync(root).sort()).toEqual(['night', 'work']);
    expect(readdirSync(join(root, 'night'))).toEqual(['merged']);
    expect(manifest.runs.map((r) => r.shard)).toEqual(['shard-01']);
    expect(manifest.shards.find((s) => s.name === 'shard-02')?.status).toBe('corrupt');
    expect(manifest.gaps.join('\n')).toContain('run id "../../../escaped" cannot be a directory name');
    expect(manifest.verdict).toBe('FAIL');
  });

  it('a merged.json whose run dir is ../x (or a symlink inside) copies nothing from there; the result is kept and the gap named', async () => {
    const outside = join(root, 'work', 'x');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'stolen.txt'), SECRET);
    const first = await merge([join(await shardRun('shard-01'), '..')], join(root, 'work', 'earlier'));
    expect(first.verdict).toBe('PASS');
    const earlier = join(root, 'work', 'earlier');
    symlinkSync(outside, join(earlier, 'runs', 'linked'));
    const crafted = join(root, 'work', 'crafted');
    mkdirSync(crafted);
    const { runs, ...rest } = JSON.parse(readFileSync(join(earlier, 'merged.json'), 'utf8')) as { runs: Record<string, unknown>[] };
    const [run] = runs;
    writeFileSync(join(crafted, 'merged.json'), JSON.stringify({ ...rest, runs: [{ ...run, dir: '../x' }, { ...run, dir: '../earlier/runs/linked' }] }));

    const manifest = await merge([crafted]);

    const out = join(root, 'night', 'merged');
    expect(tree(out).filter((path) => path.endsWith('stolen.txt'))).toEqual([]);
    expect(manifest.runs).toHaveLength(2);
    for (const copied of manifest.runs) expect(existsSync(join(out, copied.dir, 'report.html'))).toBe(true);
    expect(manifest.gaps.join('\n')).toMatch(/directory of run 20261124-085953-2470 "\.\.\/x" lies outside .*: not used/);
    expect(manifest.gaps.join('\n')).toMatch(/"\.\.\/earlier\/runs\/linked" lies outside/);
    expect(manifest.shards[0]?.status).toBe('partial');
  });

  it('a symlink in a run directory (keys -> secrets, or to a file elsewhere) is not copied', async () => {
    const runDir = await shardRun('shard-01');
    symlinkSync('secrets', join(runDir, 'keys'));
    writeFileSync(join(root, 'elsewhere.txt'), SECRET);
    symlinkSync(join(root, 'elsewhere.txt'), join(runDir, 'notes.txt'));

    const manifest = await merge([join(runDir, '..')]);

    const copied = join(root, 'night', 'merged', manifest.runs[0]!.dir);
    expect(existsSync(join(copied, 'result.json'))).toBe(true);
    const everything = tree(join(root, 'night', 'merged'));
    expect(everything.filter((path) => lstatSync(path).isSymbolicLink())).toEqual([]);
    expect(everything.filter((path) => lstatSync(path).isFile() && readFileSync(path, 'utf8').includes(SECRET))).toEqual([]);
    expect(manifest.verdict).toBe('PASS');
  });

  it('a result.json that is a symlink is not read, and says so', async () => {
    const runDir = await shardRun('shard-01');
    const other = await shardRun('shard-02');
    rmSync(join(other, 'result.json'));
    symlinkSync(join(runDir, 'result.json'), join(other, 'result.json'));

    const manifest = await merge([join(runDir, '..'), join(other, '..')]);

    expect(manifest.runs.map((r) => r.shard)).toEqual(['shard-01']);
    expect(manifest.gaps.join('\n')).toContain(`${join(other, 'result.json')}: is a symlink: not followed`);
  });
});

describe('the exit code of a merge', () => {
  it.each([
    ['every run passed', 0, [SAMPLE_RUNS.passing]],
    ['a run failed checks', 1, [SAMPLE_RUNS.passing, SAMPLE_RUNS.failing]],
    ['a run did not complete (no verdict), beside one that failed checks', 3, [SAMPLE_RUNS.failing, SAMPLE_RUNS.interrupted]],
  ] as const)('%s: %i', async (_, code, runIds) => {
    const shards = await Promise.all(runIds.map((runId, i) => shardRun(`shard-0${i + 1}`, runId)));
    const manifest = await merge(shards.map((dir) => join(dir, '..')));
    expect(manifest.gaps).toEqual([]);
    expect(mergeExitCode(manifest)).toBe(code);
  });

  it('a gap (a shard whose results never arrived) is no verdict: 3', async () => {
    const manifest = await merge([join(await shardRun('shard-01'), '..'), join(root, 'work', 'shard-02')]);
    expect(manifest.gaps).toHaveLength(1);
    expect(mergeExitCode(manifest)).toBe(3);
  });
});
