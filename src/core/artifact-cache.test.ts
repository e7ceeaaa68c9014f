import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactDir, artifactKey, ensureArtifact, hashFiles, inspectArtifact, sha256File, sha256Text, type ArtifactContext, type ArtifactSpec } from './artifact-cache.js';
import type { Progress } from './progress.js';

let root: string;
let cacheDir: string;
let info: string[];
let tracked: string[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-cache-test-'));
  cacheDir = join(root, 'cache');
  info = [];
  tracked = [];
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The silentProgress shape, recording info lines. */
function recordingProgress(): Progress {
  return { start() {}, end() {}, info: (message) => info.push(message) };
}

function context(): ArtifactContext {
  return {
    cacheDir,
    progress: recordingProgress(),
    signal: new AbortController().signal,
    trackTempDir: (dir) => tracked.push(dir),
    untrackTempDir: (dir) => {
      tracked = tracked.filter((d) => d !== dir);
    },
  };
}

interface CountingSpec extends ArtifactSpec {
  builds: number;
}

/** A spec whose build writes a couple of files (one nested) and counts its runs. */
function spec(inputs: Record<string, unknown> = { version: 'v1.20.2', arch: 'arm64' }, delayMs = 0): CountingSpec {
  const s: CountingSpec = {
    kind: 'kubernetes',
    label: 'Kubernetes test binaries',
    inputs,
    builds: 0,
    async build(outDir, workDir, signal) {
      s.builds += 1;
      expect(existsSync(workDir)).toBe(true);
      expect(signal.aborted).toBe(false);
      writeFileSync(join(workDir, 'scratch'), 'scratch');
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      writeFileSync(join(outDir, 'kubelet'), `kubelet ${JSON.stringify(inputs)}\n`.repeat(100));
      mkdirSync(join(outDir, 'bin'));
      writeFileSync(join(outDir, 'bin', 'kubectl'), 'kubectl binary');
    },
  };
  return s;
}

function kindDirEntries(kind = 'kubernetes'): string[] {
  const dir = join(cacheDir, 'artifacts', kind);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('artifactKey', () => {
  it('is stable across input key order, at every depth', () => {
    const a = artifactKey({ version: 'v1', arch: 'arm64', extra: { b: 2, a: [1, { y: 1, x: 2 }] } });
    const b = artifactKey({ extra: { a: [1, { x: 2, y: 1 }], b: 2 }, arch: 'arm64', version: 'v1' });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with any input value, and array order matters', () => {
    const base = artifactKey({ version: 'v1', list: [1, 2] });
    expect(artifactKey({ version: 'v2', list: [1, 2] })).not.toBe(base);
    expect(artifactKey({ version: 'v1', list: [2, 1] })).not.toBe(base);
    expect(artifactKey({ version: 'v1', list: [1, 2], more: true })).not.toBe(base);
  });
});

describe('ensureArtifact', () => {
  it('builds once, publishes with a manifest, then reuses without building', async () => {
    const s = spec();
    const first = await ensureArtifact(context(), s);
    expect(first.built).toBe(true);
    expect(s.builds).toBe(1);
    expect(first.dir).toBe(artifactDir(cacheDir, s));
    expect(first.key).toBe(artifactKey(s.inputs));
    expect(first.manifest.files).toEqual({
      kubelet: await sha256File(join(first.dir, 'kubelet')),
      'bin/kubectl': sha256Text('kubectl binary'),
    });
    const onDisk = JSON.parse(readFileSync(join(first.dir, 'edgeproof-artifact.json'), 'utf8'));
    expect(onDisk).toMatchObject({ kind: 'kubernetes', label: s.label, key: first.key, inputs: s.inputs, files: first.manifest.files });
    // Scratch and partial dirs are gone and no longer tracked.
    expect(kindDirEntries()).toEqual([first.key]);
    expect(tracked).toEqual([]);

    const second = await ensureArtifact(context(), s);
    expect(second.built).toBe(false);
    expect(s.builds).toBe(1);
    expect(second.dir).toBe(first.dir);
    expect(second.manifest).toEqual(first.manifest);
    expect(info).toEqual([]);
  });

  it('reuses the artifact when the same inputs come in another key order', async () => {
    const first = await ensureArtifact(context(), spec({ version: 'v1', arch: 'arm64', opts: { a: 1, b: 2 } }));
    const reordered = spec({ opts: { b: 2, a: 1 }, arch: 'arm64', version: 'v1' });
    const second = await ensureArtifact(context(), reordered);
    expect(second.built).toBe(false);
    expect(reordered.builds).toBe(0);
    expect(second.dir).toBe(first.dir);
  });

  it('touches the manifest on reuse (cache listing sorts by last use)', async () => {
    const s = spec();
    const { dir } = await ensureArtifact(context(), s);
    const manifest = join(dir, 'edgeproof-artifact.json');
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(manifest, old, old);
    await ensureArtifact(context(), s);
    expect(statSync(manifest).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('detects a file truncated after publish, reports it as corrupt and rebuilds it', async () => {
    const s = spec();
    const first = await ensureArtifact(context(), s);
    const kubelet = join(first.dir, 'kubelet');
    const good = readFileSync(kubelet, 'utf8');
    truncateSync(kubelet, 10);

    const second = await ensureArtifact(context(), s);
    expect(second.built).toBe(true);
    expect(s.builds).toBe(2);
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('corrupt');
    expect(info[0]).toContain('Kubernetes test binaries');
    expect(info[0]).toContain('kubelet does not match its checksum');
    expect(info[0]).toContain('rebuilding');
    expect(readFileSync(kubelet, 'utf8')).toBe(good);
    expect(second.manifest.files).toEqual(first.manifest.files);
  });

  it('detects a nested file modified in place (same size) and rebuilds it', async () => {
    const s = spec();
    const first = await ensureArtifact(context(), s);
    const kubectl = join(first.dir, 'bin', 'kubectl');
    writeFileSync(kubectl, 'KUBECTL BINARY');
    const second = await ensureArtifact(context(), s);
    expect(second.built).toBe(true);
    expect(s.builds).toBe(2);
    expect(info.join('\n')).toMatch(/corrupt: bin\/kubectl does not match its checksum/);
    expect(readFileSync(kubectl, 'utf8')).toBe('kubectl binary');
  });

  it('detects a missing file and rebuilds', async () => {
    const s = spec();
    const first = await ensureArtifact(context(), s);
    rmSync(join(first.dir, 'bin', 'kubectl'));
    const second = await ensureArtifact(context(), s);
    expect(second.built).toBe(true);
    expect(s.builds).toBe(2);
    expect(info).toHaveLength(1);
    expect(info[0]).toMatch(/corrupt: bin\/kubectl is missing/);
    expect(info[0]).toContain('rebuilding');
    expect(existsSync(join(first.dir, 'bin', 'kubectl'))).toBe(true);
  });

  it('treats an unreadable manifest as corrupt and rebuilds', async () => {
    const s = spec();
    const first = await ensureArtifact(context(), s);
    writeFileSync(join(first.dir, 'edgeproof-artifact.json'), '{ not json');
    const second = await ensureArtifact(context(), s);
    expect(second.built).toBe(true);
    expect(s.builds).toBe(2);
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('rebuilding');
  });

  it('a build that throws leaves no published, partial or work dir, and the lock is released', async () => {
    const failing: ArtifactSpec = {
      kind: 'kubernetes',
      label: 'failing build',
      inputs: { version: 'v1' },
      async build(outDir, workDir) {
        writeFileSync(join(outDir, 'half-written'), 'x');
        writeFileSync(join(workDir, 'scratch'), 'x');
        throw new Error('make: *** [all] Error 2');
      },
    };
    await expect(ensureArtifact(context(), failing)).rejects.toThrow('make: *** [all] Error 2');
    const dir = artifactDir(cacheDir, failing);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.partial`)).toBe(false);
    expect(existsSync(`${dir}.work`)).toBe(false);
    expect(kindDirEntries()).toEqual([]);
    expect(existsSync(join(cacheDir, 'artifacts', 'kubernetes.lock'))).toBe(false);
    expect(tracked).toEqual([]);

    // The next attempt builds from scratch (no stale lock, nothing half-published reused).
    const s = spec({ version: 'v1' });
    const retry = await ensureArtifact(context(), s);
    expect(retry.built).toBe(true);
    expect(retry.dir).toBe(dir);
    expect(existsSync(join(dir, 'half-written'))).toBe(false);
  });

  it('tracks the partial and work dirs with the session while building', async () => {
    let seen: string[] = [];
    const s: ArtifactSpec = {
      kind: 'rootfs',
      label: 'rootfs',
      inputs: { suite: 'bookworm' },
      async build(outDir, workDir) {
        seen = [...tracked];
        expect(seen).toEqual([outDir, workDir]);
        writeFileSync(join(outDir, 'rootfs.img'), 'img');
      },
    };
    const artifact = await ensureArtifact(context(), s);
    expect(seen).toEqual([`${artifact.dir}.partial`, `${artifact.dir}.work`]);
    expect(tracked).toEqual([]);
  });

  it('two concurrent calls for the same spec build exactly once', async () => {
    const s = spec({ version: 'v1.20.2' }, 100);
    const [a, b] = await Promise.all([ensureArtifact(context(), s), ensureArtifact(context(), s)]);
    expect(s.builds).toBe(1);
    expect([a.built, b.built].sort()).toEqual([false, true]);
    expect(a.dir).toBe(b.dir);
    expect(a.manifest).toEqual(b.manifest);
    expect(kindDirEntries()).toEqual([a.key]);
  }, 10_000);

  it('different inputs of the same kind live side by side', async () => {
    const v1 = await ensureArtifact(context(), spec({ version: 'v1' }));
    const v2 = await ensureArtifact(context(), spec({ version: 'v2' }));
    expect(v1.dir).not.toBe(v2.dir);
    expect(kindDirEntries()).toEqual([v1.key, v2.key].sort());
    expect(readFileSync(join(v1.dir, 'kubelet'), 'utf8')).toContain('"v1"');
    expect(readFileSync(join(v2.dir, 'kubelet'), 'utf8')).toContain('"v2"');
  });
});

describe('hashFiles', () => {
  function makeTree(at: string): void {
    mkdirSync(join(at, 'fixtures', 'build'), { recursive: true });
    mkdirSync(join(at, 'fixtures', 'guest', 'rootfs', 'etc'), { recursive: true });
    writeFileSync(join(at, 'fixtures', 'build', 'kernel.sh'), '#!/bin/sh\nmake\n');
    writeFileSync(join(at, 'fixtures', 'guest', 'rootfs', 'etc', 'hostname'), 'edge\n');
    writeFileSync(join(at, 'fixtures', 'guest', 'rootfs', 'init'), 'exec /sbin/init\n');
  }
  const paths = ['fixtures/build/kernel.sh', 'fixtures/guest/rootfs'];

  it('does not depend on where the tree lives', () => {
    const a = join(root, 'clone-a');
    makeTree(a);
    const b = join(root, 'elsewhere', 'deeper', 'clone-b');
    mkdirSync(b, { recursive: true });
    cpSync(join(a, 'fixtures'), join(b, 'fixtures'), { recursive: true });
    expect(hashFiles(a, paths)).toBe(hashFiles(b, paths));
    expect(hashFiles(a, paths)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when a file inside a hashed directory changes, or a file is renamed or added', () => {
    const a = join(root, 'clone');
    makeTree(a);
    const before = hashFiles(a, paths);
    writeFileSync(join(a, 'fixtures', 'guest', 'rootfs', 'etc', 'hostname'), 'edge2\n');
    const changed = hashFiles(a, paths);
    expect(changed).not.toBe(before);
    writeFileSync(join(a, 'fixtures', 'guest', 'rootfs', 'etc', 'hostname'), 'edge\n');
    expect(hashFiles(a, paths)).toBe(before);

    cpSync(join(a, 'fixtures', 'guest', 'rootfs', 'init'), join(a, 'fixtures', 'guest', 'rootfs', 'init2'));
    expect(hashFiles(a, paths)).not.toBe(before);
    rmSync(join(a, 'fixtures', 'guest', 'rootfs', 'init'));
    expect(hashFiles(a, paths)).not.toBe(before);
  });

  it('throws when a listed path does not exist', () => {
    expect(() => hashFiles(root, ['fixtures/none.sh'])).toThrow(/ENOENT/);
  });
});

describe('inspectArtifact (listings: read-only)', () => {
  const spec = (): ArtifactSpec => ({
    kind: 'thing',
    label: 'a thing',
    inputs: { v: 1 },
    build: async (out) => {
      mkdirSync(join(out, 'bin'));
      writeFileSync(join(out, 'bin', 'tool'), 'x'.repeat(1000));
    },
  });

  it('missing before the build, built (with the size of its files) after', async () => {
    const dir = artifactDir(cacheDir, spec());
    expect(await inspectArtifact(dir)).toEqual({ state: 'missing', sizeBytes: 0 });
    await ensureArtifact(context(), spec());
    const inspected = await inspectArtifact(dir);
    expect(inspected.state).toBe('built');
    // The files the manifest lists, not the manifest itself.
    expect(inspected.sizeBytes).toBe(1000);
  });

  it('corrupt when a file no longer matches its checksum, and deletes nothing', async () => {
    const built = await ensureArtifact(context(), spec());
    truncateSync(join(built.dir, 'bin', 'tool'), 10);
    expect(await inspectArtifact(built.dir)).toEqual({ state: 'corrupt', sizeBytes: 0 });
    expect(existsSync(join(built.dir, 'bin', 'tool'))).toBe(true);
  });
});
