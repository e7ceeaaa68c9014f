import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../core/context.js';
import { hashFiles } from '../core/artifact-cache.js';
import { allOrFirstError } from '../core/concurrency.js';
import { CacheCorruptError, describeError } from '../core/errors.js';
import { projectRoot } from '../core/paths.js';
import type { MemoryBaseline } from '../bench/footprint.js';
import type { Board } from '../emulation/boards.js';
import { runSshKey, type SshKeyPair } from '../emulation/guest/ssh-key.js';
import { detectAccel, qemuVersion } from '../emulation/qemu/host-probe.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_TAG, SnapshotStore, copyHashed, snapshotKey, type SnapshotHost, type SnapshotMetadata, type StoredSnapshot } from '../emulation/qemu/machine-snapshot.js';
import { PrivateNetwork, subnetPrefix } from '../emulation/qemu/private-network.js';
import { QemuBoard, SavedStateRefusedError, type GuestImages, type QemuMachine } from '../emulation/qemu/qemu-board.js';
import type { Distribution, GuestClockSet, StartedCluster, Topology } from '../cluster/distribution.js';
import { formatTopology } from '../cluster/topology.js';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { waitFor } from '../core/wait.js';
import { kube, kubeClients } from '../cluster/kube-access.js';
import { missingDefaultServiceAccount } from '../cluster/kube-access.js';

/**
 * Ready clusters from snapshots (QEMU backend): after a cold bring-up the
 * whole cluster is saved once; later runs with the same key restore every
 * machine together, set the clocks, move the guests to this run's SSH key,
 * issue this run's admin credentials, and wait for Ready.
 */

/** What a cluster is made of, for its snapshot key. */
export interface ClusterRecipe {
  board: Board;
  distribution: Distribution;
  topology: Topology;
  /** Per board: memory in MiB, vCPUs (absent: the board's own). */
  memoryMiB: number;
  cpus?: number;
  images: GuestImages;
  /** Guest ports forwarded to the harness: the distribution's own (see machineRecipe). */
  ports: number[];
}

/** Saved beside the machines: what the run that made the cluster measured before install. */
export interface SnapshotExtra {
  baselines: Record<string, MemoryBaseline>;
  slowdown?: Record<string, unknown>;
}

export interface ClusterOrigin {
  kind: 'cold' | 'restored';
  snapshotKey?: string;
  /** When the snapshot was saved (restored), or that it was saved by this run (cold). */
  snapshotCreatedAt?: string;
  saved?: boolean;
  /** Why a snapshot was not used (refused, corrupt, --cold). */
  reason?: string;
}

/** Files and versions that shape the saved guest state beyond the images: the harness's side of the key. */
const HARNESS_FILES = (distro: string) => [`src/distros/${distro}`, 'fixtures/guest'];

export function snapshotInputs(recipe: ClusterRecipe, qemu: SnapshotHost): Record<string, unknown> {
  const { board, distribution, topology, images } = recipe;
  return {
    format: SNAPSHOT_FORMAT,
    board: board.name,
    qemu,
    memoryMiB: recipe.memoryMiB,
    cpus: recipe.cpus ?? board.cpus,
    distro: distribution.name,
    distroVersion: distribution.version,
    topology: formatTopology(topology),
    // Path and content: the saved overlays name their base by path, and a base
    // rebuilt at the same path (after corruption) is another disk under them.
    kernel: { path: images.bootKit.kernel, sha256: images.sha256.kernel },
    initrd: { path: images.bootKit.initrd, sha256: images.sha256.initrd },
    baseDisk: { path: images.baseDisk, sha256: images.sha256.baseDisk },
    harness: { version: packageVersion(), files: hashFiles(projectRoot(), HARNESS_FILES(distribution.name)) },
  };
}

export async function snapshotHost(board: Board): Promise<SnapshotHost> {
  return { version: await qemuVersion(board.qemuBinary), binary: board.qemuBinary, machine: board.machine, cpu: board.cpu, accel: (await detectAccel(board)).accel };
}

export interface Snapshotting {
  store: SnapshotStore;
  key: string;
  label: string;
  inputs: Record<string, unknown>;
  host: SnapshotHost;
}

export async function planSnapshot(ctx: RunContext, recipe: ClusterRecipe, store = new SnapshotStore(ctx.cacheDir)): Promise<Snapshotting> {
  const host = await snapshotHost(recipe.board);
  const inputs = snapshotInputs(recipe, host);
  const label = `${recipe.distribution.name} ${recipe.distribution.version} ${formatTopology(recipe.topology)} on ${recipe.board.name} (QEMU ${host.version}, ${host.accel})`;
  return { store, key: snapshotKey(inputs), label, inputs, host };
}

