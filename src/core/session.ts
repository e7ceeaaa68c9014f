import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { EdgeproofError, describeError } from './errors.js';
import { FileLock } from './file-lock.js';
import { logger } from './log.js';
import { isStrictlyInside } from './paths.js';

const log = logger('reaper');

/**
 * Crash safety in the manner of testcontainers' reaper: each run keeps a
 * record of what it made (QEMU pidfiles, temp dirs, containers, networks) and
 * holds a lock beside it while it lives. At the next start, records whose
 * owner is provably gone are swept.
 */
export interface SessionResources {
  /** QEMU (or other) processes: pid plus a marker that must appear in its cmdline. */
  processes: { pid: number; marker: string }[];
  tempDirs: string[];
  /** Names (or ids) of the node containers; the sweep also finds them by their session label. */
  containers: string[];
  networks: string[];
  /** Cgroup subtrees (relative to each v1 controller) that node containers made in the host's tree before they had their own cgroup namespace; still swept from older records. */
  cgroupDirs?: string[];
  /** Labelled firewall rules that drop what a node bridge sends the host (per tool), removed after the containers. */
  bridgeFences?: { tool: 'iptables' | 'ip6tables'; bridge: string }[];
}

export interface SessionRecord {
  id: string;
  ownerPid: number;
  ownerStartTime: string;
  /** The kernel's boot id: a pid and its start time name one process within one boot only. */
  bootId?: string;
  /** The owner's PID namespace (`pid:[4026531836]`): in another one its pids name other processes, or none. */
  pidNamespace?: string;
  startedAt: string;
  resources: SessionResources;
}

const recordSchema = z.object({
  id: z.string(),
  ownerPid: z.number().int(),
  ownerStartTime: z.string(),
  bootId: z.string().optional(),
  pidNamespace: z.string().optional(),
  startedAt: z.string(),
  resources: z.object({
    processes: z.array(z.object({ pid: z.number().int().positive(), marker: z.string() })),
    tempDirs: z.array(z.string()),
    containers: z.array(z.string()),
    networks: z.array(z.string()),
    cgroupDirs: z.array(z.string()).optional(),
    bridgeFences: z.array(z.object({ tool: z.enum(['iptables', 'ip6tables']), bridge: z.string() })).optional(),
  }),
});

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function sessionsDir(cacheDir: string): string {
  return join(cacheDir, 'sessions');
}

function recordFile(dir: string, id: string): string {
  return join(dir, `${id}.json`);
}

function lockFile(dir: string, id: string): string {
  return join(dir, `${id}.lock`);
}

/** Start time of a process from /proc (guards against pid reuse), or undefined if it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function processCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** This boot's id, from the kernel ('' where there is none). */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** This process's PID namespace, e.g. `pid:[4026531836]` ('' where there is none). */
export function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

export class Session {
  readonly record: SessionRecord;
  readonly #file: string;
  readonly #lockFile: string;
  readonly #lock: FileLock | undefined;

  constructor(cacheDir: string, id: string) {
    if (!SESSION_ID.test(id)) throw new EdgeproofError('INTERNAL', `Session id ${JSON.stringify(id)} is not a file name`);
    const dir = sessionsDir(cacheDir);
    mkdirSync(dir, { recursive: true });
    this.#file = recordFile(dir, id);
    this.#lockFile = lockFile(dir, id);
    // Locked before the record exists: a sweep never finds this record with its lock free while this process lives.
    this.#lock = createLocked(this.#lockFile);
    this.record = {
      id,
      ownerPid: process.pid,
      ownerStartTime: processStartTime(process.pid) ?? '',
      bootId: bootId(),
      pidNamespace: pidNamespace(),
      startedAt: new Date().toISOString(),
      resources: { processes: [], tempDirs: [], containers: [], networks: [], cgroupDirs: [] },
    };
    this.#save();
  }

  track<K extends keyof SessionResources>(kind: K, item: NonNullable<SessionResources[K]>[number]): void {
    const list = (this.record.resources[kind] ??= []) as unknown[];
    if (!list.includes(item)) list.push(item);
    this.#save();
  }

  untrack<K extends keyof SessionResources>(kind: K, match: (item: NonNullable<SessionResources[K]>[number]) => boolean): void {
    const list = (this.record.resources[kind] ?? []) as NonNullable<SessionResources[K]>[number][];
    (this.record.resources[kind] as unknown[]) = list.filter((item) => !match(item));
    this.#save();
  }

