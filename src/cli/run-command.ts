import { freemem, totalmem, cpus, hostname, release } from 'node:os';
import { statfsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunContext } from '../core/context.js';
import { EdgeproofError, PrerequisiteMissingError, describeError } from '../core/errors.js';
import { cacheDir as defaultCacheDir, makeDirectory, newRunId, projectRoot } from '../core/paths.js';
import { sweepStaleSessions } from '../core/session.js';
import { sweepContainers } from '../emulation/container/docker-engine.js';
import { boardByName, boardMemory, hostArch, type Board } from '../emulation/boards.js';
import { detectAccel, qemuVersion } from '../emulation/qemu/host-probe.js';
import { QemuMachine } from '../emulation/qemu/qemu-board.js';
import type { Machine } from '../emulation/machine.js';
import { docker } from '../emulation/container/docker-engine.js';
import { measureBaseline, type MemoryBaseline } from '../bench/footprint.js';
import { measureSlowdown } from '../bench/slowdown.js';
import { distributionByName, VENDOR_MEMORY_CLAIMS_MB } from '../distros/registry.js';
import type { Distribution, StartedCluster } from '../distros/distribution.js';
import { formatTopology, nodeCount } from '../distros/topology.js';
import { runSmokeSuite } from '../scenarios/smoke.js';
import { runFootprintSuite } from '../scenarios/footprint.js';
import { runApiLatencySuite } from '../scenarios/api-latency.js';
import { prepareQemuImages, startContainerMachines, startQemuMachines } from './machines.js';
import { readyQemuCluster, type ClusterOrigin, type SnapshotExtra } from './cluster-snapshots.js';
import type { GuestImages } from '../emulation/qemu/qemu-board.js';
import type { SshKeyPair } from '../emulation/guest/ssh-connection.js';
import { openExistingCluster } from '../distros/existing/existing-cluster.js';
import { addonInstaller } from '../distros/addons/install.js';
import { isAddonSuite, runAddonSuite } from '../scenarios/addon-suites.js';
import { openSshHosts } from '../emulation/ssh/ssh-machine.js';
import { syncPayload } from '../emulation/ssh/sync-payloads.js';
import { exitCodeFor } from '../reports/write-reports.js';
import { renderConsoleSummary } from '../reports/summary-md.js';
import { interruptSignal } from '../core/interrupt.js';
import { endRun } from '../run/run-end.js';
import type { RunOptions } from './run-options.js';

/** Timeout scale when the user gives none (checks.md): native 1, KVM 3, TCG of a foreign architecture 8. */
export function defaultTimeoutScale(board: Board, accel: 'kvm' | 'tcg'): number {
  if (accel === 'kvm') return 3;
  return board.kvmCapable ? 4 : 8;
}

