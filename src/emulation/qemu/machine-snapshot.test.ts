import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheCorruptError } from '../../core/errors.js';
import { sleep } from '../../core/wait.js';
import { finishing, otherProcessSaving, overlayWithSnapshot as overlay } from './test-fixtures/snapshot-saving.js';
import {
  SNAPSHOT_METADATA,
  SNAPSHOT_TAG,
  SnapshotStore,
  copyHashed,
  incompatibility,
  parseSizeLimit,
  parseSnapshotMetadata,
  snapshotKey,
  type SnapshotHost,
  type SnapshotMetadata,
} from './machine-snapshot.js';

const HOST: SnapshotHost = { version: '7.2.19', binary: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a72', accel: 'tcg' };

let dir: string;
let base: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ep-snapshot-test-'));
  base = join(dir, 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const overlayWithSnapshot = (path: string, tag = SNAPSHOT_TAG) => overlay(base, path, tag);

function metadataFor(key: string, files: { name: string; file: string; sha256: string; sizeBytes: number }[], overrides: Partial<SnapshotMetadata> = {}): SnapshotMetadata {
  return {
    format: 1,
    key,
    label: 'upstream v1.20.2 1 on rpi4',
    inputs: { board: 'rpi4' },
    qemu: HOST,
    createdAt: new Date().toISOString(),
    saveMs: 5000,
    machines: files.map((f) => ({ ...f, backingFile: base, mac: '52:54:00:12:34:56', memoryMiB: 2048, cpus: 4, kernelParams: ['ep.hostname=ep-1-cp-0'] })),
    extra: {},
    ...overrides,
  };
}

/** Publishes a one-machine snapshot under `key` through the store, like a save does. */
async function publish(store: SnapshotStore, key: string, overrides: Partial<SnapshotMetadata> = {}) {
  const source = join(dir, `${key}-source.qcow2`);
  overlayWithSnapshot(source);
  return store.publish(key, async (partial) => {
    const copied = await copyHashed(source, join(partial, 'ep-1-cp-0.qcow2'));
    return metadataFor(key, [{ name: 'ep-1-cp-0', file: 'ep-1-cp-0.qcow2', sha256: copied.sha256, sizeBytes: copied.bytes }], overrides);
  });
}

describe('snapshot key', () => {
  it('is the same for the same inputs in any key order, and changes with any input', () => {
    const inputs = { board: 'rpi4', distro: 'upstream', topology: '1', qemu: HOST, baseDisk: '/c/artifacts/disk/abc/disk.qcow2', harness: { version: '0.1.0', files: 'f00' } };
    const key = snapshotKey(inputs);
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(snapshotKey({ harness: { files: 'f00', version: '0.1.0' }, baseDisk: inputs.baseDisk, qemu: { ...HOST }, topology: '1', distro: 'upstream', board: 'rpi4' })).toBe(key);
    expect(snapshotKey({ ...inputs, topology: '1+2' })).not.toBe(key);
    expect(snapshotKey({ ...inputs, qemu: { ...HOST, version: '8.0.0' } })).not.toBe(key);
    expect(snapshotKey({ ...inputs, harness: { version: '0.1.0', files: 'f01' } })).not.toBe(key);
  });
});

describe('snapshot metadata', () => {
  it('accepts what a save writes and names the field that is wrong', () => {
    const good = metadataFor('0123456789abcdef', [{ name: 'n', file: 'n.qcow2', sha256: 'a'.repeat(64), sizeBytes: 10 }]);
    expect(parseSnapshotMetadata(JSON.stringify(good))).toEqual(good);
    expect(() => parseSnapshotMetadata('{"format": 1')).toThrow(/not JSON/);
    expect(() => parseSnapshotMetadata(JSON.stringify({ ...good, format: 2 }))).toThrow(/format/);
    expect(() => parseSnapshotMetadata(JSON.stringify({ ...good, machines: [] }))).toThrow(/machines/);
    const badMac = { ...good, machines: [{ ...good.machines[0]!, mac: 'not-a-mac' }] };
    expect(() => parseSnapshotMetadata(JSON.stringify(badMac))).toThrow(/machines\.0\.mac/);
    const escaping = { ...good, machines: [{ ...good.machines[0]!, file: '../../etc/passwd.qcow2' }] };
    expect(() => parseSnapshotMetadata(JSON.stringify(escaping))).toThrow(/machines\.0\.file/);
  });

  it('refuses a snapshot made by another QEMU version, machine type, accelerator, older than its certificates allow, or whose base disk is gone', () => {
    const meta = metadataFor('0123456789abcdef', [{ name: 'n', file: 'n.qcow2', sha256: 'a'.repeat(64), sizeBytes: 10 }]);
    expect(incompatibility(meta, meta.key, HOST)).toBeUndefined();
    expect(incompatibility(meta, meta.key, { ...HOST, version: '8.2.0' })).toBe('it was made by QEMU 7.2.19, this host has QEMU 8.2.0');
    expect(incompatibility(meta, meta.key, { ...HOST, machine: 'raspi3b', cpu: '' })).toMatch(/made for machine virt \(cpu cortex-a72\), this board is raspi3b/);
    expect(incompatibility(meta, meta.key, { ...HOST, accel: 'kvm' })).toMatch(/saved under tcg/);
    expect(incompatibility(meta, 'fedcba9876543210', HOST)).toMatch(/not the requested/);
    const created = Date.parse(meta.createdAt);
    expect(incompatibility(meta, meta.key, HOST, created + 24 * 86_400_000)).toBeUndefined();
    expect(incompatibility(meta, meta.key, HOST, created + 26 * 86_400_000)).toBe('it is 26 days old; the certificates of the cluster in it are valid for 30 days, snapshots for 25');
    rmSync(base);
    expect(incompatibility(meta, meta.key, HOST)).toMatch(/base disk it is backed by is gone/);
  });
});

describe('SnapshotStore', () => {
  it('publishes atomically: the dir appears complete, verified, 0600 metadata; find returns it', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    const stored = await publish(store, '0123456789abcdef');
    expect(existsSync(`${stored.dir}.partial`)).toBe(false);
    expect(statSync(join(stored.dir, SNAPSHOT_METADATA)).mode & 0o777).toBe(0o600);
    expect((await store.find('0123456789abcdef', HOST)).snapshot?.metadata.machines[0]?.name).toBe('ep-1-cp-0');
    expect(await store.find('fedcba9876543210', HOST)).toEqual({});
  });

  it('never publishes a file without the saved state in it (an interrupted savevm), nor leaves a partial dir', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    const source = join(dir, 'no-tag.qcow2');
    overlayWithSnapshot(source, 'other-tag');
    await expect(
      store.publish('0123456789abcdef', async (partial) => {
        const copied = await copyHashed(source, join(partial, 'n.qcow2'));
        return metadataFor('0123456789abcdef', [{ name: 'n', file: 'n.qcow2', sha256: copied.sha256, sizeBytes: copied.bytes }]);
      }),
    ).rejects.toThrow(/holds no "edgeproof-ready" state \(tags: other-tag\)/);
    expect(store.list()).toEqual([]);
  });

  it('refuses and deletes a snapshot from another QEMU version, saying why', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    await publish(store, '0123456789abcdef', { qemu: { ...HOST, version: '7.1.0' } });
    const found = await store.find('0123456789abcdef', HOST);
    expect(found).toEqual({ refused: 'it was made by QEMU 7.1.0, this host has QEMU 7.2.19' });
    expect(existsSync(store.dir('0123456789abcdef'))).toBe(false);
  });

  it('detects a corrupted snapshot file on restore: throws, deletes the snapshot and the copy', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    const stored = await publish(store, '0123456789abcdef');
    const file = join(stored.dir, stored.metadata.machines[0]!.file);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('corrupt'), 0, 7, statSync(file).size - 4096);
    closeSync(fd);
    const snapshot = (await store.find('0123456789abcdef', HOST)).snapshot!;
    const target = join(dir, 'restored.qcow2');
    await expect(store.restoreDisks(snapshot, [target])).rejects.toThrow(CacheCorruptError);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(stored.dir)).toBe(false);
  });

  it('does not take a snapshot that another run replaced after it was found for a corrupt one: it is kept, the copy refused', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    await publish(store, '0123456789abcdef');
    const found = (await store.find('0123456789abcdef', HOST)).snapshot!;
    const replacement = await publish(store, '0123456789abcdef');
    const target = join(dir, 'restored.qcow2');
    await expect(store.restoreDisks(found, [target])).rejects.toThrow(/snapshot 0123456789abcdef was removed or replaced by another edgeproof process after this run found it/);
    expect(existsSync(target)).toBe(false);
    expect((await store.find('0123456789abcdef', HOST)).snapshot?.metadata).toEqual(replacement.metadata);
  });

  it('copies an intact file out with the same bytes', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    const stored = await publish(store, '0123456789abcdef');
    const target = join(dir, 'restored.qcow2');
    await store.restoreDisks(stored, [target]);
    expect(readFileSync(target).equals(readFileSync(join(stored.dir, 'ep-1-cp-0.qcow2')))).toBe(true);
    expect(execFileSync('qemu-img', ['snapshot', '-l', target], { encoding: 'utf8' })).toContain(SNAPSHOT_TAG);
  });

  it('refuses a snapshot whose metadata is unreadable or whose file is truncated', async () => {
    const store = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    const stored = await publish(store, '0123456789abcdef');
    writeFileSync(join(stored.dir, 'ep-1-cp-0.qcow2'), 'short');
    expect((await store.find('0123456789abcdef', HOST)).refused).toBe('ep-1-cp-0.qcow2 is missing or has the wrong size');
    const again = await publish(store, '0123456789abcdef');
    writeFileSync(join(again.dir, SNAPSHOT_METADATA), '{');
    expect((await store.find('0123456789abcdef', HOST)).refused).toMatch(/not JSON/);
  });

  it('evicts least recently used snapshots beyond the limit, never the one in use', async () => {
    const keys = ['000000000000000a', '000000000000000b', '000000000000000c'];
    const unlimited = new SnapshotStore(join(dir, 'cache'), 2 ** 40);
    for (const key of keys) await publish(unlimited, key);
    const each = unlimited.list()[0]!.sizeBytes;
    // b used long ago, then a, then c most recently.
    const at = (key: string, secondsAgo: number) => utimesSync(join(unlimited.dir(key), SNAPSHOT_METADATA), new Date(Date.now() - secondsAgo * 1000), new Date(Date.now() - secondsAgo * 1000));
    at('000000000000000b', 300);
    at('000000000000000a', 200);
    at('000000000000000c', 100);
    const limited = new SnapshotStore(join(dir, 'cache'), each * 2);
    expect(await limited.evict('000000000000000b')).toEqual(['000000000000000a']);
    expect(limited.list().map((e) => e.key).sort()).toEqual(['000000000000000b', '000000000000000c']);
    const none = new SnapshotStore(join(dir, 'cache'), 0);
    expect(await none.evict('000000000000000c')).toEqual(['000000000000000b']);
    expect(none.list().map((e) => e.key)).toEqual(['000000000000000c']);
  });

  it('parses size limits', () => {
    expect(parseSizeLimit('20G')).toBe(20 * 2 ** 30);
    expect(parseSizeLimit('512M')).toBe(512 * 2 ** 20);
    expect(parseSizeLimit('0')).toBe(0);
    expect(() => parseSizeLimit('lots')).toThrow(/not a size/);
  });
});

