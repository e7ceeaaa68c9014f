import { untilAborted } from '../core/wait.js';
import type { RunContext } from '../core/context.js';
import { EdgeproofError, describeError } from '../core/errors.js';
import { measureBaseline, type MemoryBaseline } from '../bench/footprint.js';
import { measureSlowdown } from '../bench/slowdown.js';
import type { Distribution, StartedCluster } from '../cluster/distribution.js';
import { openExistingCluster } from '../distros/existing/existing-cluster.js';
import type { MachineRecipe } from '../emulation/backend.js';
import type { SshKeyPair } from '../emulation/guest/ssh-key.js';
import type { Machine } from '../emulation/machine.js';
import { prepareQemuImages, startQemuMachines } from '../emulation/qemu/qemu-backend.js';
import type { GuestImages, QemuMachine } from '../emulation/qemu/qemu-board.js';
import { readyQemuCluster, type ClusterOrigin, type SnapshotExtra } from './cluster-snapshots.js';
import type { RunOptions } from './run-options.js';
import { machineRecipe, type RunSpec } from './run-spec.js';
import { runSuites } from './run-suites.js';

/** Machines -> cluster -> suites: from a snapshot where the backend and the distribution allow it, else cold (or the existing cluster). */
export async function bringUpAndTest(ctx: RunContext, spec: RunSpec, options: RunOptions, distribution: Distribution): Promise<void> {
  const { backend } = spec;
  if (!backend.machines) {
    const source = options.clusterSource;
    const cluster = await openExistingCluster(ctx, { kubeconfigPath: source.kubeconfig!, ...(source.context ? { context: source.context } : {}) });
    await runSuites(ctx, options, cluster, {});
    return;
  }
  // An install source this host cannot reach (and no --airgap files) is said before anything boots.
  if (distribution.preflight) {
    const preflight = distribution.preflight.bind(distribution);
    await ctx.phase('preflight', ctx.scaled(30_000), () => preflight({ arch: backend.guestArch(spec), signal: ctx.signal }));
  }
  if (backend.snapshots && distribution.resumeCluster) {
    await snapshotClusterAndSuites(ctx, spec, options, distribution);
    return;
  }
  const { machines, cluster, baselines } = await coldBringUp(ctx, spec, distribution);
  recordMilestones(ctx, cluster, machines[0]!);
  await runSuites(ctx, options, cluster, baselines);
  if (options.keep) await keepUntilInterrupted(ctx, cluster);
}

/** Boot (or reach) the machines, measure them before install, form the cluster. `prepared`: a snapshot run's images and key. */
async function coldBringUp(ctx: RunContext, spec: RunSpec, distribution: Distribution, prepared?: { images: GuestImages; key: SshKeyPair }) {
  const machines = await startMachines(ctx, spec, machineRecipe(distribution), prepared);
  for (const machine of machines) recordBootTimings(ctx, machine);
  if (machines.length === 0) throw new EdgeproofError('INTERNAL', 'no machines were started');

  const first = machines[0]!;
  const exec = async (command: string) => (await first.exec(command)).stdout;
  const slowdown = await measureSlowdown(exec).catch((error: unknown) => {
    ctx.progress.info(`slowdown probe failed: ${describeError(error)}`);
    return undefined;
  });
  const slowdownEnvironment = slowdown ? { slowdownFactor: Number(slowdown.factor.toFixed(2)), slowdownProbe: { guestMs: slowdown.guest.medianMs, hostMs: slowdown.host.medianMs, sameAwk: slowdown.sameAwk } } : undefined;
  if (slowdown) {
    ctx.events.emit({ type: 'environment', environment: slowdownEnvironment! });
    ctx.progress.info(`slowdown factor ${slowdown.factor.toFixed(1)}x (CPU probe, node vs host)`);
  }
  const baselines: Record<string, MemoryBaseline> = {};
  if (spec.backend.measuresBaseline) {
    for (const machine of machines) baselines[machine.name] = await measureBaseline(async (command) => (await machine.exec(command)).stdout);
  }
  const cluster = await distribution.formCluster(ctx, machines, spec.nodes);
  return { machines, cluster, baselines, ...(slowdownEnvironment ? { slowdown: slowdownEnvironment } : {}) };
}

