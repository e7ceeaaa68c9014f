import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, processCmdline, processStartTime, sweepStaleSessions, type SessionRecord, type SessionResources } from './session.js';

let root: string;
let cacheDir: string;
const children: ChildProcess[] = [];
const reaperSetting = process.env.EDGEPROOF_REAPER;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-session-test-'));
  cacheDir = join(root, 'cache');
  // The sweep tests need the reaper on whatever the outer environment says.
  delete process.env.EDGEPROOF_REAPER;
});

afterEach(() => {
  if (reaperSetting === undefined) delete process.env.EDGEPROOF_REAPER;
  else process.env.EDGEPROOF_REAPER = reaperSetting;
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  rmSync(root, { recursive: true, force: true });
});

/** A real long-lived process whose /proc cmdline carries `marker`. */
async function markedProcess(marker: string): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid!;
  for (let i = 0; i < 100 && !processCmdline(pid)?.includes(marker); i++) await new Promise((r) => setTimeout(r, 10));
  expect(processCmdline(pid)).toContain(marker);
  return child as ChildProcess & { pid: number };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && processStartTime(child.pid!) !== undefined;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const result = spawnSync('true');
  expect(result.status).toBe(0);
  expect(result.pid).toBeGreaterThan(0);
  return result.pid;
}

function writeRecord(id: string, owner: { pid: number; startTime: string }, resources: Partial<SessionResources> = {}): string {
  const dir = join(cacheDir, 'sessions');
  mkdirSync(dir, { recursive: true });
  const record: SessionRecord = {
    id,
    ownerPid: owner.pid,
    ownerStartTime: owner.startTime,
    startedAt: new Date(Date.now() - 3_600_000).toISOString(),
    resources: { processes: [], tempDirs: [], containers: [], networks: [], ...resources },
  };
  const file = join(dir, `${id}.json`);
  writeFileSync(file, JSON.stringify(record));
  return file;
}

const uniqueMarker = () => `edgeproof-marker-${randomBytes(6).toString('hex')}`;

describe('process helpers', () => {
  it('read the start time and cmdline of a live process, undefined for a gone one', async () => {
    expect(processStartTime(process.pid)).toMatch(/^\d+$/);
    expect(processCmdline(process.pid)).toContain('node');
    const pid = deadPid();
    expect(processStartTime(pid)).toBeUndefined();
    expect(processCmdline(pid)).toBeUndefined();
  });
});

