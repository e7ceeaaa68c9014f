import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { projectRoot } from '../core/paths.js';
import { processStartTime } from '../core/session.js';
import { isStrictlyInside, refuseDangerousRoot } from './clean-command.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));

async function edgeproof(...args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { reject: false, cwd: '/tmp' });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function write(path: string, content: string | Buffer): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

function sessionRecord(id: string, ownerPid: number, ownerStartTime: string, tempDirs: string[]) {
  return JSON.stringify({ id, ownerPid, ownerStartTime, startedAt: new Date().toISOString(), resources: { processes: [], tempDirs, containers: [], networks: [] } });
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
    write(join(world.cache, 'sessions', 'live-run.json'), sessionRecord('live-run', process.pid, processStartTime(process.pid)!, []));
    write(join(world.cache, 'tmp', 'live-run', 'overlay.qcow2'), 'in use');
    const { code, stdout } = await edgeproof('clean', '--cache', '--cache-dir', world.cache);
    expect(code).toBe(1);
    expect(stdout).toContain(`live-run (pid ${process.pid})`);
    expect(existsSync(join(world.kernel, 'vmlinuz'))).toBe(true);
    expect(existsSync(join(world.cache, 'tmp', 'live-run', 'overlay.qcow2'))).toBe(true);
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
