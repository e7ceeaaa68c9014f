/**
 * Cold bring-up vs snapshot restore, to every node Ready, on emulated boards
 * (rpi4 by default) with upstream Kubernetes; median/min/max and the ratio.
 *   npm run bench:snapshot                                   (1 node: 3 cold, 3 restores)
 *   npm run bench:snapshot -- --topologies 1,1+2 --cold-runs 2 --restores 3
 *   npm run bench:snapshot -- --topologies 1+2 --cpus 1      (three boards on a 2-core host)
 * Cold: from the first QEMU start to every node Ready (images already cached).
 * Restore: from the start of the restore (checksummed copy of the snapshot
 * included) to every node Ready with a lease renewed after the clock was set.
 * The first cold run of each topology saves the snapshot the restores use
 * (in a temp dir, removed at the end); its save time is printed too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchContext, exitWithUsage, parseBenchArgs } from '../src/bench/bench-context.js';
import { interruptSignal } from '../src/core/interrupt.js';
import { describeError } from '../src/core/errors.js';
import { createProgress, endsOnly, isCheckTask } from '../src/core/progress.js';
import { makeDirectory, newRunId, reportsDir } from '../src/core/paths.js';
import { summarize } from '../src/bench/stats.js';
import { measureBaseline, type MemoryBaseline } from '../src/bench/footprint.js';
import { boardByName, boardCpus, type Board } from '../src/emulation/boards.js';
import { ensureGuestImages } from '../src/emulation/images/guest-images.js';
import { detectAccel } from '../src/emulation/qemu/host-probe.js';
import { SnapshotStore } from '../src/emulation/qemu/machine-snapshot.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { parseTopology } from '../src/cluster/topology.js';
import { readyQemuCluster, type ClusterRecipe } from '../src/run/cluster-snapshots.js';
import { startQemuMachines } from '../src/emulation/qemu/qemu-backend.js';
import { backendTimeoutScale, machineRecipe } from '../src/run/run-spec.js';

const { values } = parseBenchArgs('bench:snapshot', {
  options: {
    topologies: { type: 'string', default: '1' },
    'cold-runs': { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '3' },
    restores: { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '3' },
    board: { type: 'string', default: 'rpi4' },
    cpus: { type: 'string' },
  },
});
const usage = (message: string): never => exitWithUsage('bench:snapshot', message);
const coldRuns = Number(values['cold-runs']);
const restores = Number(values.restores);
if (!Number.isInteger(coldRuns) || coldRuns < 1) usage(`--cold-runs must be a whole number of at least 1 (the first saves the snapshot), got '${values['cold-runs']}'`);
if (!Number.isInteger(restores) || restores < 0) usage(`--restores must be a whole number, got '${values.restores}'`);
for (const topology of values.topologies!.split(',')) {
  try {
    parseTopology(topology);
  } catch (error) {
    usage(`--topologies: ${describeError(error)}`);
  }
}
const [board, cpus] = ((): [Board, number] => {
  try {
    const chosen = boardByName(values.board!);
    return [chosen, boardCpus(chosen, values.cpus)];
  } catch (error) {
    return usage(describeError(error));
  }
})();
const distribution = new UpstreamDistribution();
const figures: Record<string, number[]> = {};
const record = (name: string, ms: number) => (figures[name] ??= []).push(ms);
const snapshotsDir = mkdtempSync(join(tmpdir(), 'ep-bench-snapshots-'));

async function once(topologyText: string, cold: boolean, store: SnapshotStore): Promise<void> {
  const topology = parseTopology(topologyText);
  const spec = { board, memoryMiB: board.memoryMiB, cpus, nodes: topology };
  const timeoutScale = await backendTimeoutScale('qemu', spec);
  const ctx = benchContext({ runDir: mkdtempSync(join(tmpdir(), 'ep-bench-')), timeoutScale, progress: endsOnly(createProgress(), isCheckTask) });
  try {
    const payloads = await distribution.diskPayloads(ctx, board.arch);
    const images = await ensureGuestImages(ctx, { arch: board.arch, packages: distribution.guestPackages(), payloads });
    const machineNeeds = machineRecipe(distribution);
    const recipe: ClusterRecipe = { board, distribution, topology, images, memoryMiB: board.memoryMiB, cpus, ports: machineNeeds.ports };
    process.stderr.write(`  start: ${topologyText} node(s) ${cold ? 'cold bring-up (minutes under TCG)' : 'restore'}\n`);
    const started = Date.now();
    let coldReadyMs = 0;
    const ready = await readyQemuCluster(ctx, recipe, { cold: false, store }, async (key) => {
      const machines = await startQemuMachines(ctx, spec, machineNeeds, { images, key });
      const baselines: Record<string, MemoryBaseline> = {};
      for (const m of machines) baselines[m.name] = await measureBaseline(async (command) => (await m.exec(command)).stdout);
      const cluster = await distribution.formCluster(ctx, machines, topology);
      coldReadyMs = Date.now() - started;
      return { machines, cluster, extra: { baselines } };
    });
    const label = `${topologyText} node${topologyText === '1' ? '' : 's'}`;
    if (ready.origin.kind !== (cold ? 'cold' : 'restored')) throw new Error(`expected a ${cold ? 'cold' : 'restored'} cluster, got ${JSON.stringify(ready.origin)}`);
    const phase = (name: string) => ctx.events.events.filter((e) => e.type === 'phase-end' && e.phase === name).map((e) => (e as { durationMs: number }).durationMs);
    if (cold) {
      record(`${label}: cold, QEMU start to Ready`, coldReadyMs);
      for (const ms of phase('save snapshot')) record(`${label}: save snapshot (savevm, copy, verify)`, ms);
    } else {
      const value = (ctx.events.events.find((e) => e.type === 'measurement' && e.id === 'BOOT-0/restore-nodeReady') as { value: number }).value;
      record(`${label}: restore to Ready`, value);
      record(`${label}:   copy snapshot (checksummed)`, Math.max(...phase('copy snapshot')));
      record(`${label}:   QEMU -loadvm to SSH`, Math.max(...ready.machines.map((m) => m.timings.sshMs ?? 0)));
      record(`${label}:     of which QEMU start and state loaded`, Math.max(...ready.machines.map((m) => m.timings.loadvmMs ?? 0)));
      record(`${label}:   clocks set, SSH key rotated`, Math.max(...phase('resume machines')));
      record(`${label}:   run credentials, apiserver ready`, Math.max(...phase('issue run credentials')) + Math.max(...phase('apiserver ready')));
      record(`${label}:   node Ready (lease renewed)`, Math.max(...phase('node Ready')));
    }
    process.stderr.write(`  done: ${label} ${cold ? 'cold' : 'restore'} (${((Date.now() - started) / 1000).toFixed(0)}s)\n`);
  } finally {
    await ctx.dispose();
    rmSync(ctx.runDir, { recursive: true, force: true });
  }
}

/** Topologies whose bring-up or restore failed: said, kept in the report, and the exit code. */
const failures: { topology: string; error: string }[] = [];
try {
  for (const topology of values.topologies!.split(',')) {
    const store = new SnapshotStore(join(snapshotsDir, topology), 2 ** 40);
    try {
      // The first cold run saves the snapshot; later cold runs must not find one.
      for (let i = 0; i < coldRuns; i++) {
        if (i > 0) for (const entry of store.list()) await store.remove(entry.key, 'a cold repetition of the benchmark');
        await once(topology, true, store);
      }
      for (let i = 0; i < restores; i++) await once(topology, false, store);
    } catch (error) {
      if (interruptSignal().aborted) throw error;
      failures.push({ topology, error: describeError(error) });
      process.stderr.write(`  failed: ${topology}: ${describeError(error)}\n`);
    }
  }
} finally {
  rmSync(snapshotsDir, { recursive: true, force: true });
  // Also on an interrupt: what was measured is printed and written.
  await printAndWrite();
}
if (failures.length) process.exitCode = 1;

