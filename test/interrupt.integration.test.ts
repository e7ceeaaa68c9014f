import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir, projectRoot, sessionTag } from '../src/core/paths.js';
import { harnessLeftovers } from '../src/emulation/container/docker-engine.js';
import { qemuProcesses } from './fixtures.js';

const cli = join(projectRoot(), 'bin', 'edgeproof.js');

interface Started {
  child: ChildProcess;
  runId: string;
  tag: string;
  reports: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** The runs' reports dirs: the test's own temp dirs, removed once every run in the file has been read. */
const reportDirs: string[] = [];
afterAll(() => {
  for (const dir of reportDirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts `edgeproof run --cold` (a boot, not a snapshot restore) and resolves once QEMU of that run is up (mid-boot). */
function startRunUntilQemu(): Promise<Started> {
  return startRunUntil(['--suite', 'smoke', '--cold'], (runId) => qemuProcesses(sessionTag(runId)).length > 0, 5 * 60_000);
}

/** Starts `edgeproof run ARGS` and resolves once `reached(runId, reportsDir)` holds. */
async function startRunUntil(args: string[], reached: (runId: string, reports: string) => boolean | Promise<boolean>, budgetMs: number): Promise<Started> {
  const reports = mkdtempSync(join(tmpdir(), 'ep-interrupt-'));
  reportDirs.push(reports);
  const child = spawn(process.execPath, [cli, 'run', ...args, '--reports-dir', reports], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const runId = /run (\d{8}-\d{6}-[0-9a-f]{4}):/.exec(output)?.[1];
    if (runId && (await reached(runId, reports))) return { child, runId, tag: sessionTag(runId), reports, output: () => output, exited };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`run never reached the point of interruption:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('interrupts', () => {
  it('SIGINT mid-boot stops within seconds, leaves no QEMU or temp dir, writes partial results', async () => {
    const run = await startRunUntilQemu();
    const sent = Date.now();
    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(Date.now() - sent).toBeLessThan(30_000);
    expect(code, run.output()).toBe(130);
    expect(qemuProcesses(run.tag)).toEqual([]);
    expect(existsSync(join(cacheDir(), 'tmp', run.runId))).toBe(false);
    expect(existsSync(join(cacheDir(), 'sessions', `${run.runId}.json`))).toBe(false);
    const result = JSON.parse(readFileSync(join(run.reports, run.runId, 'result.json'), 'utf8'));
    expect(result.outcome).toBe('interrupted');
    expect(result.phases.some((p: { name: string }) => p.name === 'boot')).toBe(true);
  });

  it('SIGKILL mid-boot: QEMU dies with the harness and the next start sweeps the session', async () => {
    const run = await startRunUntilQemu();
    run.child.kill('SIGKILL');
    await run.exited;
    const deadline = Date.now() + 10_000;
    while (qemuProcesses(run.tag).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(qemuProcesses(run.tag)).toEqual([]);
    const record = join(cacheDir(), 'sessions', `${run.runId}.json`);
    expect(existsSync(record)).toBe(true);
    const clean = await execa(process.execPath, [cli, 'clean'], { reject: false });
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(existsSync(record)).toBe(false);
    expect(existsSync(join(cacheDir(), 'tmp', run.runId))).toBe(false);
    expect(readdirSync(join(run.reports, run.runId))).toContain('events.jsonl');
  });
});

/** The first fault of a run is in its event stream: the run is in the middle of a fault scenario. */
function inFaultScenario(runId: string, reports: string): boolean {
  const file = join(reports, runId, 'events.jsonl');
  return existsSync(file) && readFileSync(file, 'utf8').includes('"type":"fault"');
}

async function leftovers(tag: string) {
  const left = await harnessLeftovers();
  return { containers: left.containers.filter((c) => c.includes(tag)), networks: left.networks.filter((n) => n.includes(tag)) };
}

function nodeCgroups(tag: string): string[] {
  return readdirSync('/sys/fs/cgroup').filter((c) => existsSync(join('/sys/fs/cgroup', c, 'edgeproof', tag)));
}

describe('interrupts while node containers start (container backend)', () => {
  it('SIGKILL the moment the first node container appears: after the next start nothing of the run is left', async () => {
    const containerCreated = async (runId: string) => (await leftovers(sessionTag(runId))).containers.length > 0;
    const run = await startRunUntil(['--backend', 'container', '--suite', 'smoke'], containerCreated, 30 * 60_000);
    run.child.kill('SIGKILL');
    await run.exited;
    expect((await leftovers(run.tag)).containers.length, 'the killed run left its node container').toBeGreaterThan(0);
    const sessionFiles = () => readdirSync(join(cacheDir(), 'sessions')).filter((name) => name.startsWith(`${run.runId}.`));
    expect(sessionFiles()).toContain(`${run.runId}.json`);

    const clean = await execa(process.execPath, [cli, 'clean'], { reject: false });
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`Stale sessions swept: .*${run.runId}`));
    expect(clean.stdout.split('\n').filter((line) => line.includes('problem:') && (line.includes(run.runId) || line.includes(run.tag)))).toEqual([]);
    expect(await leftovers(run.tag)).toEqual({ containers: [], networks: [] });
    expect(nodeCgroups(run.tag)).toEqual([]);
    expect(existsSync(join(cacheDir(), 'tmp', run.runId))).toBe(false);
    expect(sessionFiles()).toEqual([]);
  });
});

describe('interrupts in a fault scenario (container backend, 3 control planes)', () => {
  const args = ['--backend', 'container', '--topology', '3', '--suite', 'ha'];

  it('SIGINT mid-fault: every container and network of the run is gone, partial results written', async () => {
    const run = await startRunUntil(args, inFaultScenario, 10 * 60_000);
    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(code, run.output()).toBe(130);
    expect(await leftovers(run.tag)).toEqual({ containers: [], networks: [] });
    const result = JSON.parse(readFileSync(join(run.reports, run.runId, 'result.json'), 'utf8'));
    expect(result.outcome).toBe('interrupted');
    expect(result.faults.length).toBeGreaterThan(0);
  });

  it('SIGKILL mid-fault: `edgeproof clean` removes the containers and the network the run left', async () => {
    const run = await startRunUntil(args, inFaultScenario, 10 * 60_000);
    run.child.kill('SIGKILL');
    await run.exited;
    expect((await leftovers(run.tag)).containers.length).toBeGreaterThan(0);
    const clean = await execa(process.execPath, [cli, 'clean'], { reject: false });
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);
    expect(await leftovers(run.tag)).toEqual({ containers: [], networks: [] });
    expect(nodeCgroups(run.tag)).toEqual([]);
  });
});