function startMachines(ctx: RunContext, spec: RunSpec, recipe: MachineRecipe, prepared?: { images: GuestImages; key: SshKeyPair }): Promise<Machine[]> {
  if (prepared) return startQemuMachines(ctx, spec, recipe, prepared);
  if (!spec.backend.startMachines) throw new EdgeproofError('INTERNAL', `backend ${spec.backend.name} starts no machines`);
  return spec.backend.startMachines(ctx, spec, recipe);
}

/**
 * Snapshotted clusters (QEMU) come from a snapshot when one fits (see
 * cluster-snapshots.ts); suites that change the cluster get a fresh restore
 * when they are not the first.
 */
async function snapshotClusterAndSuites(ctx: RunContext, spec: RunSpec, options: RunOptions, distribution: Distribution): Promise<void> {
  const images = await prepareQemuImages(ctx, spec.board, machineRecipe(distribution));
  const recipe = { board: spec.board, distribution, topology: spec.nodes, images, memoryMiB: spec.memoryMiB, ports: machineRecipe(distribution).ports, ...(spec.cpus ? { cpus: spec.cpus } : {}) };
  const ready = async (cold: boolean) => {
    const made = await readyQemuCluster(ctx, recipe, { cold }, async (key) => {
      const { machines, cluster, baselines, slowdown } = await coldBringUp(ctx, spec, distribution, { images, key });
      recordMilestones(ctx, cluster, machines[0]!);
      return { machines: machines as QemuMachine[], cluster, extra: { baselines, ...(slowdown ? { slowdown } : {}) } };
    });
    recordOrigin(ctx, made.origin, made.extra);
    return made;
  };
  let current = await ready(options.cold);
  const fresh = async (suite: string) => {
    if (options.cold) return current.cluster;
    await ctx.phase(`fresh restore before ${suite}`, ctx.scaled(120_000), async () => {
      await current.dispose();
      current = await ready(false);
    });
    return current.cluster;
  };
  await runSuites(ctx, options, current.cluster, current.extra.baselines, fresh);
  if (options.keep) await keepUntilInterrupted(ctx, current.cluster);
}

/** Whether the cluster was cold or restored, and from which snapshot; what a restore reuses from the save is said so. */
function recordOrigin(ctx: RunContext, origin: ClusterOrigin, extra: SnapshotExtra): void {
  const restored = origin.kind === 'restored';
  ctx.events.emit({
    type: 'environment',
    environment: {
      clusterOrigin: origin.kind,
      ...(origin.snapshotKey ? { snapshotKey: origin.snapshotKey } : {}),
      ...(origin.snapshotCreatedAt ? { snapshotCreatedAt: origin.snapshotCreatedAt } : {}),
      ...(origin.reason ? { snapshotNotUsed: origin.reason } : {}),
      ...(origin.saved ? { snapshotSaved: true } : {}),
      ...(restored && extra.slowdown ? { ...extra.slowdown, slowdownSource: `measured before install by the run that saved snapshot ${origin.snapshotKey}` } : {}),
      ...(restored ? { footprintBaselineSource: `pre-install used memory recorded in snapshot ${origin.snapshotKey} (a restored guest has no pre-install state)` } : {}),
    },
  });
}

/** A machine that boots (an emulated board) says how long its init and SSH took. */
function recordBootTimings(ctx: RunContext, machine: Machine): void {
  for (const [id, ms] of [['BOOT-0/init', machine.timings?.initMs], ['BOOT-0/ssh', machine.timings?.sshMs]] as const) {
    if (ms !== undefined) ctx.events.emit({ type: 'measurement', id, suite: 'bring-up', name: id.endsWith('ssh') ? 'QEMU start to SSH answering' : 'QEMU start to guest init ready', unit: 'ms', value: ms, node: machine.name });
  }
}

function recordMilestones(ctx: RunContext, cluster: StartedCluster, machine: Machine): void {
  const offset = machine.timings?.sshMs ?? 0;
  for (const [name, ms] of Object.entries(cluster.milestones)) {
    ctx.events.emit({ type: 'measurement', id: `BOOT-0/${name}`, suite: 'bring-up', name: `QEMU start to ${name}`, unit: 'ms', value: ms + offset, node: machine.name });
  }
}

async function keepUntilInterrupted(ctx: RunContext, cluster: StartedCluster): Promise<void> {
  ctx.progress.info(`cluster kept running: KUBECONFIG=${cluster.kubeconfigPath} kubectl get nodes; Ctrl-C tears it down`);
  await untilAborted(ctx.signal);
}
