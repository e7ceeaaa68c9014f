import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore, type SnapshotEntry } from '../emulation/qemu/machine-snapshot.js';
import { formatAge, formatBytes, renderTable } from './format.js';

/** What the cache dir holds: built artifacts (with their manifests) and the build caches beside them. */
export interface CachedArtifact {
  kind: string;
  key: string;
  label: string;
  dir: string;
  sizeBytes: number;
  createdAt?: string;
  /** mtime of the manifest: ensureArtifact touches it on every use. */
  lastUsed?: string;
  /** false for a build that is running or was interrupted (no manifest yet). */
  complete: boolean;
}

export interface CacheArea {
  name: string;
  what: string;
  path: string;
  sizeBytes: number;
}

export interface CacheListing {
  cacheDir: string;
  artifacts: CachedArtifact[];
  /** Ready clusters saved by QEMU runs (see SnapshotStore), with their size limit. */
  snapshots: SnapshotEntry[];
  snapshotLimitBytes: number;
  areas: CacheArea[];
  totalBytes: number;
}

export const ARTIFACT_MANIFEST = 'edgeproof-artifact.json';

/** Caches beside the artifacts, relative to the cache dir; `clean --cache` deletes these too. */
export const BUILD_CACHE_AREAS = [
  { name: 'src/kubernetes', what: 'Kubernetes source tree' },
  { name: 'go-build', what: 'Go build cache' },
] as const;

const SCRATCH_AREA = { name: 'tmp', what: 'scratch of running or crashed runs' } as const;

export function listCache(cacheDir: string): CacheListing {
  const artifacts = listArtifacts(join(cacheDir, 'artifacts'));
  const areas = [...BUILD_CACHE_AREAS, SCRATCH_AREA]
    .map(({ name, what }) => ({ name, what, path: join(cacheDir, name) }))
    .filter((area) => existsSync(area.path))
    .map((area) => ({ ...area, sizeBytes: sizeOnDisk(area.path) }));
  const store = new SnapshotStore(cacheDir);
  const snapshots = store.list().sort((a, b) => (b.lastUsed ?? '').localeCompare(a.lastUsed ?? ''));
  const totalBytes = [...artifacts, ...snapshots, ...areas].reduce((sum, item) => sum + item.sizeBytes, 0);
  return { cacheDir, artifacts, snapshots, snapshotLimitBytes: store.limitBytes, areas, totalBytes };
}

function listArtifacts(root: string): CachedArtifact[] {
  return subdirectories(root)
    .filter((kind) => !kind.endsWith('.lock'))
    .flatMap((kind) => subdirectories(join(root, kind)).map((entry) => describeArtifact(kind, join(root, kind, entry), entry)))
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label));
}

function describeArtifact(kind: string, dir: string, entry: string): CachedArtifact {
  const manifestPath = join(dir, ARTIFACT_MANIFEST);
  const base = { kind, key: entry.replace(/\.(partial|work)$/, ''), dir, sizeBytes: sizeOnDisk(dir) };
  if (!existsSync(manifestPath)) return { ...base, label: '(incomplete: build running or interrupted)', complete: false };
  const lastUsed = statSync(manifestPath).mtime.toISOString();
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { label?: string; createdAt?: string };
    return { ...base, label: manifest.label ?? '(no label)', createdAt: manifest.createdAt, lastUsed, complete: true };
  } catch {
    return { ...base, label: '(unreadable manifest)', lastUsed, complete: true };
  }
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** Bytes allocated on disk (sparse disk images count what they use), symlinks not followed. */
export function sizeOnDisk(path: string): number {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return 0;
  }
  const own = stat.blocks * 512;
  if (!stat.isDirectory()) return own;
  let entries: string[] = [];
  try {
    entries = readdirSync(path);
  } catch {
    return own;
  }
  return entries.reduce((sum, name) => sum + sizeOnDisk(join(path, name)), own);
}

const CACHE_COLUMNS = ['kind', 'key', 'size', 'age', 'last used', 'label'];

function cacheRow(kind: string, entry: { key: string; sizeBytes: number; createdAt?: string; lastUsed?: string; label: string }, now: Date): string[] {
  const age = (iso: string | undefined) => (iso ? formatAge(new Date(iso), now) : undefined);
  return [kind, entry.key, formatBytes(entry.sizeBytes), age(entry.createdAt) ?? '-', entry.lastUsed ? `${age(entry.lastUsed)} ago` : '-', entry.label];
}

export function renderCacheListing(listing: CacheListing, now = new Date()): string {
  const lines = [`Cache ${listing.cacheDir}: ${formatBytes(listing.totalBytes)}`];
  if (listing.artifacts.length === 0 && listing.areas.length === 0 && listing.snapshots.length === 0) return `${lines[0]} (empty)`;
  if (listing.artifacts.length > 0) {
    lines.push(renderTable(CACHE_COLUMNS, listing.artifacts.map((a) => cacheRow(a.kind, a, now)), '  '));
  }
  if (listing.snapshots.length > 0) {
    const used = listing.snapshots.reduce((sum, s) => sum + s.sizeBytes, 0);
    lines.push(`  snapshots: ${formatBytes(used)} of ${formatBytes(listing.snapshotLimitBytes)} (EDGEPROOF_SNAPSHOT_LIMIT; least recently used evicted; edgeproof clean --snapshots)`);
    lines.push(renderTable(CACHE_COLUMNS, listing.snapshots.map((s) => cacheRow('snapshot', s, now)), '  '));
  }
  for (const area of listing.areas) lines.push(`  ${area.name}: ${formatBytes(area.sizeBytes)} (${area.what})`);
  return lines.join('\n');
}
