import { existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, closeSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../core/artifact-cache.js';
import { exitCodeForError } from '../core/exit-codes.js';
import { describeError } from '../core/errors.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { componentCatalog, findComponent, withVersion, type Component } from './component.js';
import { COMPONENT_RECORD, ensureComponent, type ComponentContext } from './component-builder.js';
import { compareGoVersions } from './go-toolchain.js';
import { componentImageSpec, packageImage } from './image-archive.js';

/**
 * Real builds from the real module proxy with the real go, kept small: the
 * CNI loopback plugin (pure Go) and runc (cgo, libseccomp, static-pie).
 * Module and build caches are the shared warm ones; artifacts go to a temp
 * cache dir.
 */
const SHARED = process.env.EDGEPROOF_CACHE_DIR ?? join(homedir(), '.cache', 'edgeproof');
const LOOPBACK: Component = { ...findComponent('cni-plugins'), packages: { loopback: 'github.com/containernetworking/plugins/plugins/main/loopback' } };

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ep-components-'));
});
afterAll(() => {
  // Go writes its caches read-only unless -modcacherw; make sure a temp module cache can go.
  execa('chmod', ['-R', 'u+w', root], { reject: false });
  rmSync(root, { recursive: true, force: true });
});

function context(name: string, overrides: Partial<ComponentContext> = {}): ComponentContext {
  return { cacheDir: join(root, name), progress: silentProgress, signal: new AbortController().signal, goModCache: join(SHARED, 'go-mod'), goBuildCache: join(SHARED, 'go-build'), ...overrides };
}

/** e_machine of an ELF file, as `file` reports it. */
function elfMachine(path: string): string {
  const header = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  readSync(fd, header, 0, 64, 0);
  closeSync(fd);
  expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return ({ 62: 'x86-64', 183: 'aarch64' } as Record<number, string>)[header.readUInt16LE(18)] ?? `machine ${header.readUInt16LE(18)}`;
}

/** True when the ELF file has no PT_INTERP: it needs no dynamic loader on the node. */
function isStatic(path: string): boolean {
  const file = readFileSync(path);
  const [phoff, phentsize, phnum] = [Number(file.readBigUInt64LE(0x20)), file.readUInt16LE(0x36), file.readUInt16LE(0x38)];
  return Array.from({ length: phnum }, (_, i) => file.readUInt32LE(phoff + i * phentsize)).every((type) => type !== 3);
}

const publishedKeys = (cacheDir: string) => (existsSync(join(cacheDir, 'artifacts', 'components')) ? readdirSync(join(cacheDir, 'artifacts', 'components')).filter((name) => !name.startsWith('.')) : []);

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(() => undefined, (error: unknown) => error);
  if (!(outcome instanceof Error)) throw new Error('expected the build to fail');
  return outcome;
}

describe('ensureComponent: a small real component (CNI loopback)', () => {
  it.each([
    ['amd64', 'x86-64'],
    ['arm64', 'aarch64'],
  ] as const)('builds for %s (ELF %s), with a record of module, version, go and each checksum', async (arch, machine) => {
    const built = await ensureComponent(context('build'), LOOPBACK, arch);
    const binary = join(built.dir, 'loopback');
    expect(elfMachine(binary)).toBe(machine);
    expect(isStatic(binary)).toBe(true);
    const record = JSON.parse(readFileSync(join(built.dir, COMPONENT_RECORD), 'utf8'));
    expect(record).toMatchObject({ component: 'cni-plugins', module: 'github.com/containernetworking/plugins', version: 'v1.8.0', arch, cgo: false });
    expect(compareGoVersions(record.goVersion, componentCatalog().goMinimum)).toBeGreaterThanOrEqual(0);
    expect(record.files).toEqual({ loopback: await sha256File(binary) });
    expect(built.record).toEqual(record);
  });

  it('reuses a verified build, and rebuilds a corrupted one', async () => {
    const ctx = context('build');
    const first = await ensureComponent(ctx, LOOPBACK, 'amd64');
    const again = await ensureComponent(ctx, LOOPBACK, 'amd64');
    expect(again).toMatchObject({ dir: first.dir, built: false });
    const binary = join(first.dir, 'loopback');
    const good = await sha256File(binary);
    chmodSync(binary, 0o755);
    writeFileSync(binary, 'truncated by a full disk');
    const rebuilt = await ensureComponent(ctx, LOOPBACK, 'amd64');
    expect(rebuilt).toMatchObject({ dir: first.dir, built: true });
    expect(await sha256File(binary)).toBe(good);
  });

  it('an unknown version is an input error (exit 2) with what go said, and publishes nothing', async () => {
    const ctx = context('unknown');
    const error = await failureOf(ensureComponent(ctx, withVersion(LOOPBACK, 'v1.99.0'), 'amd64'));
    expect(exitCodeForError(error)).toBe(2);
    const shown = describeError(error);
    expect(shown).toContain('github.com/containernetworking/plugins@v1.99.0');
    expect(shown).toContain(ctx.cacheDir);
    expect(shown).toMatch(/go said:\n.*v1\.99\.0.*\n.*not available/);
    expect(publishedKeys(ctx.cacheDir)).toEqual([]);
  });

  it('a proxy that refuses connections is the environment (exit 3), and publishes nothing', async () => {
    const ctx = context('offline', { goModCache: join(root, 'offline', 'empty-go-mod'), env: { GOPROXY: 'http://127.0.0.1:9' } });
    const error = await failureOf(ensureComponent(ctx, LOOPBACK, 'amd64'));
    expect(error).toMatchObject({ code: 'NETWORK_UNAVAILABLE' });
    expect(exitCodeForError(error)).toBe(3);
    expect(describeError(error)).toContain('connection refused');
    expect(publishedKeys(ctx.cacheDir)).toEqual([]);
  });

  it('an abort mid-build leaves nothing published and no partial dirs', async () => {
    const abort = new AbortController();
    const aborting: Progress = { ...silentProgress, info: (line) => line.startsWith('go build') && setTimeout(() => abort.abort(new Error('test abort')), 1_000) };
    // A cold build cache, so go is still compiling when the abort comes.
    const ctx = context('aborted', { progress: aborting, signal: abort.signal, goBuildCache: join(root, 'aborted', 'go-build') });
    const started = Date.now();
    const error = await failureOf(ensureComponent(ctx, LOOPBACK, 'arm64'));
    expect(error.message).toBe('test abort');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(readdirSync(join(ctx.cacheDir, 'artifacts', 'components')).filter((name) => !name.startsWith('.') && !name.endsWith('.lock'))).toEqual([]);
  });
});

