/**
 * Another edgeproof process saving a snapshot, for machine-snapshot.test.ts:
 * publishes `source` under `key` and, inside the save, writes `holding` and
 * waits until `release` exists, so the test acts while the save is under way.
 *   node --import tsx snapshot-saver-child.ts '<json: cacheDir, key, source, base, holding, release>'
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotStore, copyHashed } from '../machine-snapshot.js';

const { cacheDir, key, source, base, holding, release } = JSON.parse(process.argv[2]!) as Record<string, string>;
const store = new SnapshotStore(cacheDir!, 2 ** 40);
await store.publish(key!, async (partial) => {
  const copied = await copyHashed(source!, join(partial, 'ep-1-cp-0.qcow2'));
  writeFileSync(holding!, '');
  while (!existsSync(release!)) await sleep(50);
  return {
    format: 1,
    key: key!,
    label: 'saved by another process',
    inputs: {},
    qemu: { version: '7.2.19', binary: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a72', accel: 'tcg' },
    createdAt: new Date().toISOString(),
    saveMs: 1,
    machines: [{ name: 'ep-1-cp-0', file: 'ep-1-cp-0.qcow2', sha256: copied.sha256, sizeBytes: copied.bytes, backingFile: base!, mac: '52:54:00:12:34:56', memoryMiB: 2048, kernelParams: [] }],
    extra: {},
  };
});
process.stdout.write('published\n');
