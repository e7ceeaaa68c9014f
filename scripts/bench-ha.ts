/**
 * Multi-node and HA benchmark: time to form 1 and 3+1 clusters, and per
 * failover scenario the longest outage, time to recover and time to rejoin;
 * each repeated, printed as median [min..max].
 *   npm run bench:ha                       (container backend, 3 runs)
 *   npm run bench:ha -- --runs 5 --scenarios leader-power-off,quorum-loss
 *   npm run bench:ha -- --backend qemu --board rpi4 --runs 1 [--cpus 1] [--timeout-scale 20]
 * On qemu only the form times are measured: four emulated boards under TCG
 * on a small host are too slow for failover budgets to mean anything, so the
 * failover figures come from the container backend (--scenarios none skips
 * them there too). Figures are written to reports/bench-ha-<time>.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../src/core/context.js';
import { describeError } from '../src/core/errors.js';
import { benchContext, exitWithUsage, parseBenchArgs } from '../src/bench/bench-context.js';
import { createProgress, endsOnly, isCheckTask } from '../src/core/progress.js';
import { makeDirectory, newRunId, reportsDir } from '../src/core/paths.js';
import { summarize } from '../src/bench/stats.js';
import { startContainerMachines } from '../src/emulation/container/container-backend.js';
import { startQemuMachines } from '../src/emulation/qemu/qemu-backend.js';
import { backendTimeoutScale, machineRecipe } from '../src/run/run-spec.js';
import type { Topology } from '../src/cluster/distribution.js';
import type { Machine } from '../src/emulation/machine.js';
import { boardByName, boardCpus, type Board } from '../src/emulation/boards.js';
import { formatTopology } from '../src/cluster/topology.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { HA_SCENARIOS, haBudgets, runHaSuite, type HaScenarioName } from '../src/suites/ha-failover.js';

const { values } = parseBenchArgs('bench:ha', {
  options: {
    runs: { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '3' },
    scenarios: { type: 'string', default: HA_SCENARIOS.join(',') },
    backend: { type: 'string', default: 'container' },
    board: { type: 'string', default: 'rpi4' },
    cpus: { type: 'string' },
    'timeout-scale': { type: 'string' },
  },
});
const usage = (message: string): never => exitWithUsage('bench:ha', message);
function boardOrUsage(name: string): Board {
  try {
    return boardByName(name);
  } catch (error) {
    return usage(describeError(error));
  }
}
function cpusOrUsage(chosen: Board, text: string | undefined): number {
  try {
    return boardCpus(chosen, text);
  } catch (error) {
    return usage(describeError(error));
  }
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) usage(`--runs must be a whole number of at least 1, got '${values.runs}'`);
const backend = values.backend!;
if (backend !== 'container' && backend !== 'qemu') usage(`--backend must be container or qemu, got '${backend}'`);
const board = backend === 'qemu' ? boardOrUsage(values.board!) : undefined;
if (!board && values.cpus !== undefined) usage('--cpus applies to --backend qemu');
const cpus = board ? cpusOrUsage(board, values.cpus) : undefined;
const scenarios = (backend === 'qemu' || values.scenarios === 'none' ? [] : values.scenarios!.split(',')) as HaScenarioName[];
const unknown = scenarios.filter((s) => !HA_SCENARIOS.includes(s));
if (unknown.length) usage(`unknown scenario(s) ${unknown.join(', ')}; choose from ${HA_SCENARIOS.join(', ')} or none`);
const backendLabel = board ? `qemu ${board.name}${cpus === board.cpus ? '' : ` (${cpus} vCPU)`}` : 'container';
// Without --timeout-scale: the backend's default on this host, as `edgeproof run` picks it (a container's ignores the board).
const scaleBoard = board ?? boardByName('rpi4');
const timeoutScale = values['timeout-scale'] !== undefined
  ? Number(values['timeout-scale'])
  : await backendTimeoutScale(board ? 'qemu' : 'container', { board: scaleBoard, memoryMiB: scaleBoard.memoryMiB, nodes: { controlPlanes: 1, workers: 0 } });
if (!(timeoutScale >= 1)) usage(`--timeout-scale must be a number of at least 1, got '${values['timeout-scale']}'`);
/** Clusters that did not form or whose scenarios failed: said, kept in the report, and the exit code. */
const failures: { label: string; error: string }[] = [];
const upstream = new UpstreamDistribution();
const figures: Record<string, { unit: string; samples: number[] }> = {};
const record = (name: string, unit: string, value: number) => (figures[name] ??= { unit, samples: [] }).samples.push(value);

