import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureArtifact, type ArtifactContext } from '../core/artifact-cache.js';
import { RunContext } from '../core/context.js';
import type { Progress } from '../core/progress.js';
import { UpstreamDistribution } from '../distros/upstream/upstream-distribution.js';
import { boardByName } from '../emulation/boards.js';
import { generateSshKey } from '../emulation/guest/ssh-key.js';
import { guestImages } from '../emulation/images/guest-images.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_TAG, SnapshotStore, copyHashed } from '../emulation/qemu/machine-snapshot.js';
import { qemuArgs } from '../emulation/qemu/qemu-args.js';
import type { GuestImages } from '../emulation/qemu/qemu-board.js';
import { QmpClient } from '../emulation/qemu/qmp-client.js';
import { machineRecipe } from './run-spec.js';
import { planSnapshot, readyQemuCluster, writeSnapshotKey, type ClusterRecipe, type Snapshotting } from './cluster-snapshots.js';

/**
 * Snapshots against real artifacts, real qcow2 files and a real QEMU: what a
 * snapshot is keyed by, and when a failed restore may delete one. The guest
 * is a paused machine with a blank kernel: QEMU saves and loads its state
 * like a cluster's, and SSH never answers in it.
 */

const board = boardByName('rpi4');
const MACHINE = 'ep-test-cp-0';
const MAC = '52:54:00:12:34:56';
const KERNEL_PARAMS = [`ep.hostname=${MACHINE}`];

let root: string;
let cacheDir: string;
let contexts: RunContext[];
let diskBuilds: number;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ep-cluster-snapshots-'));
  cacheDir = join(root, 'cache');
  contexts = [];
  diskBuilds = 0;
});
afterEach(async () => {
  for (const ctx of contexts) await ctx.dispose();
  rmSync(root, { recursive: true, force: true });
});

function runContext(info: string[] = [], timeoutScale = 1): RunContext {
  const progress: Progress = { start() {}, end() {}, info: (line) => info.push(line) };
  const ctx = new RunContext({ runDir: join(root, `run-${contexts.length}`), cacheDir, progress, timeoutScale });
  contexts.push(ctx);
  return ctx;
}

/**
 * A boot kit and a base disk as the artifact cache keeps them (checksummed,
 * verified on every use, rebuilt when corrupt); each build of the disk
 * writes other bytes, as a rebuilt root filesystem does.
 */
async function cachedImages(): Promise<GuestImages> {
  const artifacts: ArtifactContext = { cacheDir, progress: { start() {}, end() {}, info() {} }, signal: new AbortController().signal };
  const kit = await ensureArtifact(artifacts, {
    kind: 'kernel',
    label: 'blank boot kit',
    inputs: { test: 'kit' },
    build: async (out) => {
      writeFileSync(join(out, 'vmlinuz'), Buffer.alloc(64 * 1024));
      writeFileSync(join(out, 'initrd.img'), Buffer.alloc(4096));
    },
  });
  const disk = await ensureArtifact(artifacts, {
    kind: 'disk',
    label: 'test base disk',
    inputs: { test: 'disk' },
    build: async (out) => {
      diskBuilds += 1;
      const file = join(out, 'disk.qcow2');
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
      execFileSync('qemu-io', ['-c', `write -P ${diskBuilds} 0 1M`, file], { stdio: 'ignore' });
    },
  });
  return guestImages(kit, disk);
}

function recipe(images: GuestImages): ClusterRecipe {
  const distribution = new UpstreamDistribution();
  return { board, distribution, topology: { controlPlanes: 1, workers: 0 }, memoryMiB: board.memoryMiB, images, ports: machineRecipe(distribution).ports };
}

/**
 * Saves a real machine state as a run does (savevm on an overlay of the base
 * disk) and publishes it under the plan's key. `savedMemoryMiB` other than the
 * board's makes a state this QEMU refuses to load into the board.
 */
