import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { artifactKey } from '../../core/artifact-cache.js';
import { allOrFirstError } from '../../core/concurrency.js';
import { CacheCorruptError, EdgeproofError, describeError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { logger } from '../../core/log.js';

const log = logger('snapshot');

/**
 * Ready clusters kept as QEMU internal snapshots. A snapshot is, per machine,
 * the machine's overlay qcow2 after `savevm` (disk and RAM in one file; its
 * backing file is the cached base disk, by absolute path), plus one metadata
 * file for the cluster: what made it (the key's inputs), the QEMU version and
 * machine model it needs, and the guest-visible settings a restore must
 * repeat (MACs, memory, CPUs, kernel command line). Published like artifacts:
 * written under `<key>.partial`, checksummed, verified, then renamed.
 */

/** The `savevm` tag inside each machine's qcow2. */
export const SNAPSHOT_TAG = 'edgeproof-ready';
export const SNAPSHOT_FORMAT = 1;
export const SNAPSHOT_METADATA = 'edgeproof-snapshot.json';
/** Default size limit of the snapshot cache; `EDGEPROOF_SNAPSHOT_LIMIT` (e.g. `20G`) overrides it. */
export const DEFAULT_SNAPSHOT_LIMIT_BYTES = 16 * 2 ** 30;

const machineSchema = z.object({
  name: z.string().min(1),
  /** File name inside the snapshot dir. */
  file: z.string().regex(/^[\w.-]+\.qcow2$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().positive(),
  /** The cached base disk the overlay is backed by (absolute). */
  backingFile: z.string().startsWith('/'),
  mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
  memoryMiB: z.number().int().positive(),
  cpus: z.number().int().positive().optional(),
  kernelParams: z.array(z.string()),
});

export const snapshotMetadataSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  key: z.string().regex(/^[0-9a-f]{16}$/),
  label: z.string(),
  inputs: z.record(z.unknown()),
  qemu: z.object({ version: z.string().min(1), binary: z.string().min(1), machine: z.string().min(1), cpu: z.string(), accel: z.enum(['kvm', 'tcg']) }),
  createdAt: z.string().datetime(),
  saveMs: z.number().nonnegative(),
  machines: z.array(machineSchema).min(1),
  /** First three octets of the private segment the machines were on (multi-node clusters). */
  privatePrefix: z.string().regex(/^\d+\.\d+\.\d+$/).optional(),
  /** What the layers above recorded at save time and reuse after a restore (e.g. memory baselines). */
  extra: z.record(z.unknown()),
});

export type SnapshotMetadata = z.infer<typeof snapshotMetadataSchema>;
export type SnapshotMachine = z.infer<typeof snapshotMetadataSchema>['machines'][number];

/** What this host would run a restore with: a snapshot made for anything else is refused. */
export interface SnapshotHost {
  version: string;
  binary: string;
  machine: string;
  cpu: string;
  accel: 'kvm' | 'tcg';
}

export interface StoredSnapshot {
  key: string;
  dir: string;
  metadata: SnapshotMetadata;
}

export function snapshotKey(inputs: Record<string, unknown>): string {
  return artifactKey(inputs);
}

