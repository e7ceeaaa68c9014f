import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from './log.js';

const log = logger('reaper');

/**
 * Crash safety in the manner of testcontainers' reaper: each run keeps a
 * record of what it made (QEMU pidfiles, temp dirs, containers, networks).
 * At the next start, records whose owner process is gone are swept.
 */
export interface SessionResources {
  /** QEMU (or other) processes: pid plus a marker that must appear in its cmdline. */
  processes: { pid: number; marker: string }[];
  tempDirs: string[];
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
  startedAt: string;
  resources: SessionResources;
}

function sessionsDir(cacheDir: string): string {
  return join(cacheDir, 'sessions');
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

export class Session {
  readonly record: SessionRecord;
  readonly #file: string;

  constructor(cacheDir: string, id: string) {
    mkdirSync(sessionsDir(cacheDir), { recursive: true });
    this.#file = join(sessionsDir(cacheDir), `${id}.json`);
    this.record = {
      id,
      ownerPid: process.pid,
      ownerStartTime: processStartTime(process.pid) ?? '',
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

  /** The run ended cleanly: nothing left to sweep. */
  close(): void {
    rmSync(this.#file, { force: true });
  }

  #save(): void {
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.record, null, 2), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

export interface SweepReport {
  sessions: string[];
  killed: number[];
  removedDirs: string[];
  containers: string[];
  networks: string[];
  errors: string[];
}

/** Removes a stale session's containers, networks, node cgroups and bridge fences; returns what could not be removed. */
export type ContainerSweeper = (resources: Pick<SessionResources, 'containers' | 'networks' | 'cgroupDirs' | 'bridgeFences'>) => Promise<string[]>;

function ownerAlive(record: SessionRecord): boolean {
  const start = processStartTime(record.ownerPid);
  return start !== undefined && start === record.ownerStartTime;
}

/** Sweeps every session whose owner is dead. `EDGEPROOF_REAPER=off` disables it for debugging. */
export async function sweepStaleSessions(cacheDir: string, sweepContainers?: ContainerSweeper): Promise<SweepReport> {
  const report: SweepReport = { sessions: [], killed: [], removedDirs: [], containers: [], networks: [], errors: [] };
  if (process.env.EDGEPROOF_REAPER === 'off') return report;
  const dir = sessionsDir(cacheDir);
  if (!existsSync(dir)) return report;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const file = join(dir, name);
    let record: SessionRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as SessionRecord;
    } catch (error) {
      report.errors.push(`unreadable session record ${file}: ${(error as Error).message}; removed`);
      rmSync(file, { force: true });
      continue;
    }
    if (ownerAlive(record)) continue;
    log('sweeping session %s (owner %d gone)', record.id, record.ownerPid);
    report.sessions.push(record.id);
    for (const { pid, marker } of record.resources.processes) {
      const cmdline = processCmdline(pid);
      if (cmdline?.includes(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
          report.killed.push(pid);
        } catch (error) {
          report.errors.push(`kill ${pid}: ${(error as Error).message}`);
        }
      }
    }
    for (const temp of record.resources.tempDirs) {
      if (existsSync(temp)) {
        rmSync(temp, { recursive: true, force: true });
        report.removedDirs.push(temp);
      }
    }
    const { containers, networks, cgroupDirs = [], bridgeFences = [] } = record.resources;
    if (sweepContainers && (containers.length || networks.length || cgroupDirs.length || bridgeFences.length)) {
      report.errors.push(...(await sweepContainers({ containers, networks, cgroupDirs, bridgeFences })));
      report.containers.push(...record.resources.containers);
      report.networks.push(...record.resources.networks);
    }
    rmSync(file, { force: true });
  }
  return report;
}
