import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base } from 'vitest';
import { RunContext } from '../src/core/context.js';
import { silentProgress, createProgress } from '../src/core/progress.js';
import { boardByName, hostArch, type Arch, type Board } from '../src/emulation/boards.js';
import { generateSshKey, type SshKeyPair } from '../src/emulation/guest/ssh-connection.js';
import { ensureGuestImages } from '../src/emulation/images/guest-images.js';
import { QemuBoard, type GuestImages } from '../src/emulation/qemu/qemu-board.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { processCmdline } from '../src/core/session.js';
import { readdirSync } from 'node:fs';
import type { StartedCluster, Topology } from '../src/cluster/distribution.js';
import type { RunEvent } from '../src/core/events.js';
import { startContainerMachines } from '../src/emulation/container/container-backend.js';
import { startQemuMachines } from '../src/emulation/qemu/qemu-backend.js';
import { readyQemuCluster, type ReadyCluster } from '../src/run/cluster-snapshots.js';
import { backendTimeoutScale, machineRecipe } from '../src/run/run-spec.js';
import { measureBaseline, type MemoryBaseline } from '../src/bench/footprint.js';
import type { SnapshotStore } from '../src/emulation/qemu/machine-snapshot.js';
import { ensureNodeImage } from '../src/emulation/container/node-image.js';

/**
 * Integration tests share the real build cache; progress is shown so long
 * builds are visible. The default timeout scale is the one `edgeproof run`
 * picks for an rpi4 on this host (the QEMU backend's: 8 under TCG). Node
 * containers deliberately use 2 rather than their backend's 1
 * (CONTAINER_TIMEOUT_SCALE): the tests share two cores with whatever else runs.
 */
export const CONTAINER_TIMEOUT_SCALE = 2;

const rpi4 = boardByName('rpi4');
export const BOARD_TIMEOUT_SCALE = await backendTimeoutScale('qemu', { board: rpi4, memoryMiB: rpi4.memoryMiB, nodes: { controlPlanes: 1, workers: 0 } });

export function newRunContext(label: string, timeoutScale = BOARD_TIMEOUT_SCALE): RunContext {
  const runDir = mkdtempSync(join(tmpdir(), `ep-test-${label}-`));
  const ctx = new RunContext({ runDir, timeoutScale, progress: process.env.EDGEPROOF_TEST_QUIET ? silentProgress : createProgress() });
  // Registered first, so removed last: logs do not outlive the test (secrets end with the context).
  ctx.scope.defer('remove test run dir', () => rmSync(runDir, { recursive: true, force: true }));
  ctx.events.emit({ type: 'run-start', runId: ctx.runId, argv: [], config: { test: label } });
  return ctx;
}

/**
 * Images per architecture: arm64 boards boot the upstream distribution's disk
 * (the one the demo uses, so the cache is shared); x86 boots the base disk.
 */
export async function imagesFor(ctx: RunContext, arch: Arch): Promise<GuestImages> {
  if (arch === 'arm64') {
    const upstream = new UpstreamDistribution();
    return ensureGuestImages(ctx, { arch, packages: upstream.guestPackages(), payloads: await upstream.diskPayloads(ctx, arch) });
  }
  return ensureGuestImages(ctx, { arch, packages: [], payloads: [] });
}

export async function bootBoard(ctx: RunContext, board: Board | string, key: SshKeyPair = generateSshKey('test'), ports: number[] = []) {
  const spec = typeof board === 'string' ? boardByName(board) : board;
  const images = await imagesFor(ctx, spec.arch);
  return new QemuBoard(spec).withName(`ep-${ctx.tag}-${spec.name}`).withImages(images).withSshKey(key).withForwardedPorts(...ports).start(ctx);
}

/** PIDs of QEMU processes whose command line carries `marker` (a run's tag). */
export function qemuProcesses(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      const cmdline = processCmdline(pid);
      return cmdline !== undefined && cmdline.includes('qemu-system') && cmdline.includes(marker);
    });
}

export const test = base;

/** The upstream node-container image for this host's architecture (what the container tests start). */
export async function nodeImage(ctx: RunContext): Promise<string> {
  const upstream = new UpstreamDistribution();
  const arch = hostArch();
  return ensureNodeImage(ctx, { arch, packages: upstream.guestPackages(), payloads: await upstream.diskPayloads(ctx, arch) });
}

/** A cluster of node containers (native speed) with the upstream distribution: the multi-node and HA path of the tests. */
export async function startContainerCluster(ctx: RunContext, topology: Topology): Promise<StartedCluster> {
  const distribution = new UpstreamDistribution();
  const machines = await startContainerMachines(ctx, { nodes: topology }, machineRecipe(distribution));
  return distribution.formCluster(ctx, machines, topology);
}

/** Two nodes (a control plane and a worker) on the container backend. */
export function startTwoNodeCluster(ctx: RunContext): Promise<StartedCluster> {
  return startContainerCluster(ctx, { controlPlanes: 1, workers: 1 });
}

/**
 * A single-node upstream cluster on an emulated rpi4, as `edgeproof run`
 * makes it: restored from the snapshot in `store` (by default the shared
 * cache's, so a warm CI restores instead of booting cold), else brought up
 * cold and saved there.
 */
export async function readyRpi4Cluster(ctx: RunContext, store?: SnapshotStore): Promise<ReadyCluster> {
  const board = boardByName('rpi4');
  const distribution = new UpstreamDistribution();
  const topology = { controlPlanes: 1, workers: 0 };
  const images = await imagesFor(ctx, 'arm64');
  const recipe = machineRecipe(distribution);
  return readyQemuCluster(ctx, { board, distribution, topology, images, memoryMiB: board.memoryMiB, ports: recipe.ports }, { cold: false, ...(store ? { store } : {}) }, async (key) => {
    const machines = await startQemuMachines(ctx, { board, memoryMiB: board.memoryMiB, nodes: topology }, recipe, { images, key });
    const baselines: Record<string, MemoryBaseline> = {};
    for (const m of machines) baselines[m.name] = await measureBaseline(async (command) => (await m.exec(command)).stdout);
    return { machines, cluster: await distribution.formCluster(ctx, machines, topology), extra: { baselines } };
  });
}

export type CheckEvent = Extract<RunEvent, { type: 'check' }>;

/** The check events a run recorded, of one suite when given. */
export function checkEvents(ctx: RunContext, suite?: string): CheckEvent[] {
  return ctx.events.events.filter((e): e is CheckEvent => e.type === 'check' && (suite === undefined || e.suite === suite));
}
