import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from './paths.js';
import { Session, bootId, pidNamespace, processCmdline, processStartTime, sweepStaleSessions, type SessionRecord, type SessionResources } from './session.js';

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

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  // A test that failed halfway leaves session owners' dirs in the temp dir: the reaper takes them.
  delete process.env.EDGEPROOF_REAPER;
  await sweepStaleSessions(cacheDir);
  if (reaperSetting === undefined) delete process.env.EDGEPROOF_REAPER;
  else process.env.EDGEPROOF_REAPER = reaperSetting;
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

interface RecordOptions {
  /** 'free': a lock file nobody holds (its owner died); 'none': a record without one (flock was unavailable). */
  lock?: 'free' | 'none';
  bootId?: string;
  pidNamespace?: string;
}

/** A record as a run that died leaves it: owned in this boot and PID namespace unless told otherwise. */
function writeRecord(id: string, owner: { pid: number; startTime: string }, resources: Partial<SessionResources> = {}, options: RecordOptions = {}): string {
  const dir = join(cacheDir, 'sessions');
  mkdirSync(dir, { recursive: true });
  const record: SessionRecord = {
    id,
    ownerPid: owner.pid,
    ownerStartTime: owner.startTime,
    bootId: options.bootId ?? bootId(),
    pidNamespace: options.pidNamespace ?? pidNamespace(),
    startedAt: new Date(Date.now() - 3_600_000).toISOString(),
    resources: { processes: [], tempDirs: [], containers: [], networks: [], ...resources },
  };
  const file = join(dir, `${id}.json`);
  writeFileSync(file, JSON.stringify(record));
  if ((options.lock ?? 'free') === 'free') writeFileSync(join(dir, `${id}.lock`), '');
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
    expect(readdirSync(join(cacheDir, 'sessions')).sort()).toEqual(['run-1.json', 'run-1.lock']);

    session.close();
    expect(readdirSync(join(cacheDir, 'sessions'))).toEqual([]);
    session.close();
  });

  it('holds its lock while it lives (another process finds it taken); close() drops the lock and its file', () => {
    const session = new Session(cacheDir, 'locked');
    const lock = join(cacheDir, 'sessions', 'locked.lock');
    expect(spawnSync('flock', ['--nonblock', lock, 'true']).status).toBe(1);
    expect(statSync(lock).mode & 0o777).toBe(0o600);
    session.close();
    expect(existsSync(lock)).toBe(false);
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
    writeRecord('reused-owner', { pid: process.pid, startTime: 'not-this-process' }, { tempDirs: [temp] }, { lock: 'none' });
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

  it('hands the session and its containers, networks, cgroups and bridge fences to the sweeper; its errors keep the record', async () => {
    const calls: [string, string[], string[], string[], SessionResources['bridgeFences']][] = [];
    const fences = [{ tool: 'iptables' as const, bridge: 'br-0123456789ab' }, { tool: 'ip6tables' as const, bridge: 'br-0123456789ab' }];
    const file = writeRecord('with-containers', { pid: deadPid(), startTime: '1' }, { containers: ['ep-1-registry'], networks: ['ep-1-net'], cgroupDirs: ['edgeproof/1'], bridgeFences: fences });
    let failing = true;
    const sweeper = async (session: string, { containers, networks, cgroupDirs, bridgeFences }: Pick<SessionResources, 'containers' | 'networks' | 'cgroupDirs' | 'bridgeFences'>) => {
      calls.push([session, containers, networks, cgroupDirs ?? [], bridgeFences]);
      return { containers: ['ep-1-registry'], networks: failing ? [] : ['ep-1-net'], errors: failing ? ['network ep-1-net: has active endpoints'] : [] };
    };

    const report = await sweepStaleSessions(cacheDir, sweeper);
    expect(calls).toEqual([['with-containers', ['ep-1-registry'], ['ep-1-net'], ['edgeproof/1'], fences]]);
    expect(report.containers).toEqual(['ep-1-registry']);
    expect(report.networks).toEqual([]);
    expect(report.errors).toEqual(['network ep-1-net: has active endpoints', `session with-containers: record kept for the next sweep (${file})`]);
    expect(existsSync(file)).toBe(true);

    failing = false;
    const again = await sweepStaleSessions(cacheDir, sweeper);
    expect(again).toMatchObject({ sessions: ['with-containers'], networks: ['ep-1-net'], errors: [] });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(cacheDir, 'sessions', 'with-containers.lock'))).toBe(false);
  });

  it('keeps the record of a session with containers when no container sweeper is given', async () => {
    const file = writeRecord('no-sweeper', { pid: deadPid(), startTime: '1' }, { networks: ['ep-2-net'] });
    const report = await sweepStaleSessions(cacheDir);
    expect(report.errors[0]).toContain('not swept (no container sweeper)');
    expect(existsSync(file)).toBe(true);
  });

  it('a record without a lock from another boot or PID namespace is not provably dead: kept and said', async () => {
    const temp = mkdtempSync(join(root, 'unproven-'));
    const otherNamespace = writeRecord('other-ns', { pid: deadPid(), startTime: '1' }, { tempDirs: [temp] }, { lock: 'none', pidNamespace: 'pid:[1]' });
    const otherBoot = writeRecord('other-boot', { pid: deadPid(), startTime: '1' }, { tempDirs: [temp] }, { lock: 'none', bootId: '00000000-0000-0000-0000-000000000000' });
    const legacy = join(cacheDir, 'sessions', 'legacy.json');
    writeFileSync(legacy, JSON.stringify({ id: 'legacy', ownerPid: deadPid(), ownerStartTime: '1', startedAt: '2026-01-01T00:00:00Z', resources: { processes: [], tempDirs: [temp], containers: [], networks: [] } }));

    const report = await sweepStaleSessions(cacheDir);

    expect(report.sessions).toEqual([]);
    expect(report.errors).toEqual(['legacy', 'other-boot', 'other-ns'].map((id) =>
      `session ${id} kept: its owner is not provably gone (it has no lock, and its owner ran in another boot or PID namespace); delete ${join(cacheDir, 'sessions', `${id}.json`)} once no run uses this cache`));
    expect([existsSync(temp), existsSync(otherNamespace), existsSync(otherBoot), existsSync(legacy)]).toEqual([true, true, true, true]);
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

const sessionOwner = fileURLToPath(new URL('./test-fixtures/session-owner.ts', import.meta.url));
const NEW_PID_NAMESPACE = ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'];
const namespacesWork = spawnSync(NEW_PID_NAMESPACE[0]!, [...NEW_PID_NAMESPACE.slice(1), 'true']).status === 0;

interface Owner {
  child: ChildProcess;
  runId: string;
  scratch: string;
  socketDir: string;
}

/** A real process holding a run's session in this cache (in a PID namespace of its own when asked), until killed or its stdin closes. */
async function startOwner(where: 'this namespace' | 'new PID namespace'): Promise<Owner> {
  const argv = [process.execPath, '--import', 'tsx', sessionOwner, 'hold', cacheDir, mkdtempSync(join(root, 'run-'))];
  const [command, ...args] = where === 'new PID namespace' ? [...NEW_PID_NAMESPACE, ...argv] : argv;
  const child = spawn(command!, args, { cwd: projectRoot(), stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`session owner exited with ${code} before it was ready: ${out}`)));
  });
  return { child, ...(JSON.parse(line) as Omit<Owner, 'child'>) };
}