async function saveSnapshot(store: SnapshotStore, plan: Snapshotting, images: GuestImages, savedMemoryMiB = board.memoryMiB) {
  const work = mkdtempSync(join(root, 'save-'));
  const overlay = join(work, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', images.baseDisk, overlay]);
  const spec = {
    board,
    name: MACHINE,
    memoryMiB: savedMemoryMiB,
    cpus: board.cpus,
    accel: 'tcg' as const,
    bootKit: images.bootKit,
    disk: overlay,
    consoleLog: join(work, 'console.log'),
    qmpSocket: join(work, 'qmp.sock'),
    pidFile: join(work, 'qemu.pid'),
    forwards: [],
    mac: MAC,
    kernelParams: KERNEL_PARAMS,
  };
  const qemu = spawn(board.qemuBinary, [...qemuArgs(spec), '-S'], { stdio: 'ignore' });
  const qmp = await QmpClient.connect(spec.qmpSocket, 15_000);
  expect(await qmp.humanMonitor(`savevm ${SNAPSHOT_TAG}`)).toBe('');
  await Promise.all([once(qemu, 'exit'), qmp.execute('quit').catch(() => undefined)]);
  const key = generateSshKey('snapshot');
  return store.publish(plan.key, async (partial) => {
    const copied = await copyHashed(overlay, join(partial, `${MACHINE}.qcow2`));
    writeSnapshotKey(partial, key);
    return {
      format: SNAPSHOT_FORMAT,
      key: plan.key,
      label: plan.label,
      inputs: plan.inputs,
      qemu: plan.host,
      createdAt: new Date().toISOString(),
      saveMs: 1,
      machines: [{ name: MACHINE, file: `${MACHINE}.qcow2`, sha256: copied.sha256, sizeBytes: copied.bytes, backingFile: images.baseDisk, mac: MAC, memoryMiB: board.memoryMiB, cpus: board.cpus, kernelParams: KERNEL_PARAMS }],
      extra: {},
    };
  });
}

/** Stands for the cold bring-up: the tests stop where a run would boot cold. */
const COLD = 'cold bring-up reached';
const coldBringUp = async (): Promise<never> => {
  throw new Error(COLD);
};

function failedPhases(ctx: RunContext): Record<string, string> {
  return Object.fromEntries(
    ctx.events.events.flatMap((e) => (e.type === 'phase-end' && e.outcome === 'failed' ? [[(e as { phase: string }).phase, String((e as { error?: string }).error)]] : [])),
  );
}

describe('snapshot key', () => {
  it('follows the base disk content: a base rebuilt at the same path with other bytes does not find the old snapshot', async () => {
    const ctx = runContext();
    const store = new SnapshotStore(cacheDir, 2 ** 40);
    const first = await cachedImages();
    const plan = await planSnapshot(ctx, recipe(first), store);
    await saveSnapshot(store, plan, first);
    expect((await store.find(plan.key, plan.host)).snapshot?.key).toBe(plan.key);

    // The base disk is damaged; the artifact cache notices and rebuilds it where it was.
    const fd = openSync(first.baseDisk, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xee), 0, 4096, Math.floor(statSync(first.baseDisk).size / 2));
    closeSync(fd);
    const rebuilt = await cachedImages();
    expect(diskBuilds).toBe(2);
    expect(rebuilt.baseDisk).toBe(first.baseDisk);
    expect(rebuilt.sha256.baseDisk).not.toBe(first.sha256.baseDisk);

    const replan = await planSnapshot(ctx, recipe(rebuilt), store);
    expect(replan.key).not.toBe(plan.key);
    expect(await store.find(replan.key, replan.host)).toEqual({});
  }, 60_000);

  it('stays the same while the images are unchanged', async () => {
    const ctx = runContext();
    const images = await cachedImages();
    const again = await cachedImages();
    expect(diskBuilds).toBe(1);
    expect((await planSnapshot(ctx, recipe(again))).key).toBe((await planSnapshot(ctx, recipe(images))).key);
  });
});

describe('a failed restore', () => {
  it('keeps the snapshot when the failure proves nothing against it (the SSH wait after resume ran out)', async () => {
    const info: string[] = [];
    // A budget too short for SSH to answer: the restore fails after QEMU loaded the state.
    const ctx = runContext(info, 0.02);
    const store = new SnapshotStore(cacheDir, 2 ** 40);
    const images = await cachedImages();
    const plan = await planSnapshot(ctx, recipe(images), store);
    const saved = await saveSnapshot(store, plan, images);

    await expect(readyQemuCluster(ctx, recipe(images), { cold: false, store }, coldBringUp)).rejects.toThrow(COLD);
    const failed = failedPhases(ctx);
    expect(Object.keys(failed)).toEqual(['resume machines']);
    expect(failed['resume machines']).toMatch(/SSH on 127\.0\.0\.1:\d+.*not reached/);
    const kept = await store.find(plan.key, plan.host);
    expect(kept.snapshot?.metadata.createdAt).toBe(saved.metadata.createdAt);
    expect(info.join('\n')).toMatch(new RegExp(`snapshot ${plan.key} kept \\(this failure does not prove it bad; .*\\), booting cold: .*SSH on 127`));
  }, 60_000);

  it('deletes the snapshot when QEMU refuses its saved state, and says so', async () => {
    const info: string[] = [];
    const ctx = runContext(info);
    const store = new SnapshotStore(cacheDir, 2 ** 40);
    const images = await cachedImages();
    const plan = await planSnapshot(ctx, recipe(images), store);
    await saveSnapshot(store, plan, images, 1024);

    await expect(readyQemuCluster(ctx, recipe(images), { cold: false, store }, coldBringUp)).rejects.toThrow(COLD);
    expect(failedPhases(ctx)['restore machines']).toMatch(/could not load saved state "edgeproof-ready": QEMU says ".*Size mismatch: mach-virt\.ram/);
    expect(existsSync(store.dir(plan.key))).toBe(false);
    expect(info.join('\n')).toMatch(new RegExp(`snapshot ${plan.key} deleted \\(proof it can never be restored\\), booting cold and saving a new one: .*QEMU says ".*Size mismatch`));
  }, 60_000);
});
