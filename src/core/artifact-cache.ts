import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { CacheCorruptError, EdgeproofError, describeError } from './errors.js';
import { logger } from './log.js';
import type { Progress } from './progress.js';

const log = logger('cache');

/**
 * A build product kept in the cache dir, keyed by everything that shaped it,
 * checksummed, verified before use, published atomically (build in a partial
 * dir, checksum, rename), rebuilt when corrupt.
 */
export interface ArtifactSpec {
  /** Folder under the cache: 'kernel', 'rootfs', 'kubernetes', 'disk'... */
  kind: string;
  /** Human label for progress: "Kubernetes v1.20.2 binaries for arm64". */
  label: string;
  /** Every input that shapes the product; the key is their hash. */
  inputs: Record<string, unknown>;
  /** Builds into `outDir`; `workDir` is scratch space removed afterwards. */
  build(outDir: string, workDir: string, signal: AbortSignal): Promise<void>;
}

export interface ArtifactContext {
  cacheDir: string;
  progress: Progress;
  signal: AbortSignal;
  /** Registers scratch dirs with the run's session so a killed run's leftovers are swept. */
  trackTempDir?: (dir: string) => void;
  untrackTempDir?: (dir: string) => void;
}

export interface Artifact {
  dir: string;
  key: string;
  built: boolean;
  manifest: ArtifactManifest;
}

interface ArtifactManifest {
  kind: string;
  label: string;
  key: string;
  inputs: Record<string, unknown>;
  createdAt: string;
  buildMs: number;
  files: Record<string, string>;
}

const MANIFEST = 'edgeproof-artifact.json';

export function artifactKey(inputs: Record<string, unknown>): string {
  return createHash('sha256').update(stableJson(inputs)).digest('hex').slice(0, 16);
}

export function artifactDir(cacheDir: string, spec: Pick<ArtifactSpec, 'kind' | 'inputs'>): string {
  return join(cacheDir, 'artifacts', spec.kind, artifactKey(spec.inputs));
}

export async function ensureArtifact(ctx: ArtifactContext, spec: ArtifactSpec): Promise<Artifact> {
  const key = artifactKey(spec.inputs);
  const dir = artifactDir(ctx.cacheDir, spec);
  const existing = await verifiedManifest(dir, spec.label, ctx.progress);
  if (existing) return touch({ dir, key, built: false, manifest: existing });

  mkdirSync(join(ctx.cacheDir, 'artifacts', spec.kind), { recursive: true });
  const release = await lockfile.lock(join(ctx.cacheDir, 'artifacts', spec.kind), {
    retries: { retries: 1000, minTimeout: 1000, maxTimeout: 5000 },
    stale: 60_000,
    update: 10_000,
    realpath: false,
  });
  try {
    // Another process may have built it while we waited for the lock.
    const raced = await verifiedManifest(dir, spec.label, ctx.progress);
    if (raced) return touch({ dir, key, built: false, manifest: raced });
    return { dir, key, built: true, manifest: await buildArtifact(ctx, spec, dir, key) };
  } finally {
    await release().catch(() => undefined);
  }
}

async function buildArtifact(ctx: ArtifactContext, spec: ArtifactSpec, dir: string, key: string): Promise<ArtifactManifest> {
  const partial = `${dir}.partial`;
  const work = `${dir}.work`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  mkdirSync(work, { recursive: true });
  ctx.trackTempDir?.(partial);
  ctx.trackTempDir?.(work);
  const started = Date.now();
  try {
    await spec.build(partial, work, ctx.signal);
    const files = await checksumTree(partial);
    const manifest: ArtifactManifest = {
      kind: spec.kind,
      label: spec.label,
      key,
      inputs: spec.inputs,
      createdAt: new Date().toISOString(),
      buildMs: Date.now() - started,
      files,
    };
    writeFileSync(join(partial, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return manifest;
  } finally {
    rmSync(partial, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    ctx.untrackTempDir?.(partial);
    ctx.untrackTempDir?.(work);
  }
}

/** The manifest if every file is present with its checksum; a corrupt artifact is deleted. */
async function verifiedManifest(dir: string, label: string, progress: Progress): Promise<ArtifactManifest | undefined> {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as ArtifactManifest;
    for (const [name, sum] of Object.entries(manifest.files)) {
      const path = join(dir, name);
      if (!existsSync(path)) throw new CacheCorruptError(label, `${name} is missing`);
      if ((await sha256File(path)) !== sum) throw new CacheCorruptError(label, `${name} does not match its checksum`);
    }
    return manifest;
  } catch (error) {
    progress.info(`${describeError(error)}; rebuilding`);
    log('corrupt artifact %s: %s', dir, describeError(error));
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

export type ArtifactState = 'built' | 'missing' | 'corrupt';

/** Whether the artifact in `dir` is whole, for listings: checks every checksum, deletes nothing. */
export async function inspectArtifact(dir: string): Promise<{ state: ArtifactState; sizeBytes: number }> {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) return { state: 'missing', sizeBytes: 0 };
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as ArtifactManifest;
    let sizeBytes = 0;
    for (const [name, sum] of Object.entries(manifest.files)) {
      const path = join(dir, name);
      if (!existsSync(path) || (await sha256File(path)) !== sum) return { state: 'corrupt', sizeBytes: 0 };
      sizeBytes += statSync(path).size;
    }
    return { state: 'built', sizeBytes };
  } catch {
    return { state: 'corrupt', sizeBytes: 0 };
  }
}

/**
 * The SHA-256 of `file` in an artifact ensureArtifact returned: checked
 * against the file (or computed from it) by that call, so whoever keys
 * something by the file's content reuses it instead of hashing again.
 */
export function artifactFileSha256(artifact: Artifact, file: string): string {
  const sum = artifact.manifest.files[file];
  if (!sum) throw new EdgeproofError('INTERNAL', `artifact ${artifact.dir} (${artifact.manifest.label}) has no file ${file}`);
  return sum;
}

function touch(artifact: Artifact): Artifact {
  const now = new Date();
  utimesSync(join(artifact.dir, MANIFEST), now, now);
  return artifact;
}

async function checksumTree(root: string, prefix = ''): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(sums, await checksumTree(root, rel));
    else if (entry.isFile()) sums[rel] = await sha256File(join(root, rel));
  }
  return sums;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function sha256Text(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/**
 * Hash of files' contents and names relative to `root` (build scripts, guest
 * templates): part of an artifact's key, the same wherever the clone lives.
 */
export function hashFiles(root: string, paths: string[]): string {
  return sha256Text(...paths.flatMap((p) => hashEntry(root, p)));
}

function hashEntry(root: string, rel: string): (string | Buffer)[] {
  const path = join(root, rel);
  if (!statSync(path).isDirectory()) return [rel, readFileSync(path)];
  return readdirSync(path)
    .sort()
    .flatMap((name) => hashEntry(root, `${rel}/${name}`));
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
