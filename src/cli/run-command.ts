import { freemem, totalmem, cpus, hostname, release } from 'node:os';
import { statfsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunContext } from '../core/context.js';
import { EdgeproofError, PrerequisiteMissingError, describeError } from '../core/errors.js';
import { newRunId } from '../core/paths.js';
import { sweepStaleSessions } from '../core/session.js';
import { sweepContainers } from '../emulation/container/docker-engine.js';
import { boardByName, boardMemory, type Board } from '../emulation/boards.js';
import { generateSshKey } from '../emulation/guest/ssh-connection.js';
import { ensureGuestImages } from '../emulation/images/guest-images.js';
import { detectAccel, qemuVersion } from '../emulation/qemu/host-probe.js';
import { QemuBoard, type QemuMachine } from '../emulation/qemu/qemu-board.js';
import { measureBaseline } from '../bench/footprint.js';
import { measureSlowdown } from '../bench/slowdown.js';
import { distributionByName, VENDOR_MEMORY_CLAIMS_MB } from '../distros/registry.js';
import type { Distribution, StartedCluster } from '../distros/distribution.js';
import { API_PORT } from '../distros/upstream/upstream-distribution.js';
import { runSmokeSuite } from '../scenarios/smoke.js';
import { runFootprintSuite } from '../scenarios/footprint.js';
import { runApiLatencySuite } from '../scenarios/api-latency.js';
import { writeReports, exitCodeFor } from '../reports/write-reports.js';
import { renderConsoleSummary } from '../reports/summary-md.js';
import { interruptSignal } from './interrupt.js';
import type { RunOptions } from './run-options.js';

/** Timeout scale when the user gives none (checks.md): native 1, KVM 3, TCG of a foreign architecture 8. */
export function defaultTimeoutScale(board: Board, accel: 'kvm' | 'tcg'): number {
  if (accel === 'kvm') return 3;
  return board.kvmCapable ? 4 : 8;
}

/** `edgeproof run`: board -> cluster -> suites -> reports. Resolves to the exit code. */
export async function runCommand(options: RunOptions): Promise<number> {
  const board = boardByName(options.board);
  const distribution = distributionByName(options.distro);
  const memoryMiB = boardMemory(board, options.memory);
  const qemu = await qemuVersion(board.qemuBinary);
  const accel = await detectAccel(board);
  const cacheDir = options.cacheDir;
  preflight(board, memoryMiB, cacheDir);

  const runId = newRunId();
  const ctx = new RunContext({
    runDir: join(options.reportsDir, runId),
    runId,
    ...(cacheDir ? { cacheDir } : {}),
    timeoutScale: options.timeoutScale ?? defaultTimeoutScale(board, accel.accel),
  });
  const swept = await sweepStaleSessions(ctx.cacheDir, sweepContainers);
  if (swept.sessions.length) ctx.progress.info(`swept ${swept.sessions.length} stale session(s): ${swept.killed.length} process(es) killed, ${swept.removedDirs.length} dir(s) removed`);
  const onInterrupt = () => ctx.abort(interruptSignal().reason);
  interruptSignal().addEventListener('abort', onInterrupt, { once: true });

  ctx.progress.info(`run ${runId}: ${distribution.name} ${distribution.version} on ${board.name} (${accel.accel}: ${accel.reason}), timeout scale ${ctx.timeoutScale}`);
  ctx.progress.info(`results: ${ctx.runDir}`);
  ctx.events.emit({ type: 'run-start', runId, argv: process.argv.slice(2), config: { ...options } as Record<string, unknown> });
  ctx.events.emit({
    type: 'environment',
    environment: {
      host: hostname(), hostKernel: release(), hostCpus: cpus().length, hostCpuModel: cpus()[0]?.model ?? 'unknown', hostMemoryMiB: Math.round(totalmem() / 2 ** 20),
      qemuVersion: qemu, accel: accel.accel, accelReason: accel.reason, board: board.name, boardMemoryMiB: memoryMiB, arch: board.arch,
      distro: distribution.name, k8sVersion: distribution.version, timeoutScale: ctx.timeoutScale, node: process.version,
    },
  });

  const started = Date.now();
  let runError: unknown;
  try {
    await bringUpAndTest(ctx, options, board, distribution);
  } catch (error) {
    runError = error;
  }
  try {
    await ctx.phase('teardown', 60_000, () => ctx.dispose());
  } catch (error) {
    runError ??= error;
  }
  interruptSignal().removeEventListener('abort', onInterrupt);
  const interrupted = ctx.signal.aborted;
  ctx.events.emit({
    type: 'run-end',
    outcome: interrupted ? 'interrupted' : runError ? 'failed' : 'completed',
    durationMs: Date.now() - started,
    ...(runError ? { error: describeError(runError) } : {}),
  });
  const result = await writeReports(ctx.runDir, ctx.events.events, { claims: VENDOR_MEMORY_CLAIMS_MB });
  process.stdout.write(`\n${renderConsoleSummary(result, { claims: VENDOR_MEMORY_CLAIMS_MB })}\n`);
  process.stdout.write(`Reports: ${ctx.runDir}/{summary.md,result.json,junit.xml,events.jsonl}\n`);
  if (runError && !interrupted) throw runError;
  return exitCodeFor(result);
}

