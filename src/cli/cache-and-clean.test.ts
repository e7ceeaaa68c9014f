import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { projectRoot } from '../core/paths.js';
import { Session, bootId, pidNamespace } from '../core/session.js';
import { isStrictlyInside, refuseDangerousRoot } from './clean-command.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
const sessionOwner = fileURLToPath(new URL('../core/test-fixtures/session-owner.ts', import.meta.url));
const NEW_PID_NAMESPACE = ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'];
const namespacesWork = spawnSync(NEW_PID_NAMESPACE[0]!, [...NEW_PID_NAMESPACE.slice(1), 'true']).status === 0;

async function edgeproof(...args: string[]) {
  return edgeproofWith({}, ...args);
}

async function edgeproofWith(env: Record<string, string>, ...args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { reject: false, cwd: '/tmp', env });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function write(path: string, content: string | Buffer): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

/** The record of a run that died in this boot and PID namespace; its lock file (written beside it) is held by nobody. */
function sessionRecord(id: string, ownerPid: number, ownerStartTime: string, tempDirs: string[], more: { networks?: string[] } = {}) {
  const resources = { processes: [], tempDirs, containers: [], networks: more.networks ?? [] };
  return JSON.stringify({ id, ownerPid, ownerStartTime, bootId: bootId(), pidNamespace: pidNamespace(), startedAt: new Date().toISOString(), resources });
}