/** `edgeproof run`: machines -> cluster -> suites -> reports. Resolves to the exit code. */
export async function runCommand(options: RunOptions): Promise<number> {
  const board = boardByName(options.board);
  const distribution = distributionByName(options.distro, options.clusterSource.distroOptions);
  const host = await describeHostFor(options, board);
  // Before the preflight: what killed runs left (disks, containers) must not be what stops this one.
  const swept = await sweepStaleSessions(options.cacheDir ?? defaultCacheDir(), sweepContainers);
  preflight(options, board, options.cacheDir);

  const runId = newRunId();
  const ctx = new RunContext({
    runDir: join(options.reportsDir, runId),
    runId,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    timeoutScale: options.timeoutScale ?? host.defaultTimeoutScale,
  });
  if (swept.sessions.length) ctx.progress.info(`swept ${swept.sessions.length} stale session(s): ${swept.killed.length} process(es) killed, ${swept.containers.length} container(s), ${swept.removedDirs.length} dir(s) removed`);
  for (const problem of swept.errors) ctx.progress.info(`sweep: ${problem}`);
  const onInterrupt = () => ctx.abort(interruptSignal().reason);
  interruptSignal().addEventListener('abort', onInterrupt, { once: true });

  const topology = formatTopology(options.topology);
  ctx.progress.info(`run ${runId}: ${distribution.name} ${distribution.version}, topology ${topology}, on ${host.label}, timeout scale ${ctx.timeoutScale}`);
  ctx.progress.info(`results: ${ctx.runDir}`);
  ctx.events.emit({ type: 'run-start', runId, argv: process.argv.slice(2), config: { ...options } as Record<string, unknown> });
  ctx.events.emit({
    type: 'environment',
    environment: {
      host: hostname(), hostKernel: release(), hostCpus: cpus().length, hostCpuModel: cpus()[0]?.model ?? 'unknown', hostMemoryMiB: Math.round(totalmem() / 2 ** 20),
      ...host.environment, backend: options.backend, topology, nodeCount: nodeCount(options.topology),
      distro: distribution.name, k8sVersion: distribution.version, claims: distribution.claims, timeoutScale: ctx.timeoutScale, node: process.version,
      edgeproofVersion: packageVersion(), ...(process.env.GITHUB_SHA ? { gitCommit: process.env.GITHUB_SHA } : {}),
    },
  });

  const startedAt = Date.now();
  let runError: unknown;
  try {
    await bringUpAndTest(ctx, options, board, distribution);
  } catch (error) {
    runError = error;
  }
  const { result, error, interrupted } = await endRun(ctx, {
    startedAt,
    claims: VENDOR_MEMORY_CLAIMS_MB,
    ...(runError ? { error: runError } : {}),
    ...(options.budgetsFile ? { budgetsFile: options.budgetsFile } : {}),
  });
  interruptSignal().removeEventListener('abort', onInterrupt);
  process.stdout.write(`\n${renderConsoleSummary(result, { claims: VENDOR_MEMORY_CLAIMS_MB })}\n`);
  process.stdout.write(`Reports: ${ctx.runDir}/{report.html,summary.md,result.json,junit.xml,events.jsonl}\n`);
  if (error && !interrupted) throw error;
  return exitCodeFor(result);
}