/** A started cluster and what it is made of; dispose() tears it down before the run ends (a fresh restore). */
export interface ReadyCluster {
  machines: QemuMachine[];
  cluster: StartedCluster;
  network?: PrivateNetwork;
  extra: SnapshotExtra;
  origin: ClusterOrigin;
  dispose(): Promise<void>;
}

/**
 * Saves a Ready cluster: every machine stopped at once, `savevm` on each,
 * each overlay copied out while stopped (hashed on the way), verified,
 * published, then the machines run again with their clocks set. The
 * snapshot's SSH key is stored 0600 beside it (the saved guests trust it).
 */
export async function saveClusterSnapshot(ctx: RunContext, plan: Snapshotting, ready: { machines: QemuMachine[]; privatePrefix?: string; extra: SnapshotExtra; key: SshKeyPair }): Promise<StoredSnapshot> {
  return ctx.phase('save snapshot', ctx.scaled(60_000) + 60_000, async (signal) => {
    const started = Date.now();
    await Promise.all(ready.machines.map((m) => m.qmp('stop')));
    try {
      const stored = await plan.store.publish(plan.key, async (partial) => {
        const machines = await Promise.all(
          ready.machines.map(async (machine) => {
            await machine.saveSnapshot(SNAPSHOT_TAG);
            const settings = machine.savedSettings;
            const file = `${machine.name}.qcow2`;
            const copied = await copyHashed(settings.disk, join(partial, file), signal);
            const { disk: _disk, ...guestVisible } = settings;
            return { name: machine.name, file, sha256: copied.sha256, sizeBytes: copied.bytes, ...guestVisible };
          }),
        );
        writeSnapshotKey(partial, ready.key);
        const metadata: SnapshotMetadata = {
          format: SNAPSHOT_FORMAT,
          key: plan.key,
          label: plan.label,
          inputs: plan.inputs,
          qemu: plan.host,
          createdAt: new Date().toISOString(),
          saveMs: Date.now() - started,
          machines,
          ...(ready.privatePrefix ? { privatePrefix: ready.privatePrefix } : {}),
          extra: ready.extra as unknown as Record<string, unknown>,
        };
        return metadata;
      });
      const evicted = await plan.store.evict(plan.key).catch((error: unknown) => {
        ctx.progress.info(`snapshot cache not trimmed to its limit: ${describeError(error)}`);
        return [];
      });
      if (evicted.length) ctx.progress.info(`snapshot cache over its limit: evicted ${evicted.join(', ')} (least recently used)`);
      ctx.progress.info(`saved snapshot ${plan.key} (${plan.label}) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return stored;
    } finally {
      await Promise.all(ready.machines.map((m) => m.qmp('cont').catch(() => undefined)));
      // The pause stopped the guests' clocks.
      await Promise.all(ready.machines.map((m) => m.setClockFromHost().catch(() => 0)));
    }
  });
}

/**
 * Restores the snapshot: every disk copied out and checked first (a corrupt
 * one throws CacheCorruptError before anything starts), every QEMU launched
 * paused with -loadvm, then all resumed together; clocks set from the host,
 * guests moved to this run's SSH key, the distribution takes over.
 */
export async function restoreCluster(ctx: RunContext, plan: Snapshotting, snapshot: StoredSnapshot, recipe: ClusterRecipe): Promise<ReadyCluster> {
  const { metadata } = snapshot;
  const started = Date.now();
  const machines: QemuMachine[] = [];
  let network: PrivateNetwork | undefined;
  const dispose = async () => {
    await Promise.all(machines.map((m) => m.dispose()));
    await network?.dispose();
  };
  mkdirSync(ctx.tempDir, { recursive: true });
  try {
    const staged = metadata.machines.map((m) => join(ctx.tempDir, `restore-${m.name}.qcow2`));
    await ctx.phase('copy snapshot', ctx.scaled(30_000) + 30_000, (signal) => plan.store.restoreDisks(snapshot, staged, signal));
    const savedKey = readSnapshotKey(snapshot.dir);
    const names = metadata.machines.map((m) => m.name);
    if (names.length > 1) network = await PrivateNetwork.start(ctx, names, metadata.privatePrefix);
    // Every start settles before a failure propagates: a sibling still starting would be missed by dispose.
    await ctx.phase('restore machines', ctx.scaled(30_000) + 30_000, () =>
      allOrFirstError(
        metadata.machines.map(async (m, index) => {
          let builder = new QemuBoard(recipe.board)
            .withName(m.name)
            .withMemory(`${m.memoryMiB}M`)
            .withCpus(m.cpus)
            .withImages(recipe.images)
            .withSshKey(savedKey)
            .withForwardedPorts(...recipe.ports)
            .withRestore({ disk: async (target) => renameSync(staged[index]!, target), tag: SNAPSHOT_TAG, mac: m.mac, kernelParams: m.kernelParams });
          if (network) builder = builder.withPrivateNetwork(network, index);
          machines[index] = await builder.start(ctx);
        }),
      ),
    );
    const runKey = runSshKey(ctx);
    const clock = await ctx.phase('resume machines', ctx.scaled(30_000) + 15_000, async (): Promise<GuestClockSet> => {
      await Promise.all(machines.map((m) => m.resume()));
      const corrections = await Promise.all(machines.map((m) => m.setClockFromHost()));
      const setAt = Date.now();
      ctx.progress.info(`guest clocks set from the host (${machines.map((m, i) => `${m.name} +${((corrections[i] ?? 0) / 1000).toFixed(0)}s`).join(', ')})`);
      await Promise.all(machines.map((m) => m.rotateSshKey(runKey)));
      return { setAt };
    });
    const cluster = await recipe.distribution.resumeCluster!(ctx, machines, recipe.topology, clock);
    const readyMs = Date.now() - started;
    ctx.events.emit({ type: 'measurement', id: 'BOOT-0/restore-nodeReady', suite: 'bring-up', name: 'snapshot restore start to every node Ready', unit: 'ms', value: readyMs, node: machines[0]!.name });
    ctx.progress.info(`cluster restored from snapshot ${snapshot.key}, Ready ${(readyMs / 1000).toFixed(1)}s after the restore started`);
    return {
      machines,
      cluster,
      ...(network ? { network } : {}),
      extra: metadata.extra as unknown as SnapshotExtra,
      origin: { kind: 'restored', snapshotKey: snapshot.key, snapshotCreatedAt: metadata.createdAt },
      dispose: async () => {
        await cluster[Symbol.asyncDispose]();
        await dispose();
      },
    };
  } catch (error) {
    await dispose().catch(() => undefined);
    for (const m of metadata.machines) rmSync(join(ctx.tempDir, `restore-${m.name}.qcow2`), { force: true });
    throw error;
  }
}

/** The SSH key the saved guests trust, kept 0600 beside their disks. */
export function writeSnapshotKey(dir: string, key: SshKeyPair): void {
  writeFileSync(join(dir, 'ssh_key'), key.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'ssh_key.pub'), key.publicKey, { mode: 0o600 });
}

function readSnapshotKey(dir: string): SshKeyPair {
  return { privateKey: readFileSync(join(dir, 'ssh_key'), 'utf8'), publicKey: readFileSync(join(dir, 'ssh_key.pub'), 'utf8') };
}

/** A cold bring-up, as the run does it without snapshots: machines booted with `key`, measured, cluster formed. */
export type ColdBringUp = (key: SshKeyPair) => Promise<{ machines: QemuMachine[]; cluster: StartedCluster; extra: SnapshotExtra }>;

/**
 * The cluster of a QEMU run: restored from its snapshot when there is a
 * usable one, else brought up cold and saved (unless `cold`: --cold neither
 * restores nor replaces a snapshot). A snapshot proven bad (refused, corrupt,
 * its state refused by QEMU) is deleted with a message and rebuilt; one that
 * failed for any other reason is kept as it is and the run boots cold.
 */
export async function readyQemuCluster(ctx: RunContext, recipe: ClusterRecipe, options: { cold: boolean; store?: SnapshotStore }, coldBringUp: ColdBringUp): Promise<ReadyCluster> {
  const plan = await planSnapshot(ctx, recipe, options.store);
  let reason = options.cold ? '--cold' : undefined;
  let keptSnapshot = false;
  if (!options.cold) {
    const found = await plan.store.find(plan.key, plan.host);
    if (found.refused) {
      reason = `refused: ${found.refused}`;
      ctx.progress.info(`snapshot ${plan.key} refused (${found.refused}); deleted, booting cold and saving a new one`);
    }
    if (found.unavailable) {
      reason = `unavailable: ${found.unavailable}`;
      keptSnapshot = true;
      ctx.progress.info(`snapshot ${plan.key} could not be looked up (${found.unavailable}); kept, booting cold`);
    }
    if (found.snapshot) {
      try {
        return await restoreCluster(ctx, plan, found.snapshot, recipe);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        const failed = await settleFailedRestore(plan.store, found.snapshot, error);
        reason = failed.reason;
        keptSnapshot = !failed.deleted;
        ctx.progress.info(failed.message);
      }
    } else reason ??= 'no snapshot yet';
  }
  const key = runSshKey(ctx);
  const cold = await coldBringUp(key);
  const origin: ClusterOrigin = { kind: 'cold', snapshotKey: plan.key, ...(reason ? { reason } : {}) };
  if (!options.cold && !keptSnapshot) {
    // startQemuMachines put several boards on the run's own segment.
    const privatePrefix = cold.machines.length > 1 ? subnetPrefix(ctx.runId) : undefined;
    try {
      await ctx.phase('settle before save', ctx.scaled(90_000) + 15_000, (signal) => waitControllersSettled(ctx, cold.cluster, signal));
      const stored = await saveClusterSnapshot(ctx, plan, { machines: cold.machines, extra: cold.extra, key, ...(privatePrefix ? { privatePrefix } : {}) });
      Object.assign(origin, { saved: true, snapshotCreatedAt: stored.metadata.createdAt });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      ctx.progress.info(`snapshot not saved: ${describeError(error)}`);
    }
  }
  return {
    ...cold,
    origin,
    dispose: async () => {
      await cold.cluster[Symbol.asyncDispose]();
      await Promise.all(cold.machines.map((m) => m.dispose()));
    },
  };
}

/**
 * Waits until the control plane has finished starting, so that a restore
 * does not have to: under TCG kube-controller-manager takes about 30 s to
 * start its controllers after node Ready, and a snapshot taken sooner makes
 * every restore wait for that again (the node keeps its not-ready taint until
 * the node lifecycle controller runs). Settled: no node carries a not-ready
 * or unreachable taint (the node lifecycle controller ran), the service
 * account controller has created the `default` service account, and with
 * several control planes both controller leases are held.
 */
export async function waitControllersSettled(ctx: RunContext, cluster: StartedCluster, signal: AbortSignal): Promise<void> {
  const kc = cluster.kubeConfig();
  const { core } = kubeClients(kc);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const electsLeaders = cluster.nodes.filter((n) => n.role === 'control-plane').length > 1;
  await waitFor(
    async () => {
      // Leases exist only with leader election, i.e. with several control planes.
      for (const name of electsLeaders ? ['kube-controller-manager', 'kube-scheduler'] : []) {
        const lease = await coordination.readNamespacedLease({ name, namespace: 'kube-system' }).catch(() => undefined);
        if (!lease?.spec?.holderIdentity) return { done: false, observed: `no holder of the ${name} lease yet` };
      }
      const nodes = await kube('list nodes', () => core.listNode());
      for (const node of nodes.items) {
        const taint = node.spec?.taints?.find((t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable');
        if (taint) return { done: false, observed: `${node.metadata?.name} still tainted ${taint.key}` };
      }
      const missing = await missingDefaultServiceAccount(core, 'default');
      if (missing) return { done: false, observed: `namespace default: ${missing}` };
      return { done: true, value: undefined };
    },
    { what: 'control plane settled (no not-ready taint, default service account, controller leases when HA)', budgetMs: ctx.scaled(90_000), pollMs: 1_000, signal },
  );
}

/**
 * After a failed restore, the snapshot is deleted only on proof that it can
 * never be restored: a file failing its checksum (the store deleted it) or
 * QEMU refusing its saved state. Any other failure (a QEMU start or SSH wait
 * that timed out, a full disk, a node not Ready in time) may pass next time:
 * the snapshot is kept, and not replaced by this run.
 */
export async function settleFailedRestore(store: SnapshotStore, snapshot: StoredSnapshot, error: unknown): Promise<{ reason: string; deleted: boolean; message: string }> {
  const reason = describeError(error);
  const settled = (deleted: boolean, verdict: string) => ({ reason, deleted, message: `snapshot ${snapshot.key} ${verdict}: ${reason}` });
  const DELETED = 'deleted (proof it can never be restored), booting cold and saving a new one';
  // The store deleted it, under its lock, when it found the checksum wrong.
  if (error instanceof CacheCorruptError) return settled(true, DELETED);
  if (!(error instanceof SavedStateRefusedError)) {
    return settled(false, 'kept (this failure does not prove it bad; if it repeats, `edgeproof clean --snapshots` removes it), booting cold');
  }
  const discarded = await store.discard(snapshot, reason).catch((failure: unknown) => describeError(failure));
  if (discarded === true) return settled(true, DELETED);
  return settled(false, discarded === false ? 'proven bad, but another run has replaced it already; booting cold' : `proven bad, not deleted (${discarded}); booting cold`);
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