async function printAndWrite(): Promise<void> {
  const accel = await detectAccel(board);
  const rows = Object.entries(figures).map(([name, samples]) => ({ name, ...summarize(samples), samples }));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  console.log(`\nedgeproof snapshot benchmark: upstream ${distribution.version} on ${board.name}, ${cpus} vCPU(s) per board (${accel.accel}: ${accel.reason})`);
  console.log(`${'figure'.padEnd(48)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  runs`);
  for (const row of rows) console.log(`${row.name.padEnd(48)} ${s(row.p50).padStart(8)} ${s(row.min).padStart(8)} ${s(row.max).padStart(8)}  ${row.samples.length}`);
  for (const topology of values.topologies!.split(',')) {
    const label = `${topology} node${topology === '1' ? '' : 's'}`;
    const cold = rows.find((r) => r.name === `${label}: cold, QEMU start to Ready`);
    const restore = rows.find((r) => r.name === `${label}: restore to Ready`);
    if (cold && restore) console.log(`${label}: restore is ${(cold.p50 / restore.p50).toFixed(1)}x faster than cold (medians)`);
  }
  for (const failure of failures) console.log(`failed: ${failure.topology}: ${failure.error}`);
  makeDirectory(reportsDir());
  const file = join(reportsDir(), `bench-snapshot-${newRunId()}.json`);
  writeFileSync(file, JSON.stringify({ board: board.name, cpus, accel, rows, failures }, null, 2));
  console.log(`\nwritten: ${file}`);
}