describe('runc: cgo, libseccomp, static-pie, cross-compiled with Debian gcc-aarch64-linux-gnu', () => {
  it.each([
    ['amd64', 'x86-64'],
    ['arm64', 'aarch64'],
  ] as const)('%s: a static %s runc that runs (arm64 through binfmt_misc) with libseccomp linked in', async (arch, machine) => {
    const built = await ensureComponent(context('runc'), findComponent('runc'), arch);
    const binary = join(built.dir, 'runc');
    expect(elfMachine(binary)).toBe(machine);
    expect(isStatic(binary)).toBe(true);
    expect(built.record.cgo).toBe(true);
    const { stdout } = await execa(binary, ['--version']);
    expect(stdout).toMatch(/^runc version 1\.3\.7$/m);
    expect(stdout).toMatch(/^libseccomp: 2\.\d+\.\d+$/m);
  });
});

describe('the catalog', () => {
  it('goMinimum covers the go directive of every pinned module', async () => {
    for (const component of componentCatalog().components) {
      const { stdout } = await execa('go', ['list', '-m', '-json', `${component.module}@${component.version}`], { env: { GOTOOLCHAIN: 'local', GOMODCACHE: join(SHARED, 'go-mod'), GOFLAGS: '-modcacherw' }, cwd: root });
      const goVersion = (JSON.parse(stdout) as { GoVersion: string }).GoVersion;
      expect(compareGoVersions(componentCatalog().goMinimum, goVersion), `${component.module} needs go ${goVersion}`).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('packageImage: a component image the node runtimes import', () => {
  const tag = `edgeproof.local/ep-test-loopback:${process.pid}`;
  const namespace = `ep-test-${process.pid}`;
  const ctr = (...args: string[]) => execa('ctr', ['--address', '/run/docker/containerd/containerd.sock', '-n', namespace, ...args]);

  afterAll(async () => {
    await execa('docker', ['rmi', '-f', tag], { reject: false });
    if (!existsSync('/run/docker/containerd/containerd.sock')) return;
    await ctr('images', 'rm', tag).catch(() => undefined);
    const content = await ctr('content', 'ls', '-q').catch(() => ({ stdout: '' }));
    const digests = String(content.stdout).split('\n').filter(Boolean);
    if (digests.length) await ctr('content', 'rm', ...digests).catch(() => undefined);
    const snapshots = await ctr('snapshots', 'ls').catch(() => ({ stdout: '' }));
    // Children before parents: delete the newest first.
    for (const key of String(snapshots.stdout).split('\n').slice(1).map((line) => line.split(/\s+/)[0]).filter(Boolean).reverse()) await ctr('snapshots', 'rm', key!).catch(() => undefined);
    await execa('ctr', ['--address', '/run/docker/containerd/containerd.sock', 'namespaces', 'rm', namespace], { reject: false });
  });

  it('docker load accepts it and docker run runs the binary with its stamped version', async () => {
    const ctx = context('build');
    const built = await ensureComponent(ctx, LOOPBACK, 'amd64');
    const image = await packageImage(ctx, componentImageSpec(built, tag, { entrypoint: ['/usr/local/bin/loopback'] }));
    const loaded = await execa('docker', ['load', '-i', image.file]);
    expect(loaded.stdout).toContain(`Loaded image: ${tag}`);
    expect((await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', tag])).stdout).toBe(image.imageId);
    const run = await execa('docker', ['run', '--rm', '--network', 'none', tag], { reject: false });
    expect(`${run.stdout}${run.stderr}`).toContain('CNI loopback plugin v1.8.0');
  });

  it.skipIf(!existsSync('/run/docker/containerd/containerd.sock'))('ctr images import accepts it (a throwaway namespace of the host containerd)', async () => {
    const ctx = context('build');
    const image = await packageImage(ctx, componentImageSpec(await ensureComponent(ctx, LOOPBACK, 'amd64'), tag));
    await ctr('images', 'import', image.file);
    expect((await ctr('images', 'ls', '-q')).stdout.split('\n')).toContain(tag);
  });
});