async function withCluster(topology: Topology, label: string, body: (ctx: RunContext, cluster: Awaited<ReturnType<typeof upstream.formCluster>>) => Promise<void>): Promise<void> {
  const ctx = benchContext({ runDir: mkdtempSync(join(tmpdir(), 'ep-bench-ha-')), timeoutScale, progress: endsOnly(createProgress(), isCheckTask) });
  try {
    process.stderr.write(`  start: ${label} on ${backendLabel}${board ? ' (minutes under TCG)' : ''}\n`);
    const started = Date.now();
    const machines: Machine[] = board ? await startQemuMachines(ctx, { board, memoryMiB: board.memoryMiB, cpus, nodes: topology }, machineRecipe(upstream)) : await startContainerMachines(ctx, { nodes: topology }, machineRecipe(upstream));
    const cluster = await upstream.formCluster(ctx, machines, topology);
    record(`${backendLabel} ${formatTopology(topology)}: form to all nodes Ready`, 'ms', Date.now() - started);
    await body(ctx, cluster);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    failures.push({ label, error: describeError(error) });
    process.stderr.write(`  failed: ${label}: ${describeError(error)}\n`);
  } finally {
    await ctx.dispose();
    rmSync(ctx.runDir, { recursive: true, force: true });
    process.stderr.write(`  done: ${label}\n`);
  }
}

try {
  for (let i = 0; i < runs; i++) {
    await withCluster({ controlPlanes: 1, workers: 0 }, `1-node ${i + 1}/${runs}`, async () => undefined);
    await withCluster({ controlPlanes: 3, workers: 1 }, `3+1${scenarios.length ? ' with failover' : ''} ${i + 1}/${runs}`, async (ctx, cluster) => {
      if (scenarios.length === 0) return;
      await runHaSuite(ctx, cluster, { budgets: haBudgets(ctx), scenarios });
      for (const event of ctx.events.events) {
        if (event.type !== 'measurement' || !/^HA-\d+\/(longest-outage|time-to-recover|time-to-rejoin|lost-writes)$/.test(event.id)) continue;
        record(event.id, event.unit, event.value);
      }
    });
  }
} finally {
  // Also on an interrupt: what was measured is printed and written.
  printAndWrite();
}
if (failures.length) process.exitCode = 1;

function printAndWrite(): void {
  const rows = Object.entries(figures).map(([name, { unit, samples }]) => ({ name, unit, ...summarize(samples), samples }));
  const show = (value: number, unit: string) => (unit === 'ms' ? `${(value / 1000).toFixed(1)}s` : String(value));
  console.log(`\nedgeproof multi-node and HA benchmark (${board ? `qemu ${board.name}, TCG` : 'container backend, native'}, timeout scale ${timeoutScale}); scenarios: ${scenarios.join(', ') || 'none'}`);
  console.log(`${'figure'.padEnd(44)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  runs`);
  for (const row of rows) console.log(`${row.name.padEnd(44)} ${show(row.p50, row.unit).padStart(8)} ${show(row.min, row.unit).padStart(8)} ${show(row.max, row.unit).padStart(8)}  ${row.samples.length}`);
  for (const failure of failures) console.log(`failed: ${failure.label}: ${failure.error}`);
  makeDirectory(reportsDir());
  const file = join(reportsDir(), `bench-ha-${newRunId()}.json`);
  writeFileSync(file, JSON.stringify({ backend: backendLabel, timeoutScale, scenarios, rows, failures }, null, 2));
  console.log(`\nwritten: ${file}`);
}