describe('Session', () => {
  it('writes its record 0600 under <cache>/sessions, keeps it current, and close() removes it', () => {
    const session = new Session(cacheDir, 'run-1');
    const file = join(cacheDir, 'sessions', 'run-1.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const read = () => JSON.parse(readFileSync(file, 'utf8')) as SessionRecord;
    expect(read()).toMatchObject({ id: 'run-1', ownerPid: process.pid, ownerStartTime: processStartTime(process.pid) });

    session.track('tempDirs', '/tmp/a');
    session.track('processes', { pid: 123, marker: 'ep-x-cp-0' });
    session.track('containers', 'ep-x-registry');
    expect(read().resources).toEqual({ processes: [{ pid: 123, marker: 'ep-x-cp-0' }], tempDirs: ['/tmp/a'], containers: ['ep-x-registry'], networks: [], cgroupDirs: [] });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    session.untrack('processes', (p) => p.pid === 123);
    session.untrack('tempDirs', (d) => d === '/tmp/a');
    expect(read().resources).toEqual({ processes: [], tempDirs: [], containers: ['ep-x-registry'], networks: [], cgroupDirs: [] });
    expect(readdirSync(join(cacheDir, 'sessions'))).toEqual(['run-1.json']);

    session.close();
    expect(existsSync(file)).toBe(false);
    session.close();
  });

  it('a live session is not swept by a concurrent sweep', async () => {
    const session = new Session(cacheDir, 'live');
    const temp = mkdtempSync(join(root, 'live-tmp-'));
    session.track('tempDirs', temp);
    const report = await sweepStaleSessions(cacheDir);
    expect(report.sessions).toEqual([]);
    expect(existsSync(temp)).toBe(true);
    expect(existsSync(join(cacheDir, 'sessions', 'live.json'))).toBe(true);
    session.close();
  });
});

describe('sweepStaleSessions', () => {
  it('kills the marked process, removes the temp dir and the record of a session whose owner is dead', async () => {
    const marker = uniqueMarker();
    const child = await markedProcess(marker);
    const temp = mkdtempSync(join(root, 'overlay-'));
    writeFileSync(join(temp, 'disk.qcow2'), 'x');
    const owner = deadPid();
    const file = writeRecord('dead-owner', { pid: owner, startTime: '1' }, { processes: [{ pid: child.pid, marker }], tempDirs: [temp] });

    const report = await sweepStaleSessions(cacheDir);

    expect(report.sessions).toEqual(['dead-owner']);
    expect(report.killed).toEqual([child.pid]);
    expect(report.removedDirs).toEqual([temp]);
    expect(report.errors).toEqual([]);
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('sweeps a record whose owner pid is alive but started at another time (pid reuse)', async () => {
    const temp = mkdtempSync(join(root, 'reused-'));
    writeRecord('reused-owner', { pid: process.pid, startTime: 'not-this-process' }, { tempDirs: [temp] });
    const report = await sweepStaleSessions(cacheDir);
    expect(report.sessions).toEqual(['reused-owner']);
    expect(existsSync(temp)).toBe(false);
  });

  it('does not sweep a record whose owner is alive (this process)', async () => {
    const marker = uniqueMarker();
    const child = await markedProcess(marker);
    const temp = mkdtempSync(join(root, 'mine-'));
    const file = writeRecord('alive-owner', { pid: process.pid, startTime: processStartTime(process.pid)! }, { processes: [{ pid: child.pid, marker }], tempDirs: [temp] });

    const report = await sweepStaleSessions(cacheDir);

    expect(report).toEqual({ sessions: [], killed: [], removedDirs: [], containers: [], networks: [], errors: [] });
    expect(alive(child)).toBe(true);
    expect(existsSync(temp)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  it('does not kill a pid whose cmdline lacks the marker (the pid was reused), but still removes the record', async () => {
    const child = await markedProcess(uniqueMarker());
    const otherMarker = uniqueMarker();
    expect(processCmdline(child.pid)).not.toContain(otherMarker);
    const file = writeRecord('reused-pid', { pid: deadPid(), startTime: '1' }, { processes: [{ pid: child.pid, marker: otherMarker }] });

    const report = await sweepStaleSessions(cacheDir);

    expect(report.sessions).toEqual(['reused-pid']);
    expect(report.killed).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(alive(child)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('skips a process that is already gone and a temp dir that no longer exists', async () => {
    const gone = join(root, 'never-made');
    writeRecord('already-clean', { pid: deadPid(), startTime: '1' }, { processes: [{ pid: deadPid(), marker: uniqueMarker() }], tempDirs: [gone] });
    const report = await sweepStaleSessions(cacheDir);
    expect(report).toEqual({ sessions: ['already-clean'], killed: [], removedDirs: [], containers: [], networks: [], errors: [] });
  });

  it('hands containers and networks to the sweeper and reports its errors', async () => {
    const calls: [string[], string[], string[]][] = [];
    writeRecord('with-containers', { pid: deadPid(), startTime: '1' }, { containers: ['ep-1-registry'], networks: ['ep-1-net'], cgroupDirs: ['edgeproof/1'] });
    const report = await sweepStaleSessions(cacheDir, async ({ containers, networks, cgroupDirs }) => {
      calls.push([containers, networks, cgroupDirs ?? []]);
      return ['network ep-1-net: has active endpoints'];
    });
    expect(calls).toEqual([[['ep-1-registry'], ['ep-1-net'], ['edgeproof/1']]]);
    expect(report.containers).toEqual(['ep-1-registry']);
    expect(report.networks).toEqual(['ep-1-net']);
    expect(report.errors).toEqual(['network ep-1-net: has active endpoints']);
  });

  it('removes an unreadable record and reports it, and still sweeps the others', async () => {
    const dir = join(cacheDir, 'sessions');
    mkdirSync(dir, { recursive: true });
    const bad = join(dir, 'corrupt.json');
    writeFileSync(bad, '{"id": "corrupt", "ownerPid": ');
    const temp = mkdtempSync(join(root, 'other-'));
    writeRecord('zz-dead', { pid: deadPid(), startTime: '1' }, { tempDirs: [temp] });
    writeFileSync(join(dir, 'in-progress.json.tmp'), '{');

    const report = await sweepStaleSessions(cacheDir);

    expect(existsSync(bad)).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toContain(`unreadable session record ${bad}`);
    expect(report.errors[0]).toContain('removed');
    expect(report.sessions).toEqual(['zz-dead']);
    expect(existsSync(temp)).toBe(false);
    // A record being written (tmp file) is not a record.
    expect(existsSync(join(dir, 'in-progress.json.tmp'))).toBe(true);
  });

  it('does nothing when there is no sessions dir', async () => {
    expect(await sweepStaleSessions(join(root, 'no-cache'))).toEqual({ sessions: [], killed: [], removedDirs: [], containers: [], networks: [], errors: [] });
  });

  it('EDGEPROOF_REAPER=off makes it a no-op', async () => {
    const marker = uniqueMarker();
    const child = await markedProcess(marker);
    const temp = mkdtempSync(join(root, 'kept-'));
    const file = writeRecord('dead-but-off', { pid: deadPid(), startTime: '1' }, { processes: [{ pid: child.pid, marker }], tempDirs: [temp] });
    process.env.EDGEPROOF_REAPER = 'off';
    try {
      const report = await sweepStaleSessions(cacheDir);
      expect(report).toEqual({ sessions: [], killed: [], removedDirs: [], containers: [], networks: [], errors: [] });
    } finally {
      delete process.env.EDGEPROOF_REAPER;
    }
    expect(alive(child)).toBe(true);
    expect(existsSync(temp)).toBe(true);
    expect(existsSync(file)).toBe(true);

    // With the reaper back on, the same record is swept.
    const report = await sweepStaleSessions(cacheDir);
    expect(report.killed).toEqual([child.pid]);
    expect((await exited(child)).signal).toBe('SIGKILL');
  });
});