/** Parses metadata text; throws saying which field is wrong. */
export function parseSnapshotMetadata(text: string): SnapshotMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EdgeproofError('CACHE_CORRUPT', `snapshot metadata is not JSON: ${describeError(error)}`);
  }
  const parsed = snapshotMetadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EdgeproofError('CACHE_CORRUPT', `snapshot metadata: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Why a snapshot cannot be restored on this host, or undefined. QEMU refuses
 * a state from another machine type or RAM size itself ("Machine type
 * received is ...", "Size mismatch: ram"), and a state from another QEMU
 * version may load wrongly: both are said here, before any file is copied.
 */
/**
 * The oldest snapshot restored: the cluster in it carries certificates the
 * harness issued for 30 days (src/distros/upstream/pki.ts), and a restored
 * run must finish well inside them.
 */
export const SNAPSHOT_MAX_AGE_DAYS = 25;

export function incompatibility(metadata: SnapshotMetadata, key: string, host: SnapshotHost, now = Date.now()): string | undefined {
  if (metadata.key !== key) return `its key ${metadata.key} is not the requested ${key}`;
  const ageDays = (now - Date.parse(metadata.createdAt)) / 86_400_000;
  if (ageDays > SNAPSHOT_MAX_AGE_DAYS) return `it is ${Math.floor(ageDays)} days old; the certificates of the cluster in it are valid for 30 days, snapshots for ${SNAPSHOT_MAX_AGE_DAYS}`;
  const q = metadata.qemu;
  if (q.binary !== host.binary) return `it was made by ${q.binary}, this cluster runs on ${host.binary}`;
  if (q.version !== host.version) return `it was made by QEMU ${q.version}, this host has QEMU ${host.version}`;
  if (q.machine !== host.machine || q.cpu !== host.cpu) return `it was made for machine ${q.machine} (cpu ${q.cpu || 'default'}), this board is ${host.machine} (cpu ${host.cpu || 'default'})`;
  if (q.accel !== host.accel) return `it was saved under ${q.accel}, this host runs ${host.accel}`;
  const lost = metadata.machines.find((m) => !existsSync(m.backingFile));
  if (lost) return `the base disk it is backed by is gone (${lost.backingFile})`;
  return undefined;
}

/** Bytes from `limit` text such as `16G`, `500M`, `0` (0: keep none). */
export function parseSizeLimit(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!match) throw new EdgeproofError('USAGE', `EDGEPROOF_SNAPSHOT_LIMIT="${text}" is not a size`, { hint: 'use e.g. 20G, 8192M or 0' });
  const power = ' KMGT'.indexOf((match[2] || ' ').toUpperCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

export function snapshotLimitBytes(env: NodeJS.ProcessEnv = process.env): number {
  return env.EDGEPROOF_SNAPSHOT_LIMIT ? parseSizeLimit(env.EDGEPROOF_SNAPSHOT_LIMIT) : DEFAULT_SNAPSHOT_LIMIT_BYTES;
}

/** Copies a file and hashes what was read, in one pass. */
export async function copyHashed(source: string, target: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(createReadStream(source, { highWaterMark: 8 << 20 }), tap, createWriteStream(target, { mode: 0o600 }), ...(signal ? [{ signal }] : []));
  return { sha256: hash.digest('hex'), bytes };
}

/** The internal snapshot tags a qcow2 file holds (qemu-img snapshot -l). */
export async function snapshotTags(file: string): Promise<string[]> {
  const { stdout } = await hostRun('qemu-img', ['snapshot', '-l', '-U', file]);
  return stdout
    .split('\n')
    .slice(2)
    .map((line) => line.trim().split(/\s+/)[1] ?? '')
    .filter(Boolean);
}

export interface SnapshotEntry {
  key: string;
  dir: string;
  sizeBytes: number;
  label: string;
  createdAt?: string;
  lastUsed?: string;
  complete: boolean;
}

/**
 * What a lookup found: a usable snapshot; or `refused` with the proof that
 * the one there can never be restored (it was deleted); or `unavailable`
 * with why it could not be looked at now (it was kept); or nothing.
 */
export interface FoundSnapshot {
  snapshot?: StoredSnapshot;
  refused?: string;
  unavailable?: string;
}

/**
 * Every store operation holds `<cache>/snapshots.lock` (proper-lockfile,
 * across processes): a waiter retries for about three minutes, long enough
 * for another run's save or restore copy; a holder that died is taken over
 * once its lock is a minute stale.
 */
const STORE_LOCK = { retries: { retries: 100, minTimeout: 500, maxTimeout: 2000 }, stale: 60_000, update: 10_000, realpath: false } as const;

/**
 * The snapshots dir under the cache: `<cache>/snapshots/<key>/`. Lookups
 * verify and refuse; publishing is atomic; eviction keeps the dir under its
 * size limit, least recently used first. A snapshot is deleted only on proof
 * that it can never be restored, and the log says which proof.
 */
export class SnapshotStore {
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly limitBytes = snapshotLimitBytes(),
  ) {
    this.root = join(cacheDir, 'snapshots');
  }

  dir(key: string): string {
    return join(this.root, key);
  }

  /**
   * The snapshot for `key` if it is there, complete and made for this host.
   * One that proves unusable (corrupt metadata, a missing or truncated file,
   * made for another host, too old, its base disk gone) is deleted; one that
   * cannot be read now (an I/O error, the store busy) is kept.
   */
  async find(key: string, host: SnapshotHost): Promise<FoundSnapshot> {
    try {
      return await this.#exclusive(`look up ${key}`, () => {
        const inspected = this.#inspect(key, host);
        if (inspected.proof) this.#remove(key, inspected.proof);
        return inspected.proof ? { refused: inspected.proof } : inspected.snapshot ? { snapshot: inspected.snapshot } : {};
      });
    } catch (error) {
      log('snapshot %s unavailable, kept: %s', key, describeError(error));
      return { unavailable: describeError(error) };
    }
  }

  /**
   * Copies every machine's disk out of the snapshot to `targets` (in the
   * metadata's order), checking each checksum on the way, and marks the
   * snapshot used. A file that does not match its checksum is proof of
   * corruption: the snapshot is deleted and CacheCorruptError thrown. On any
   * failure the copies are removed: they are never started. The lock is held
   * throughout, so no other run removes or replaces the snapshot mid-copy.
   */
  async restoreDisks(snapshot: StoredSnapshot, targets: string[], signal?: AbortSignal): Promise<void> {
    const { key, metadata } = snapshot;
    await this.#exclusive(`restore ${key}`, async () => {
      this.#confirmUnchanged(snapshot);
      try {
        const copies = await allOrFirstError(metadata.machines.map((m, index) => copyHashed(join(snapshot.dir, m.file), targets[index]!, signal)));
        const corrupt = metadata.machines.find((m, index) => copies[index]!.sha256 !== m.sha256);
        if (corrupt) {
          const proof = `${corrupt.file} does not match its checksum`;
          this.#remove(key, proof);
          throw new CacheCorruptError(`snapshot ${key} (${metadata.label})`, proof);
        }
      } catch (error) {
        for (const target of targets) rmSync(target, { force: true });
        throw error;
      }
      this.#touch(key);
    });
  }

  /**
   * Deletes `snapshot` for `proof` (e.g. QEMU refused its saved state), if it
   * is still the one stored under its key: another run may have replaced it
   * since. Returns whether it was deleted.
   */
  async discard(snapshot: StoredSnapshot, proof: string): Promise<boolean> {
    return this.#exclusive(`discard ${snapshot.key}`, () => {
      if (!this.#isUnchanged(snapshot)) return false;
      this.#remove(snapshot.key, proof);
      return true;
    });
  }

  /**
   * Publishes a snapshot: `write(partialDir)` fills `<key>.partial` with the
   * machines' files and returns the metadata; every file is verified (size,
   * checksum, the tag inside) before the metadata is written and the dir
   * renamed, so an interrupted save never leaves a restorable snapshot.
   */
  async publish(key: string, write: (partialDir: string) => Promise<SnapshotMetadata>): Promise<StoredSnapshot> {
    return this.#exclusive(`save ${key}`, async () => {
      const partial = `${this.dir(key)}.partial`;
      try {
        rmSync(partial, { recursive: true, force: true });
        mkdirSync(partial, { recursive: true, mode: 0o700 });
        const metadata = snapshotMetadataSchema.parse(await write(partial));
        await verifyFiles(partial, metadata);
        writeFileSync(join(partial, SNAPSHOT_METADATA), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
        rmSync(this.dir(key), { recursive: true, force: true });
        renameSync(partial, this.dir(key));
        return { key, dir: this.dir(key), metadata };
      } finally {
        rmSync(partial, { recursive: true, force: true });
      }
    });
  }

  /** Deletes the snapshot under `key` (asked for: `why` is logged); returns the bytes freed. */
  async remove(key: string, why = 'asked to'): Promise<number> {
    return this.#exclusive(`remove ${key}`, () => this.#remove(key, why));
  }

  /** Deletes every snapshot and interrupted save (`edgeproof clean --snapshots`); returns the bytes freed. */
  async clear(): Promise<number> {
    if (!existsSync(this.root)) return 0;
    return this.#exclusive('remove all', () => {
      const bytes = this.list().reduce((sum, entry) => sum + entry.sizeBytes, 0);
      rmSync(this.root, { recursive: true, force: true });
      return bytes;
    });
  }

  /** What the dir holds; read without the lock (a listing), so a save in progress shows as incomplete. */
  list(): SnapshotEntry[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => this.#describe(entry.name));
  }

  /**
   * Deletes complete snapshots, least recently used first, until the dir is
   * within the limit; `keep` (the one just made or restored) is never evicted.
   * Returns the keys removed.
   */
  async evict(keep?: string): Promise<string[]> {
    return this.#exclusive('evict', () => {
      const entries = this.list().filter((e) => e.complete);
      let total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
      const removed: string[] = [];
      const oldestFirst = entries.filter((e) => e.key !== keep).sort((a, b) => (a.lastUsed ?? '').localeCompare(b.lastUsed ?? ''));
      for (const entry of oldestFirst) {
        if (total <= this.limitBytes) break;
        total -= this.#remove(entry.key, `over the size limit of ${this.limitBytes} bytes, least recently used`);
        removed.push(entry.key);
      }
      return removed;
    });
  }

  /** Runs `fn` holding the store's lock; not reentrant: `fn` uses the unlocked `#` methods only. */
  async #exclusive<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    mkdirSync(this.cacheDir, { recursive: true });
    const onCompromised = (error: Error) => log('snapshot store lock lost during %s: %s', what, error.message);
    const release = await lockfile.lock(this.root, { ...STORE_LOCK, onCompromised }).catch((error: unknown) => {
      throw new EdgeproofError('CACHE_BUSY', `snapshot store ${this.root}: could not ${what}, another edgeproof process kept it locked (${describeError(error)})`, {
        cause: error,
        hint: 'another run or `edgeproof clean` is saving, restoring or removing snapshots; try again when it is done',
      });
    });
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** Reads the snapshot under `key`: usable, or the proof it never will be. Throws on I/O errors (proof of nothing). */
  #inspect(key: string, host: SnapshotHost): { snapshot?: StoredSnapshot; proof?: string } {
    const dir = this.dir(key);
    const text = readIfPresent(join(dir, SNAPSHOT_METADATA));
    if (text === undefined) return {};
    let metadata: SnapshotMetadata;
    try {
      metadata = parseSnapshotMetadata(text);
    } catch (error) {
      return { proof: describeError(error) };
    }
    const missing = metadata.machines.find((m) => statSizeOrZero(join(dir, m.file)) !== m.sizeBytes);
    const proof = incompatibility(metadata, key, host) ?? (missing ? `${missing.file} is missing or has the wrong size` : undefined);
    return proof ? { proof } : { snapshot: { key, dir, metadata } };
  }

  /** The snapshot found earlier is still the one stored (no other run replaced or removed it since). */
  #isUnchanged(snapshot: StoredSnapshot): boolean {
    const text = readIfPresent(join(snapshot.dir, SNAPSHOT_METADATA));
    if (text === undefined) return false;
    try {
      const stored = parseSnapshotMetadata(text);
      return stored.createdAt === snapshot.metadata.createdAt && stored.machines.every((m, i) => m.sha256 === snapshot.metadata.machines[i]?.sha256);
    } catch {
      return false;
    }
  }

  #confirmUnchanged(snapshot: StoredSnapshot): void {
    if (!this.#isUnchanged(snapshot)) {
      throw new EdgeproofError('CACHE_BUSY', `snapshot ${snapshot.key} was removed or replaced by another edgeproof process after this run found it`);
    }
  }

  #remove(key: string, why: string): number {
    const dir = this.dir(key);
    const bytes = sizeOfDir(dir);
    rmSync(dir, { recursive: true, force: true });
    log('deleted snapshot %s: %s', key, why);
    return bytes;
  }

  /** Marks a snapshot used now (the LRU order). */
  #touch(key: string): void {
    const now = new Date();
    utimesSync(join(this.dir(key), SNAPSHOT_METADATA), now, now);
  }

  #describe(name: string): SnapshotEntry {
    const dir = join(this.root, name);
    const key = name.replace(/\.partial$/, '');
    const base = { key, dir, sizeBytes: sizeOfDir(dir) };
    const file = join(dir, SNAPSHOT_METADATA);
    if (name.endsWith('.partial') || !existsSync(file)) return { ...base, label: '(incomplete: being saved or interrupted)', complete: false };
    try {
      const lastUsed = statSync(file).mtime.toISOString();
      try {
        const metadata = JSON.parse(readFileSync(file, 'utf8')) as Partial<SnapshotMetadata>;
        return { ...base, label: metadata.label ?? '(no label)', ...(metadata.createdAt ? { createdAt: metadata.createdAt } : {}), lastUsed, complete: true };
      } catch {
        return { ...base, label: '(unreadable metadata)', lastUsed, complete: true };
      }
    } catch {
      // Removed by another process while listing.
      return { ...base, label: '(being removed)', complete: false };
    }
  }
}

/** Before publishing: each file has its size and checksum and holds the tag. */
async function verifyFiles(dir: string, metadata: SnapshotMetadata): Promise<void> {
  for (const machine of metadata.machines) {
    const path = join(dir, machine.file);
    if (statSizeOrZero(path) !== machine.sizeBytes) throw new EdgeproofError('INTERNAL', `snapshot file ${machine.file} has ${statSizeOrZero(path)} bytes, expected ${machine.sizeBytes}`);
    const sum = await sha256Of(path);
    if (sum !== machine.sha256) throw new EdgeproofError('INTERNAL', `snapshot file ${machine.file} changed while it was being saved`);
    const tags = await snapshotTags(path);
    if (!tags.includes(SNAPSHOT_TAG)) throw new EdgeproofError('INTERNAL', `snapshot file ${machine.file} holds no "${SNAPSHOT_TAG}" state (tags: ${tags.join(', ') || 'none'})`);
  }
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 8 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** The file's text, or undefined when it does not exist; other read errors are thrown. */
function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function statSizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function sizeOfDir(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).blocks * 512, 0);
  } catch {
    return 0;
  }
}
