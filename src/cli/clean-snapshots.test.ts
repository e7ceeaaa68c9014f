import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { sleep } from '../core/wait.js';
import { finishing, otherProcessSaving } from '../emulation/qemu/test-fixtures/snapshot-saving.js';
import { listCache, renderCacheListing } from './cache-listing.js';
import { cleanCommand } from './clean-command.js';

let root: string;
let cacheDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ep-clean-snapshots-'));
  cacheDir = join(root, 'cache');
  const snapshot = join(cacheDir, 'snapshots', '0123456789abcdef');
  mkdirSync(snapshot, { recursive: true });
  writeFileSync(join(snapshot, 'ep-1-cp-0.qcow2'), Buffer.alloc(64 * 1024, 1));
  writeFileSync(join(snapshot, 'edgeproof-snapshot.json'), JSON.stringify({ label: 'upstream v1.20.2 1 on rpi4', createdAt: new Date(Date.now() - 3_600_000).toISOString() }));
  mkdirSync(join(cacheDir, 'snapshots', 'fedcba9876543210.partial'), { recursive: true });
  mkdirSync(join(cacheDir, 'artifacts', 'disk', 'aaaa'), { recursive: true });
  writeFileSync(join(cacheDir, 'artifacts', 'disk', 'aaaa', 'edgeproof-artifact.json'), JSON.stringify({ label: 'root disk' }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function output(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk) => (text += String(chunk)));
  return { out, text: () => text };
}

describe('snapshots in the cache', () => {
  it('are listed with size, age, last use and the limit; an interrupted save shows as incomplete', () => {
    const listing = listCache(cacheDir);
    expect(listing.snapshots.map((s) => [s.key, s.complete])).toEqual(expect.arrayContaining([['0123456789abcdef', true], ['fedcba9876543210', false]]));
    const text = renderCacheListing(listing);
    expect(text).toMatch(/snapshots: .* of 17 GB \(EDGEPROOF_SNAPSHOT_LIMIT/);
    expect(text).toMatch(/snapshot\s+0123456789abcdef\s+\d+ kB\s+1h\s+\S+ ago\s+upstream v1\.20\.2 1 on rpi4/);
    expect(text).toContain('(incomplete: being saved or interrupted)');
  });

  it('`clean --snapshots` removes them and nothing else', async () => {
    const { out, text } = output();
    expect(await cleanCommand({ cacheDir, reportsDir: join(root, 'reports'), cache: false, reports: false, snapshots: true }, out)).toBe(0);
    expect(existsSync(join(cacheDir, 'snapshots'))).toBe(false);
    expect(existsSync(join(cacheDir, 'artifacts', 'disk', 'aaaa'))).toBe(true);
    expect(text()).toMatch(/removed snapshots .*snapshots \(/);
  });
});

describe('clean --snapshots beside a save in another process', () => {
  it('`clean --snapshots` waits for a save in progress in another process, then removes it too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-clean-saving-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const base = join(dir, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
    const cacheDir = join(dir, 'cache');
    const other = await otherProcessSaving(dir, base, cacheDir, '000000000000000b');
    let printed = '';
    const out = new PassThrough().on('data', (chunk) => (printed += String(chunk)));

    const { finished, track } = finishing();
    const clean = track('clean', cleanCommand({ cacheDir, reportsDir: join(dir, 'reports'), cache: false, reports: false, snapshots: true }, out));
    await sleep(1_500);
    expect(finished).toEqual([]);

    other.release();
    expect(await clean).toBe(0);
    const saved = await other.child;
    expect(saved.stdout).toContain('published');
    expect(saved.exitCode).toBe(0);
    expect(printed).toMatch(/removed snapshots .*snapshots \(/);
    expect(existsSync(join(cacheDir, 'snapshots'))).toBe(false);
  }, 60_000);
});