  /** The run ended cleanly: nothing left to sweep. The lock goes last, so no sweep sees a record without it. */
  close(): void {
    rmSync(this.#file, { force: true });
    rmSync(this.#lockFile, { force: true });
    this.#lock?.release();
  }

  #save(): void {
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.record, null, 2), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

/**
 * Creates `path` already locked (locked under a temporary name, then renamed),
 * so it never exists unlocked while this process lives. Without flock(1) the
 * session runs unlocked: then only a sweep in this boot and PID namespace can
 * prove it dead, by its pid.
 */
function createLocked(path: string): FileLock | undefined {
  const pending = `${path}.${process.pid}.tmp`;
  writeFileSync(pending, '', { mode: 0o600 });
  let lock: FileLock | 'busy' | undefined;
  try {
    lock = FileLock.tryAcquire(pending);
    if (lock === 'busy') throw new EdgeproofError('INTERNAL', `${pending} was locked by another process`);
    renameSync(pending, path);
    return lock;
  } catch (error) {
    if (lock instanceof FileLock) lock.release();
    rmSync(pending, { force: true });
    log('session lock %s not held: %s', path, describeError(error));
    return undefined;
  }
}

export interface SweepReport {
  sessions: string[];
  killed: number[];
  removedDirs: string[];
  containers: string[];
  networks: string[];
  /** What could not be removed or proven; a session with any of these keeps its record for the next sweep. */
  errors: string[];
}

/** What a container sweep removed, and what it could not. */
export interface ContainerSweep {
  containers: string[];
  networks: string[];
  errors: string[];
}

/** Removes a dead session's containers and networks (by its session label too), its node cgroups and bridge fences. */
export type ContainerSweeper = (sessionId: string, resources: Pick<SessionResources, 'containers' | 'networks' | 'cgroupDirs' | 'bridgeFences'>) => Promise<ContainerSweep>;

export type OwnerState = 'alive' | 'dead' | 'unproven';

interface Judgement {
  owner: OwnerState;
  /** Why an owner is unproven. */
  reason?: string;
  /** The dead session's lock, now held by the sweep (so two sweeps never sweep one session). */
  lock?: FileLock;
}

/** Whether the record's owner ran in this boot and this PID namespace, where its pid means something. */
function ownedHere(record: SessionRecord): boolean {
  const here = bootId();
  return here !== '' && record.bootId === here && record.pidNamespace === pidNamespace();
}

function ownerProcessAlive(record: SessionRecord): boolean {
  const start = processStartTime(record.ownerPid);
  return start !== undefined && start === record.ownerStartTime;
}

/**
 * Provably alive, provably dead, or neither. The lock decides when there is
 * one: held is alive, free is dead (the kernel drops a lock with its
 * process). Without a lock, the owner is dead only when it ran in this boot
 * and PID namespace and its pid with that start time is gone.
 */
function judgeOwner(dir: string, record: SessionRecord): Judgement {
  const lock = tryLock(lockFile(dir, record.id));
  if (lock === 'busy') return { owner: 'alive' };
  if (ownedHere(record) && ownerProcessAlive(record)) {
    if (lock instanceof FileLock) lock.release();
    return { owner: 'alive' };
  }
  if (lock instanceof FileLock) return { owner: 'dead', lock };
  if (lock === 'absent' && ownedHere(record)) return { owner: 'dead' };
  const reason = lock === 'absent' ? 'it has no lock, and its owner ran in another boot or PID namespace' : `its lock cannot be tested: ${lock.message}`;
  return { owner: 'unproven', reason };
}

function tryLock(path: string): FileLock | 'busy' | 'absent' | Error {
  try {
    return FileLock.tryAcquire(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : (error as Error);
  }
}

/** The session record stored as `<id>.json`, or why it cannot be used. */
function readRecord(dir: string, id: string): SessionRecord | { unreadable: string } {
  try {
    if (!SESSION_ID.test(id)) return { unreadable: 'its name is not a session id' };
    const parsed = recordSchema.safeParse(JSON.parse(readFileSync(recordFile(dir, id), 'utf8')));
    if (!parsed.success) return { unreadable: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    if (parsed.data.id !== id) return { unreadable: `it names session ${parsed.data.id}` };
    return parsed.data;
  } catch (error) {
    return { unreadable: (error as Error).message };
  }
}

function recordIds(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length));
}

/** Every session record with whether its owner is alive, dead or unproven (a lock is only tested, never kept). */
export function readSessions(cacheDir: string): { record: SessionRecord; owner: OwnerState }[] {
  const dir = sessionsDir(cacheDir);
  if (!existsSync(dir)) return [];
  return recordIds(dir).flatMap((id) => {
    const record = readRecord(dir, id);
    if ('unreadable' in record) return [];
    const { owner, lock } = judgeOwner(dir, record);
    lock?.release();
    return [{ record, owner }];
  });
}

/**
 * Sweeps every session whose owner is provably dead, and says which it left
 * because that cannot be proven. A record goes only once everything in it is
 * removed. `EDGEPROOF_REAPER=off` disables it for debugging.
 */
export async function sweepStaleSessions(cacheDir: string, sweepContainers?: ContainerSweeper): Promise<SweepReport> {
  const report: SweepReport = { sessions: [], killed: [], removedDirs: [], containers: [], networks: [], errors: [] };
  if (process.env.EDGEPROOF_REAPER === 'off') return report;
  const dir = sessionsDir(cacheDir);
  if (!existsSync(dir)) return report;
  for (const id of recordIds(dir)) {
    const record = readRecord(dir, id);
    if ('unreadable' in record) {
      dropUnreadable(dir, id, record.unreadable, report);
      continue;
    }
    const judgement = judgeOwner(dir, record);
    if (judgement.owner === 'unproven') {
      report.errors.push(`session ${id} kept: its owner is not provably gone (${judgement.reason}); delete ${recordFile(dir, id)} once no run uses this cache`);
    }
    if (judgement.owner !== 'dead') continue;
    try {
      await sweepDeadSession(cacheDir, id, report, sweepContainers);
    } finally {
      judgement.lock?.release();
    }
  }
  removeOrphanLocks(dir);
  return report;
}

async function sweepDeadSession(cacheDir: string, id: string, report: SweepReport, sweepContainers?: ContainerSweeper): Promise<void> {
  const dir = sessionsDir(cacheDir);
  // Read again under its lock: the owner may have added to it, or closed it, since.
  const record = readRecord(dir, id);
  if ('unreadable' in record) return;
  log('sweeping session %s (owner %d gone)', id, record.ownerPid);
  report.sessions.push(id);
  const problems: string[] = [];
  if (ownedHere(record)) killMarked(record.resources.processes, report, problems);
  for (const temp of record.resources.tempDirs) removeTempDir(temp, cacheDir, report, problems);
  const { containers, networks, cgroupDirs = [], bridgeFences = [] } = record.resources;
  if (containers.length || networks.length || cgroupDirs.length || bridgeFences.length) {
    if (!sweepContainers) problems.push(`session ${id}: containers, networks, cgroups and bridge fences not swept (no container sweeper)`);
    else {
      const swept = await sweepContainers(id, { containers, networks, cgroupDirs, bridgeFences });
      report.containers.push(...swept.containers);
      report.networks.push(...swept.networks);
      problems.push(...swept.errors);
    }
  }
  report.errors.push(...problems);
  if (problems.length) {
    report.errors.push(`session ${id}: record kept for the next sweep (${recordFile(dir, id)})`);
    return;
  }
  rmSync(recordFile(dir, id), { force: true });
  rmSync(lockFile(dir, id), { force: true });
}

/** Kills the recorded processes whose cmdline still carries their marker (a reused pid does not). */
function killMarked(processes: SessionResources['processes'], report: SweepReport, problems: string[]): void {
  for (const { pid, marker } of processes) {
    if (!marker.trim() || !processCmdline(pid)?.includes(marker)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      report.killed.push(pid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') problems.push(`kill ${pid}: ${(error as Error).message}`);
    }
  }
}

function removeTempDir(path: string, cacheDir: string, report: SweepReport, problems: string[]): void {
  if (!pathExists(path)) return;
  const refusal = refusalToRemove(path, cacheDir);
  if (refusal) {
    problems.push(`${path} not removed: ${refusal}`);
    return;
  }
  try {
    rmSync(path, { recursive: true, force: true });
    report.removedDirs.push(path);
  } catch (error) {
    problems.push(`${path} not removed: ${(error as Error).message}`);
  }
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a sweep must not remove `path`, or undefined when it lies strictly
 * inside the cache dir or the temp dir (symlinks resolved) and neither is
 * nor holds the session records.
 */
export function refusalToRemove(path: string, cacheDir: string): string | undefined {
  const real = realPath(path);
  const sessions = sessionsDir(realPath(cacheDir));
  if (real === sessions || isStrictlyInside(real, sessions) || isStrictlyInside(sessions, real)) return 'it is or holds the session records';
  if ([cacheDir, tmpdir()].some((root) => isStrictlyInside(real, realPath(root)))) return undefined;
  return `it is outside the cache dir ${cacheDir} and the temp dir ${tmpdir()}`;
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** A record that cannot be read describes nothing to sweep: it goes (with its lock), unless a live process holds that lock. */
function dropUnreadable(dir: string, id: string, why: string, report: SweepReport): void {
  const lock = tryLock(lockFile(dir, id));
  if (lock === 'busy') return;
  rmSync(recordFile(dir, id), { force: true });
  if (SESSION_ID.test(id)) rmSync(lockFile(dir, id), { force: true });
  if (lock instanceof FileLock) lock.release();
  report.errors.push(`unreadable session record ${recordFile(dir, id)}: ${why}; removed`);
}

/** A lock without a record is left by an owner that died while closing; it goes once nobody holds it. */
function removeOrphanLocks(dir: string): void {
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.lock'))) {
    const id = name.slice(0, -'.lock'.length);
    if (existsSync(recordFile(dir, id))) continue;
    const lock = tryLock(join(dir, name));
    if (!(lock instanceof FileLock)) continue;
    rmSync(join(dir, name), { force: true });
    lock.release();
  }
}