async function bringUpAndTest(ctx: RunContext, options: RunOptions, board: Board, distribution: Distribution): Promise<void> {
  const images = await ctx.phase('prepare images', 90 * 60_000, async () => {
    const payloads = await distribution.diskPayloads(ctx, board.arch);
    return ensureGuestImages(ctx, { arch: board.arch, packages: distribution.guestPackages(board.arch), payloads });
  });
  const key = generateSshKey(`edgeproof-${ctx.runId}`);
  mkdirSync(join(ctx.runDir, 'secrets'), { recursive: true, mode: 0o700 });
  writeFileSync(join(ctx.runDir, 'secrets', 'ssh_key'), key.privateKey, { mode: 0o600 });

  const name = `ep-${ctx.tag}-cp-0`;
  const machine = await ctx.phase('boot', ctx.scaled(30_000) + 15_000, () =>
    new QemuBoard(board).withName(name).withMemory(options.memory).withImages(images).withSshKey(key).withForwardedPorts(API_PORT).start(ctx), name);
  recordBootTimings(ctx, machine);

  const slowdown = await measureSlowdown(async (command) => (await machine.exec(command)).stdout).catch((error: unknown) => {
    ctx.progress.info(`slowdown probe failed: ${describeError(error)}`);
    return undefined;
  });
  if (slowdown) {
    ctx.events.emit({ type: 'environment', environment: { slowdownFactor: Number(slowdown.factor.toFixed(2)), slowdownProbe: { guestMs: slowdown.guest.medianMs, hostMs: slowdown.host.medianMs, sameAwk: slowdown.sameAwk } } });
    ctx.progress.info(`emulation slowdown factor ${slowdown.factor.toFixed(1)}x (CPU probe, guest vs host)`);
  }
  const baseline = await measureBaseline(async (command) => (await machine.exec(command)).stdout);

  const cluster = await distribution.formCluster(ctx, [machine], { controlPlanes: 1, workers: 0 });
  recordMilestones(ctx, cluster, machine);
  await runSuites(ctx, options, cluster, { [machine.name]: baseline });
  if (options.keep) await keepUntilInterrupted(ctx, cluster);
}

async function runSuites(ctx: RunContext, options: RunOptions, cluster: StartedCluster, baselines: Parameters<typeof runFootprintSuite>[2]['baselines']): Promise<void> {
  for (const suite of options.suites) {
    ctx.signal.throwIfAborted();
    ctx.progress.info(`suite ${suite}`);
    if (suite === 'smoke') await runSmokeSuite(ctx, cluster);
    else if (suite === 'footprint') {
      await runFootprintSuite(ctx, cluster, { baselines, settleMs: ctx.scaled(2_500), windowMs: options.footprintWindowMs, claimsMB: VENDOR_MEMORY_CLAIMS_MB });
    } else if (suite === 'api-latency') {
      await runApiLatencySuite(ctx, cluster, { ratePerSecond: options.latencyRate, durationMs: options.latencyDurationMs });
    } else throw new EdgeproofError('INTERNAL', `suite ${suite} has no runner`);
  }
}

function recordBootTimings(ctx: RunContext, machine: QemuMachine): void {
  for (const [id, ms] of [['BOOT-0/init', machine.timings.initMs], ['BOOT-0/ssh', machine.timings.sshMs]] as const) {
    if (ms !== undefined) ctx.events.emit({ type: 'measurement', id, suite: 'bring-up', name: id.endsWith('ssh') ? 'QEMU start to SSH answering' : 'QEMU start to guest init ready', unit: 'ms', value: ms, node: machine.name });
  }
}

function recordMilestones(ctx: RunContext, cluster: StartedCluster, machine: QemuMachine): void {
  const offset = machine.timings.sshMs ?? 0;
  for (const [name, ms] of Object.entries(cluster.milestones)) {
    ctx.events.emit({ type: 'measurement', id: `BOOT-0/${name}`, suite: 'bring-up', name: `QEMU start to ${name}`, unit: 'ms', value: ms + offset, node: machine.name });
  }
}

async function keepUntilInterrupted(ctx: RunContext, cluster: StartedCluster): Promise<void> {
  ctx.progress.info(`cluster kept running: KUBECONFIG=${cluster.kubeconfigPath} kubectl get nodes; Ctrl-C tears it down`);
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Said before booting: not enough memory or disk for this board and its images. */
function preflight(board: Board, memoryMiB: number, cacheDir: string | undefined): void {
  const freeMiB = Math.round(freemem() / 2 ** 20);
  if (freeMiB < memoryMiB + 512) {
    throw new PrerequisiteMissingError(`${memoryMiB + 512} MiB of free memory for board ${board.name} (${freeMiB} MiB free)`, `free memory or choose a smaller --memory (${board.memoryChoicesMiB.join(', ')} MiB)`);
  }
  const dir = cacheDir ?? process.env.EDGEPROOF_CACHE_DIR ?? join(process.env.HOME ?? '/root', '.cache');
  mkdirSync(dir, { recursive: true });
  const stats = statfsSync(dir);
  const freeGiB = (stats.bavail * stats.bsize) / 2 ** 30;
  if (freeGiB < 8) {
    throw new PrerequisiteMissingError(`8 GiB of free disk under ${dir} (${freeGiB.toFixed(1)} GiB free)`, 'free disk space or point EDGEPROOF_CACHE_DIR / --cache-dir at a larger disk');
  }
}