/** sweepStaleSessions in a process of a PID namespace of its own (as another CI job's container would run it). */
function sweepFromNewPidNamespace(): Awaited<ReturnType<typeof sweepStaleSessions>> {
  const result = spawnSync(NEW_PID_NAMESPACE[0]!, [...NEW_PID_NAMESPACE.slice(1), process.execPath, '--import', 'tsx', sessionOwner, 'sweep', cacheDir], { cwd: projectRoot(), encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Awaited<ReturnType<typeof sweepStaleSessions>>;
}

/** Resolves once nobody holds the session's lock: its owner is gone. */
async function lockReleased(runId: string): Promise<void> {
  const lock = join(cacheDir, 'sessions', `${runId}.lock`);
  for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', lock, 'true']).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(spawnSync('flock', ['--nonblock', lock, 'true']).status, `${lock} still held`).toBe(0);
}

describe('sessions of runs in other PID namespaces (two CI jobs sharing a cache dir)', () => {
  it.skipIf(!namespacesWork)('a run killed with SIGKILL is swept: its lock died with it', async () => {
    const owner = await startOwner('this namespace');
    owner.child.kill('SIGKILL');
    await exited(owner.child);
    const report = await sweepStaleSessions(cacheDir);
    expect(report.sessions).toEqual([owner.runId]);
    expect(report.errors).toEqual([]);
    expect([existsSync(owner.scratch), existsSync(owner.socketDir)]).toEqual([false, false]);
    expect(readdirSync(join(cacheDir, 'sessions'))).toEqual([]);
  });

  it.skipIf(!namespacesWork)('neither run sweeps the other while both live; the one killed is swept by the other', async () => {
    const outside = await startOwner('this namespace');
    const inside = await startOwner('new PID namespace');
    const untouched = (owner: Owner) => [existsSync(owner.scratch), existsSync(owner.socketDir), existsSync(join(cacheDir, 'sessions', `${owner.runId}.json`))];

    const fromOutside = await sweepStaleSessions(cacheDir);
    const fromInside = sweepFromNewPidNamespace();

    const nothing = { sessions: [], killed: [], removedDirs: [], containers: [], networks: [], errors: [] };
    expect({ fromOutside, fromInside }).toEqual({ fromOutside: nothing, fromInside: nothing });
    expect(untouched(outside)).toEqual([true, true, true]);
    expect(untouched(inside)).toEqual([true, true, true]);

    inside.child.kill('SIGKILL'); // unshare --kill-child takes the namespace's processes with it, a moment later
    await exited(inside.child);
    await lockReleased(inside.runId);
    const report = await sweepStaleSessions(cacheDir);
    expect(report.sessions).toEqual([inside.runId]);
    expect(untouched(inside)).toEqual([false, false, false]);
    expect(untouched(outside)).toEqual([true, true, true]);

    outside.child.stdin!.end();
    expect(await exited(outside.child)).toEqual({ code: 0, signal: null });
    expect(untouched(outside)).toEqual([false, false, false]);
  });
});

describe('what a sweep may remove', () => {
  it('keeps the record when a temp dir cannot be removed, and sweeps it once it can', async () => {
    const temp = mkdtempSync(join(root, 'stuck-'));
    const stuck = join(temp, 'immutable');
    writeFileSync(stuck, 'x');
    expect(spawnSync('chattr', ['+i', stuck]).status, 'chattr +i (root on ext4) makes a file even root cannot remove').toBe(0);
    const file = writeRecord('stuck', { pid: deadPid(), startTime: '1' }, { tempDirs: [temp] });
    try {
      const report = await sweepStaleSessions(cacheDir);
      expect(report.sessions).toEqual(['stuck']);
      expect(report.errors).toHaveLength(2);
      expect(report.errors[0]).toContain(`${temp} not removed: `);
      expect(report.errors[1]).toBe(`session stuck: record kept for the next sweep (${file})`);
      expect(existsSync(file)).toBe(true);
      expect(existsSync(stuck)).toBe(true);
    } finally {
      spawnSync('chattr', ['-i', stuck]);
    }
    const again = await sweepStaleSessions(cacheDir);
    expect(again).toMatchObject({ sessions: ['stuck'], removedDirs: [temp], errors: [] });
    expect(existsSync(file)).toBe(false);
  });

  // The sweep runs in a mount namespace where /etc and the home dir are overlays whose writes land in a
  // tmpfs: a sweep that did remove them (as one before this check did) cannot harm this host.
  it.skipIf(!namespacesWork)('a crafted record naming /etc, ~, a way out of the temp dir, the cache or its records removes nothing', async () => {
    const decoy = mkdtempSync('/var/tmp/edgeproof-decoy-');
    const live = new Session(cacheDir, 'bystander');
    try {
      mkdirSync(join(decoy, 'sub'));
      writeFileSync(join(decoy, 'sub', 'keep'), 'not edgeproof');
      const link = join(root, 'link-out');
      symlinkSync(decoy, link);
      const crafted = ['/etc', homedir(), join(tmpdir(), '..', 'etc'), join(link, 'sub'), cacheDir, join(cacheDir, 'sessions')];
      const file = writeRecord('crafted', { pid: deadPid(), startTime: '1' }, { tempDirs: crafted });
      const overlays = mkdtempSync(join(root, 'overlays-'));
      const script = [
        'set -e',
        `mount -t tmpfs edgeproof-test "${overlays}"`,
        ...['/etc', homedir()].map((dir, i) => `mkdir ${overlays}/u${i} ${overlays}/w${i} && mount -t overlay overlay -o lowerdir=${dir},upperdir=${overlays}/u${i},workdir=${overlays}/w${i} ${dir}`),
        `before=$(ls -A /etc ${homedir()} | md5sum)`,
        `"${process.execPath}" --import tsx ${sessionOwner} sweep ${cacheDir}`,
        `[ "$before" = "$(ls -A /etc ${homedir()} | md5sum)" ] && echo intact || echo changed`,
      ].join('\n');
      const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { cwd: projectRoot(), encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      const [reportLine, verdict] = result.stdout.trim().split('\n');
      const report = JSON.parse(reportLine!) as Awaited<ReturnType<typeof sweepStaleSessions>>;

      expect(verdict).toBe('intact');
      expect(report.removedDirs).toEqual([]);
      expect(report.errors).toEqual([
        '/etc not removed: it is outside the cache dir CACHE and the temp dir TMP',
        `${homedir()} not removed: it is outside the cache dir CACHE and the temp dir TMP`,
        `${join(tmpdir(), '..', 'etc')} not removed: it is outside the cache dir CACHE and the temp dir TMP`,
        `${join(link, 'sub')} not removed: it is outside the cache dir CACHE and the temp dir TMP`,
        `${cacheDir} not removed: it is or holds the session records`,
        `${join(cacheDir, 'sessions')} not removed: it is or holds the session records`,
        `session crafted: record kept for the next sweep (${file})`,
      ].map((line) => line.replace('CACHE', cacheDir).replace('TMP', tmpdir())));
      expect(readFileSync(join(decoy, 'sub', 'keep'), 'utf8')).toBe('not edgeproof');
      expect(existsSync(file)).toBe(true);
      expect(existsSync(join(cacheDir, 'sessions', 'bystander.json'))).toBe(true);
    } finally {
      // Never left for afterEach's sweep, which runs outside the overlays.
      rmSync(join(cacheDir, 'sessions', 'crafted.json'), { force: true });
      live.close();
      rmSync(decoy, { recursive: true, force: true });
    }
  });
});