const worlds: string[] = [];
afterAll(() => worlds.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A cache and a reports dir as runs leave them, beside a directory that must survive everything. */
function makeWorld() {
  const base = mkdtempSync(join(tmpdir(), 'ep-clean-'));
  worlds.push(base);
  const cache = join(base, 'cache');
  const reports = join(base, 'reports');
  const bystander = join(base, 'bystander', 'keep.txt');
  write(bystander, 'not edgeproof');
  const kernel = join(cache, 'artifacts', 'kernel', '0123456789abcdef');
  write(join(kernel, 'vmlinuz'), Buffer.alloc(64 * 1024, 1));
  write(
    join(kernel, 'edgeproof-artifact.json'),
    JSON.stringify({ kind: 'kernel', label: 'Debian arm64 kernel', key: '0123456789abcdef', inputs: {}, createdAt: new Date(Date.now() - 3 * 3600_000).toISOString(), buildMs: 1, files: {} }),
  );
  write(join(cache, 'artifacts', 'rootfs', 'fedcba9876543210.partial', 'half'), 'x');
  write(join(cache, 'src', 'kubernetes', 'Makefile'), 'all:');
  write(join(cache, 'go-build', 'README'), 'This directory holds cached build artifacts from the Go build system.');
  const deadScratch = join(cache, 'tmp', 'dead-run');
  write(join(deadScratch, 'overlay.qcow2'), 'disk');
  write(join(cache, 'tmp', 'orphan-run', 'overlay.qcow2'), 'disk');
  write(join(cache, 'sessions', 'dead-run.json'), sessionRecord('dead-run', 2 ** 22 + 7, 'never', [deadScratch]));
  write(join(cache, 'sessions', 'dead-run.lock'), '');
  write(join(reports, '20261124-063500-a1b2', 'events.jsonl'), '{}\n');
  write(join(reports, 'notes.txt'), 'mine');
  symlinkSync(join(reports, '20261124-063500-a1b2'), join(reports, 'latest'));
  return { base, cache, reports, bystander, kernel };
}

describe('edgeproof cache', () => {
  test('lists artifacts with label, size on disk and last use, and incomplete builds', async () => {
    const world = makeWorld();
    const { code, stdout } = await edgeproof('cache', '--json', '--cache-dir', world.cache);
    expect(code).toBe(0);
    const listing = JSON.parse(stdout) as { artifacts: { kind: string; label: string; sizeBytes: number; complete: boolean; lastUsed?: string }[]; totalBytes: number; areas: { name: string }[] };
    const kernel = listing.artifacts.find((a) => a.kind === 'kernel');
    expect(kernel).toMatchObject({ label: 'Debian arm64 kernel', complete: true });
    expect(kernel!.sizeBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(kernel!.lastUsed).toBeDefined();
    expect(listing.artifacts.find((a) => a.kind === 'rootfs')).toMatchObject({ complete: false });
    expect(listing.areas.map((a) => a.name)).toEqual(['src/kubernetes', 'go-build', 'tmp']);
    expect(listing.totalBytes).toBeGreaterThan(kernel!.sizeBytes);

    const text = await edgeproof('cache', '--cache-dir', world.cache);
    expect(text.stdout).toMatch(/kernel\s+0123456789abcdef\s+\S+ \S+\s+3h\s+\d+s ago\s+Debian arm64 kernel/);
  });
});

describe('edgeproof clean', () => {
  let world: ReturnType<typeof makeWorld>;
  beforeEach(() => {
    world = makeWorld();
  });

  test('sweeps stale sessions and orphaned scratch, and keeps the cache and reports', async () => {
    const { code, stdout } = await edgeproof('clean', '--cache-dir', world.cache, '--reports-dir', world.reports);
    expect(code).toBe(0);
    expect(stdout).toContain('Stale sessions swept: dead-run');
    expect(readdirSync(join(world.cache, 'tmp'))).toEqual([]);
    expect(readdirSync(join(world.cache, 'sessions'))).toEqual([]);
    expect(existsSync(join(world.kernel, 'vmlinuz'))).toBe(true);
    expect(existsSync(join(world.reports, 'notes.txt'))).toBe(true);
  });

  test('--cache --reports delete the artifacts, build caches and runs, nothing else', async () => {
    const { code, stdout } = await edgeproof('clean', '--cache', '--reports', '--cache-dir', world.cache, '--reports-dir', world.reports);
    expect(code).toBe(0);
    for (const gone of ['artifacts', 'src', 'go-build']) expect(existsSync(join(world.cache, gone))).toBe(false);
    expect(readdirSync(world.reports)).toEqual(['notes.txt']);
    expect(existsSync(world.bystander)).toBe(true);
    expect(stdout).toMatch(/kept .*notes\.txt \(not an edgeproof run\)/);
    expect(stdout).toMatch(/Freed \d/);
  });

  test('--cache refuses while a run is using the cache', async () => {
    const live = new Session(world.cache, 'live-run');
    write(join(world.cache, 'tmp', 'live-run', 'overlay.qcow2'), 'in use');
    const { code, stdout } = await edgeproof('clean', '--cache', '--cache-dir', world.cache);
    live.close();
    expect(code).toBe(3);
    expect(stdout).toContain(`live-run (pid ${process.pid})`);
    expect(existsSync(join(world.kernel, 'vmlinuz'))).toBe(true);
    expect(existsSync(join(world.cache, 'tmp', 'live-run', 'overlay.qcow2'))).toBe(true);
  });
});

describe('edgeproof clean and sessions it cannot finish or must not touch', { timeout: 90_000 }, () => {
  let world: ReturnType<typeof makeWorld>;
  beforeEach(() => {
    world = makeWorld();
  });

  test('Docker unreachable: the record of a dead container session is kept for the next sweep, exit 3', async () => {
    const record = join(world.cache, 'sessions', 'dead-containers.json');
    write(record, sessionRecord('dead-containers', 2 ** 22 + 9, 'never', [], { networks: ['ep-00000000'] }));
    write(join(world.cache, 'sessions', 'dead-containers.lock'), '');
    const { code, stdout } = await edgeproofWith({ DOCKER_HOST: 'tcp://127.0.0.1:1' }, 'clean', '--cache-dir', world.cache);
    expect(code).toBe(3);
    expect(stdout).toContain('Stale sessions swept: dead-containers, dead-run');
    expect(stdout).toMatch(/problem: session dead-containers: containers and networks not swept: .*Docker engine/);
    expect(stdout).toContain(`problem: session dead-containers: record kept for the next sweep (${record})`);
    expect(existsSync(record)).toBe(true);
    expect(existsSync(join(world.cache, 'sessions', 'dead-run.json'))).toBe(false);
  });

  test.skipIf(!namespacesWork)('a run alive in another PID namespace keeps its scratch, socket dir and record, and the cache', async () => {
    const owner = execa(NEW_PID_NAMESPACE[0]!, [...NEW_PID_NAMESPACE.slice(1), process.execPath, '--import', 'tsx', sessionOwner, 'hold', world.cache, join(world.base, 'owner-run')], { cwd: projectRoot(), reject: false });
    try {
      const line = await new Promise<string>((resolve) => owner.stdout!.on('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!)));
      const { runId, scratch, socketDir } = JSON.parse(line) as { runId: string; scratch: string; socketDir: string };

      const clean = await edgeproof('clean', '--cache-dir', world.cache);
      expect(clean.code).toBe(0);
      expect(clean.stdout).toContain('Stale sessions swept: dead-run');
      expect(clean.stdout).not.toContain(runId);
      expect([existsSync(scratch), existsSync(socketDir), existsSync(join(world.cache, 'sessions', `${runId}.json`))]).toEqual([true, true, true]);

      const cache = await edgeproof('clean', '--cache', '--cache-dir', world.cache);
      expect(cache.code).toBe(3);
      expect(cache.stdout).toContain(`Cache kept: in use by running session(s) ${runId}`);
      expect(existsSync(join(world.kernel, 'vmlinuz'))).toBe(true);
    } finally {
      owner.stdin!.end();
      expect((await owner).exitCode).toBe(0);
    }
  });
});

describe('clean never reaches outside its directories', () => {
  test('/, home, the project and their parents are refused as roots', () => {
    for (const dir of ['/', homedir(), projectRoot(), join(projectRoot(), '..')]) {
      expect(() => refuseDangerousRoot(dir, 'cache dir')).toThrow(/Refusing to clean/);
    }
    expect(() => refuseDangerousRoot(join(tmpdir(), 'ep-cache'), 'cache dir')).not.toThrow();
  });

  test('isStrictlyInside', () => {
    expect(isStrictlyInside('/a/b/c', '/a/b')).toBe(true);
    expect(isStrictlyInside('/a/b', '/a/b')).toBe(false);
    expect(isStrictlyInside('/a/b/../c', '/a/b')).toBe(false);
    expect(isStrictlyInside('/a/bc', '/a/b')).toBe(false);
  });
});
