import { existsSync, lstatSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { EdgeproofError } from '../core/errors.js';
import { isStrictlyInside, projectRoot } from '../core/paths.js';
import { readSessions, sweepStaleSessions, type SessionRecord, type SweepReport } from '../core/session.js';
import { sweepContainers } from '../emulation/container/docker-engine.js';
import { SnapshotStore } from '../emulation/qemu/machine-snapshot.js';
import { BUILD_CACHE_AREAS, sizeOnDisk } from './cache-listing.js';
import { EXIT } from '../core/exit-codes.js';
import { formatBytes } from './format.js';

export interface CleanOptions {
  cacheDir: string;
  reportsDir: string;
  /** Also delete built artifacts and build caches. */
  cache: boolean;
  /** Also delete the runs in the reports dir. */
  reports: boolean;
  /** Also delete the saved Ready clusters (implied by `cache`). */
  snapshots?: boolean;
}

type Print = (line: string) => void;

/**
 * `edgeproof clean`: sweeps stale sessions (what crashed runs left), orphaned
 * scratch, and on request the cache and the reports. Deletes nothing outside
 * the cache dir and the reports dir.
 */
export async function cleanCommand(options: CleanOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const print: Print = (line) => out.write(`${line}\n`);
  refuseDangerousRoot(options.cacheDir, 'cache dir');
  if (options.reports) refuseDangerousRoot(options.reportsDir, 'reports dir');
  const sweep = await sweepStaleSessions(options.cacheDir, sweepContainers);
  printSweep(sweep, print);
  const live = liveSessions(options.cacheDir);
  let freed = removeOrphanScratch(options.cacheDir, live, print);
  // Something asked for and not removed is the command failing to do its job (3), not a verdict.
  let exitCode: number = sweep.errors.length ? EXIT.error : EXIT.ok;
  if (options.cache || options.snapshots) {
    if (live.length > 0) {
      print(`Cache kept: in use by running session(s) ${live.map((s) => `${s.id} (pid ${s.ownerPid})`).join(', ')}; stop them first.`);
      exitCode = EXIT.error;
    } else {
      if (options.snapshots || options.cache) freed += await removeSnapshots(options.cacheDir, print);
      if (options.cache) freed += removeCache(options.cacheDir, print);
    }
  }
  if (options.reports) freed += removeReports(options.reportsDir, print);
  print(`Freed ${formatBytes(freed)}.`);
  return exitCode;
}

function printSweep(report: SweepReport, print: Print): void {
  if (process.env.EDGEPROOF_REAPER === 'off') print('Stale sessions: not swept (EDGEPROOF_REAPER=off).');
  else if (report.sessions.length === 0) print('Stale sessions: none.');
  else print(`Stale sessions swept: ${report.sessions.join(', ')}`);
  if (report.killed.length) print(`  killed processes: ${report.killed.join(', ')}`);
  for (const dir of report.removedDirs) print(`  removed ${dir}`);
  if (report.containers.length) print(`  containers: ${report.containers.join(', ')}`);
  if (report.networks.length) print(`  networks: ${report.networks.join(', ')}`);
  for (const error of report.errors) print(`  problem: ${error}`);
}

/** Sessions whose owner is running, or not provably gone (left in place by the sweep): their cache is in use. */
function liveSessions(cacheDir: string): SessionRecord[] {
  return readSessions(cacheDir).filter((session) => session.owner !== 'dead').map((session) => session.record);
}

/** `<cache>/tmp/<runId>` of runs that are no longer running. */
function removeOrphanScratch(cacheDir: string, live: SessionRecord[], print: Print): number {
  const scratch = join(cacheDir, 'tmp');
  if (!existsSync(scratch)) return 0;
  const liveIds = new Set(live.map((session) => session.id));
  return readdirSync(scratch)
    .filter((name) => !liveIds.has(name))
    .reduce((sum, name) => sum + removeInside(join(scratch, name), cacheDir, print, 'orphaned scratch'), 0);
}

/** Under the snapshot store's lock: never while a run saves or restores one. */
async function removeSnapshots(cacheDir: string, print: Print): Promise<number> {
  const store = new SnapshotStore(cacheDir);
  const freed = await store.clear();
  if (freed === 0) print('Snapshots: nothing to delete.');
  else print(`  removed snapshots ${store.root} (${formatBytes(freed)})`);
  return freed;
}

function removeCache(cacheDir: string, print: Print): number {
  const areas = ['artifacts', ...BUILD_CACHE_AREAS.map((area) => area.name)];
  const freed = areas.reduce((sum, area) => sum + removeInside(join(cacheDir, area), cacheDir, print, 'cache'), 0);
  removeIfEmpty(join(cacheDir, 'src'));
  if (freed === 0) print('Cache: nothing to delete.');
  return freed;
}

/**
 * Deletes the runs in the reports dir: directories holding events.jsonl or
 * result.json, and symlinks (e.g. `latest`). Anything else is left and named.
 */
function removeReports(reportsDir: string, print: Print): number {
  if (!existsSync(reportsDir)) {
    print(`Reports: ${reportsDir} does not exist.`);
    return 0;
  }
  let freed = 0;
  for (const name of readdirSync(reportsDir)) {
    const path = join(reportsDir, name);
    if (isRunDirectory(path) || lstatSync(path).isSymbolicLink()) freed += removeInside(path, reportsDir, print, 'report');
    else print(`  kept ${path} (not an edgeproof run)`);
  }
  removeIfEmpty(reportsDir);
  return freed;
}

function isRunDirectory(path: string): boolean {
  return lstatSync(path).isDirectory() && (existsSync(join(path, 'events.jsonl')) || existsSync(join(path, 'result.json')));
}

export { isStrictlyInside };

/** Removes `path`, which must lie strictly inside `root`; returns the bytes freed. */
export function removeInside(path: string, root: string, print: Print, what: string): number {
  if (!isStrictlyInside(path, root)) throw new EdgeproofError('INTERNAL', `Refusing to delete ${path}: it is outside ${root}`);
  if (!existsSync(path) && !isSymlink(path)) return 0;
  const bytes = sizeOnDisk(path);
  rmSync(path, { recursive: true, force: true });
  print(`  removed ${what} ${path} (${formatBytes(bytes)})`);
  return bytes;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // absent or not empty: keep it
  }
}

/** A cache or reports dir that is /, home, the project, or one of their parents would take too much with it. */
export function refuseDangerousRoot(dir: string, what: string): void {
  const target = resolve(dir);
  const precious = ['/', homedir(), projectRoot()];
  const hit = precious.find((place) => target === resolve(place) || isStrictlyInside(place, target));
  if (hit) {
    throw new EdgeproofError('USAGE', `Refusing to clean the ${what} ${target}: it is or contains ${hit}`, {
      hint: `point it at a dedicated directory (--${what === 'cache dir' ? 'cache' : 'reports'}-dir)`,
    });
  }
}

