/**
 * The exit-code contract through the real CLI: 1 is a verdict (a check or a
 * budget failed), 3 is none (the run itself errored), 2 the caller's to fix.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../core/paths.js';
import { SAMPLE_RUNS, sampleEventsPath } from '../reports/sample-runs.js';
import { shardScript, type PlannedRun } from './matrix.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'ep-exit-codes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function edgeproof(...args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { reject: false, cwd: scratch, env: { EDGEPROOF_REAPER: 'off' } });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A kubeconfig whose apiserver is 127.0.0.1:1, where nothing listens. */
function unreachableKubeconfig(name = 'kubeconfig'): string {
  const path = join(scratch, name);
  const doc = 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "https://127.0.0.1:1" }\ncontexts:\n- name: lab\n  context: { cluster: c, user: u }\ncurrent-context: lab\nusers:\n- name: u\n  user: { token: t }\n';
  writeFileSync(path, doc, { mode: 0o600 });
  return path;
}

/** A run directory holding only a sample run's events, as a crashed or copied run leaves it. */
function runDirOf(runId: string): string {
  const dir = join(scratch, 'runs', runId);
  mkdirSync(dir, { recursive: true });
  copyFileSync(sampleEventsPath(runId), join(dir, 'events.jsonl'));
  return dir;
}

describe.concurrent('the exit-code contract of the real CLI', () => {
  test('run: a bring-up that errors exits 3, with every report on disk saying the run failed', async () => {
    const reportsDir = join(scratch, 'reports');
    const { code, stderr } = await edgeproof('run', '--backend', 'existing', '--kubeconfig', unreachableKubeconfig(), '--suite', 'smoke', '--cache-dir', join(scratch, 'cache'), '--reports-dir', reportsDir);
    expect(code, stderr).toBe(3);
    expect(stderr).toMatch(/error: Kubernetes API GET \/version failed: .*ECONNREFUSED/);
    const [runId] = readdirSync(reportsDir);
    const runDir = join(reportsDir, runId!);
    expect(readdirSync(runDir)).toEqual(expect.arrayContaining(['events.jsonl', 'junit.xml', 'report.html', 'result.json', 'summary.md']));
    expect(JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'))).toMatchObject({ outcome: 'failed', error: expect.stringContaining('ECONNREFUSED') });
  }, 60_000);

  test('a nightly shard exits with the highest code of its runs: a usage error (2) then a run that errored (3) is 3', async () => {
    const planned = (cell: string, args: string[]): PlannedRun => ({ cell, args: ['run', ...args], estimateMinutes: 1, estimateFrom: 'matrix', timeoutMinutes: 1 });
    const script = shardScript([
      planned('bad-board', ['--board', 'nope']),
      planned('unreachable', ['--backend', 'existing', '--kubeconfig', unreachableKubeconfig('shard'), '--suite', 'smoke', '--cache-dir', join(scratch, 'shard-cache'), '--reports-dir', join(scratch, 'shard-reports')]),
    ]);
    const shard = await execa('bash', ['-c', script], { reject: false, cwd: projectRoot(), env: { EDGEPROOF_REAPER: 'off' } });
    expect(shard.exitCode, String(shard.stderr)).toBe(3);
    expect(shard.stderr).toContain('Unknown board "nope"');
  }, 60_000);

  test('report: a completed run with failed checks exits 1', async () => {
    const { code, stderr } = await edgeproof('report', runDirOf(SAMPLE_RUNS.failing));
    expect(code, stderr).toBe(1);
  });

  test('report: a run that did not complete (interrupted) exits 3, no verdict, even with failed checks among those it finished', async () => {
    const { code, stderr } = await edgeproof('report', runDirOf(SAMPLE_RUNS.interrupted));
    expect(code, stderr).toBe(3);
  });

  test('report: a completed run whose checks all passed exits 0', async () => {
    const { code, stderr } = await edgeproof('report', runDirOf(SAMPLE_RUNS.passing));
    expect(code, stderr).toBe(0);
  });

  test('the command cannot load its own dependencies: a missing prerequisite, 2, with the command that installs them', async () => {
    const elsewhere = join(scratch, 'no-deps', 'bin');
    mkdirSync(elsewhere, { recursive: true });
    copyFileSync(bin, join(elsewhere, 'edgeproof.js'));
    const result = await execa(process.execPath, [join(elsewhere, 'edgeproof.js'), '--help'], { reject: false, cwd: scratch });
    expect(result.exitCode, String(result.stderr)).toBe(2);
    expect(result.stderr).toContain('error: cannot load tsx');
    expect(result.stderr).toContain('npm ci');
  });
});