describe('SnapshotStore across processes', () => {
  it('find, restore, remove and evict wait while another process saves', async () => {
    const cacheDir = join(dir, 'cache');
    const store = new SnapshotStore(cacheDir, 2 ** 40);
    await publish(store, '000000000000000a');
    const restorable = await publish(store, '000000000000000c');
    const other = await otherProcessSaving(dir, base, cacheDir, '000000000000000b');

    const { finished, track } = finishing();
    const target = join(dir, 'restored.qcow2');
    const operations = [
      track('find', store.find('000000000000000a', HOST)),
      track('restore', store.restoreDisks(restorable, [target])),
      track('remove', store.remove('000000000000000a')),
      track('evict', store.evict()),
    ];
    await sleep(1_500);
    expect(finished).toEqual([]);
    expect(existsSync(store.dir('000000000000000a'))).toBe(true);
    expect(existsSync(target)).toBe(false);

    other.release();
    await Promise.all(operations);
    expect((await other.child).stdout).toContain('published');
    expect(finished.sort()).toEqual(['evict', 'find', 'remove', 'restore']);
    expect(readFileSync(target).equals(readFileSync(join(restorable.dir, 'ep-1-cp-0.qcow2')))).toBe(true);
    expect(store.list().map((e) => [e.key, e.complete]).sort()).toEqual([
      ['000000000000000b', true],
      ['000000000000000c', true],
    ]);
  }, 60_000);
});