/** The machines of the chosen backend, started (or reached) and ready for the distribution. */
async function startMachines(ctx: RunContext, options: RunOptions, board: Board, distribution: Distribution): Promise<Machine[]> {
  const source = options.clusterSource;
  if (source.backend === 'container') return startContainerMachines(ctx, distribution, options.topology);
  if (source.backend === 'qemu') return startQemuMachines(ctx, board, distribution, options.topology, options);
  const hosts = await ctx.phase('reach hosts', ctx.scaled(60_000), () => openSshHosts(ctx, source.hosts!, distribution.requirements));
  await Promise.all(hosts.map(async (host) => {
    for (const payload of await distribution.diskPayloads(ctx, host.arch)) await ctx.phase(`sync ${payload.label}`, ctx.scaled(10 * 60_000), () => syncPayload(ctx, host, payload), host.name);
  }));
  return hosts;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

async function bringUpAndTest(ctx: RunContext, options: RunOptions, board: Board, distribution: Distribution): Promise<void> {
  const source = options.clusterSource;
  if (source.backend === 'existing') {
    const cluster = await openExistingCluster(ctx, { kubeconfigPath: source.kubeconfig!, ...(source.context ? { context: source.context } : {}) });
    await runSuites(ctx, options, cluster, {});
    return;
  }
  // An install source this host cannot reach (and no --airgap files) is said before anything boots.
  if (distribution.preflight) {
    const preflight = distribution.preflight.bind(distribution);
    await ctx.phase('preflight', ctx.scaled(30_000), () => preflight({ arch: source.backend === 'qemu' ? board.arch : hostArch(), signal: ctx.signal }));
  }
  if (source.backend === 'qemu' && distribution.resumeCluster) {
    await qemuClusterAndSuites(ctx, options, board, distribution);
    return;
  }
  const { machines, cluster, baselines } = await coldBringUp(ctx, options, board, distribution);
  recordMilestones(ctx, cluster, machines[0]!);
  await runSuites(ctx, options, cluster, baselines);
  if (options.keep) await keepUntilInterrupted(ctx, cluster);
}

/** Boot (or reach) the machines, measure them before install, form the cluster. */
async function coldBringUp(ctx: RunContext, options: RunOptions, board: Board, distribution: Distribution, qemu?: { images: GuestImages; key: SshKeyPair }) {
  const machines = qemu ? await startQemuMachines(ctx, board, distribution, options.topology, options, qemu.images, qemu.key) : await startMachines(ctx, options, board, distribution);
  for (const machine of machines) if (machine instanceof QemuMachine) recordBootTimings(ctx, machine);
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
  // A VM's used memory before install is the baseline of the "whole guest" figure; a container has no memory of its own.
  const baselines: Record<string, MemoryBaseline> = {};
  for (const machine of machines) {
    if (machine.backend === 'qemu') baselines[machine.name] = await measureBaseline(async (command) => (await machine.exec(command)).stdout);
  }
  const cluster = await distribution.formCluster(ctx, machines, options.topology);
  return { machines, cluster, baselines, ...(slowdownEnvironment ? { slowdown: slowdownEnvironment } : {}) };
}

/**
 * QEMU clusters come from a snapshot when one fits (see cluster-snapshots.ts);
 * suites that change the cluster get a fresh restore when they are not the first.
 */
async function qemuClusterAndSuites(ctx: RunContext, options: RunOptions, board: Board, distribution: Distribution): Promise<void> {
  const images = await prepareQemuImages(ctx, board, distribution);
  const recipe = { board, distribution, topology: options.topology, images, ...(options.memory ? { memory: options.memory } : {}), ...(options.cpus ? { cpus: options.cpus } : {}) };
  const ready = async (cold: boolean) => {
    const made = await readyQemuCluster(ctx, recipe, { cold }, async (key) => {
      const { machines, cluster, baselines, slowdown } = await coldBringUp(ctx, options, board, distribution, { images, key });
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

/** Suites that change the cluster (faults, installs): with snapshots, each starts from a fresh restore. */
export function changesCluster(suite: string, options: Pick<RunOptions, 'installAddons'>): boolean {
  return suite === 'ha' || (isAddonSuite(suite) && options.installAddons);
}

async function runSuites(
  ctx: RunContext,
  options: RunOptions,
  initial: StartedCluster,
  baselines: Parameters<typeof runFootprintSuite>[2]['baselines'],
  fresh?: (suite: string) => Promise<StartedCluster>,
): Promise<void> {
  let cluster = initial;
  if (options.backend !== 'existing') ctx.progress.info(`kubeconfig while the run lives: ${cluster.kubeconfigPath} (removed when it ends; --keep holds the cluster)`);
  for (const [index, suite] of options.suites.entries()) {
    ctx.signal.throwIfAborted();
    if (fresh && index > 0 && changesCluster(suite, options)) cluster = await fresh(suite);
    ctx.progress.info(`suite ${suite}`);
    if (suite === 'smoke') await runSmokeSuite(ctx, cluster);
    else if (suite === 'footprint') {
      await runFootprintSuite(ctx, cluster, { baselines, settleMs: ctx.scaled(2_500), windowMs: options.footprintWindowMs, claimsMB: VENDOR_MEMORY_CLAIMS_MB });
    } else if (suite === 'api-latency') {
      await runApiLatencySuite(ctx, cluster, { ratePerSecond: options.latencyRate, durationMs: options.latencyDurationMs });
    } else if (suite === 'cni') {
      const { runCniSuite } = await import('../scenarios/cni.js');
      await runCniSuite(ctx, cluster);
    } else if (isAddonSuite(suite)) {
      const installer = options.installAddons ? addonInstaller({ distro: cluster.distro }, cluster) : undefined;
      await runAddonSuite(suite, ctx, cluster, { requests: options.addons, ...(installer ? { installer } : {}) });
    } else if (suite === 'airgap') {
      const { runAirgapSuite } = await import('../scenarios/airgap.js');
      await runAirgapSuite(ctx, cluster, { targets: options.airgapTargets });
    } else if (suite === 'conformance') {
      const { runConformanceSuite } = await import('../scenarios/conformance.js');
      await runConformanceSuite(ctx, cluster, options.conformance);
    } else if (suite === 'ha') {
      const { haBudgets, runHaSuite } = await import('../scenarios/ha-failover.js');
      await runHaSuite(ctx, cluster, { budgets: haBudgets(ctx) });
    } else throw new EdgeproofError('INTERNAL', `suite ${suite} has no runner`);
  }
}

function recordBootTimings(ctx: RunContext, machine: QemuMachine): void {
  for (const [id, ms] of [['BOOT-0/init', machine.timings.initMs], ['BOOT-0/ssh', machine.timings.sshMs]] as const) {
    if (ms !== undefined) ctx.events.emit({ type: 'measurement', id, suite: 'bring-up', name: id.endsWith('ssh') ? 'QEMU start to SSH answering' : 'QEMU start to guest init ready', unit: 'ms', value: ms, node: machine.name });
  }
}

function recordMilestones(ctx: RunContext, cluster: StartedCluster, machine: Machine): void {
  const offset = machine instanceof QemuMachine ? (machine.timings.sshMs ?? 0) : 0;
  for (const [name, ms] of Object.entries(cluster.milestones)) {
    ctx.events.emit({ type: 'measurement', id: `BOOT-0/${name}`, suite: 'bring-up', name: `QEMU start to ${name}`, unit: 'ms', value: ms + offset, node: machine.name });
  }
}

async function keepUntilInterrupted(ctx: RunContext, cluster: StartedCluster): Promise<void> {
  ctx.progress.info(`cluster kept running: KUBECONFIG=${cluster.kubeconfigPath} kubectl get nodes; Ctrl-C tears it down`);
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Said before booting: not enough memory or disk for the machines and their images. */
function preflight(options: RunOptions, board: Board, cacheDir: string | undefined): void {
  if (options.backend === 'qemu') {
    const memoryMiB = boardMemory(board, options.memory) * nodeCount(options.topology);
    const freeMiB = Math.round(freemem() / 2 ** 20);
    if (freeMiB < memoryMiB + 512) {
      throw new PrerequisiteMissingError(`${memoryMiB + 512} MiB of free memory for ${nodeCount(options.topology)} ${board.name} board(s) (${freeMiB} MiB free)`, `free memory or choose a smaller --memory (${board.memoryChoicesMiB.join(', ')} MiB)`);
    }
  }
  const dir = cacheDir ?? process.env.EDGEPROOF_CACHE_DIR ?? join(process.env.HOME ?? '/root', '.cache');
  makeDirectory(dir);
  const stats = statfsSync(dir);
  const freeGiB = (stats.bavail * stats.bsize) / 2 ** 30;
  if (freeGiB < 8) {
    throw new PrerequisiteMissingError(`8 GiB of free disk under ${dir} (${freeGiB.toFixed(1)} GiB free)`, 'free disk space or point EDGEPROOF_CACHE_DIR / --cache-dir at a larger disk');
  }
}

interface HostDescription {
  label: string;
  defaultTimeoutScale: number;
  environment: Record<string, unknown>;
}

/** What the machines will run on: QEMU version and accelerator for boards, the Docker engine for containers. */
async function describeHostFor(options: RunOptions, board: Board): Promise<HostDescription> {
  if (options.backend === 'container') {
    const engine = await docker();
    const version = await engine.version();
    return { label: `node containers (Docker ${version.Version}, ${hostArch()}, native)`, defaultTimeoutScale: 1, environment: { board: 'container', arch: hostArch(), dockerVersion: version.Version, accel: 'native' } };
  }
  if (options.backend === 'ssh') {
    const hosts = options.clusterSource.hosts!;
    // Real boards are slower than this host but not emulated: a modest scale.
    return { label: `${hosts.length} host(s) over SSH from ${options.clusterSource.hostsFile}`, defaultTimeoutScale: 2, environment: { board: 'ssh', arch: [...new Set(hosts.map((h) => h.arch))].join(','), accel: 'native' } };
  }
  if (options.backend === 'existing') {
    return { label: `an existing cluster (${options.clusterSource.kubeconfig})`, defaultTimeoutScale: 1, environment: { board: 'existing', accel: 'native' } };
  }
  const qemu = await qemuVersion(board.qemuBinary);
  const accel = await detectAccel(board);
  return {
    label: `${board.name} (${accel.accel}: ${accel.reason})`,
    defaultTimeoutScale: defaultTimeoutScale(board, accel.accel),
    environment: { qemuVersion: qemu, accel: accel.accel, accelReason: accel.reason, board: board.name, boardMemoryMiB: boardMemory(board, options.memory), arch: board.arch },
  };
}
