/**
 * Conformance benchmark: the duration of a conformance preset (the real
 * e2e.test and ginkgo against a real upstream cluster), repeated on one
 * cluster, printed as median [min..max]; the cluster's formation is timed too.
 *   npm run bench:conformance                                  (container backend, quick, 3 runs)
 *   npm run bench:conformance -- --runs 5 --preset quick
 *   npm run bench:conformance -- --backend qemu --board rpi4 --runs 3     (an emulated board, TCG)
 * Figures are written to reports/bench-conformance-<time>.json as well.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchContext, parseBenchArgs } from '../src/bench/bench-context.js';
import { createProgress, endsOnly, isCheckTask } from '../src/core/progress.js';
import { makeDirectory, newRunId, reportsDir } from '../src/core/paths.js';
import { summarize } from '../src/bench/stats.js';
import { startContainerMachines } from '../src/emulation/container/container-backend.js';
import { startQemuMachines } from '../src/emulation/qemu/qemu-backend.js';
import { backendTimeoutScale, machineRecipe } from '../src/run/run-spec.js';
import { boardByName } from '../src/emulation/boards.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { runConformanceSuite } from '../src/suites/conformance.js';
import { CONFORMANCE_PRESET_NAMES, CONFORMANCE_PRESETS, type ConformancePresetName } from '../src/suites/conformance/presets.js';

const { values } = parseBenchArgs('bench:conformance', {
  options: {
    runs: { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '3' },
    preset: { type: 'string', default: 'quick' },
    backend: { type: 'string', default: 'container' },
    board: { type: 'string', default: 'rpi4' },
    'timeout-scale': { type: 'string' },
  },
});
const runs = Number(values.runs);
const preset = values.preset as ConformancePresetName;
if (!CONFORMANCE_PRESET_NAMES.includes(preset)) throw new Error(`--preset must be one of ${CONFORMANCE_PRESET_NAMES.join(', ')}`);
if (values.backend !== 'container' && values.backend !== 'qemu') throw new Error('--backend must be container or qemu');
const emulated = values.backend === 'qemu';
const board = boardByName(values.board!);
const topology = { controlPlanes: 1, workers: 0 };
const upstream = new UpstreamDistribution();
const spec = { board, memoryMiB: board.memoryMiB, nodes: topology };
const timeoutScale = values['timeout-scale'] !== undefined ? Number(values['timeout-scale']) : await backendTimeoutScale(emulated ? 'qemu' : 'container', spec);
const where = emulated ? `${board.name} (QEMU, timeout scale ${timeoutScale})` : 'container backend (native)';

const ctx = benchContext({ runDir: mkdtempSync(join(tmpdir(), 'ep-bench-conformance-')), timeoutScale, progress: endsOnly(createProgress(), isCheckTask) });
const figures: Record<string, number[]> = {};
const record = (name: string, value: number) => (figures[name] ??= []).push(value);
try {
  const started = Date.now();
  const machines = emulated ? await startQemuMachines(ctx, spec, machineRecipe(upstream)) : await startContainerMachines(ctx, spec, machineRecipe(upstream));
  const cluster = await upstream.formCluster(ctx, machines, topology);
  record('form a 1-node cluster to Ready', Date.now() - started);
  const checkId = CONFORMANCE_PRESETS[preset].checkId;
  for (let i = 0; i < runs; i++) {
    const before = ctx.events.events.length;
    const [outcome] = await runConformanceSuite(ctx, cluster, { preset });
    const duration = ctx.events.events.slice(before).find((e) => e.type === 'measurement' && e.id === `${checkId}/duration`);
    if (outcome?.verdict !== 'pass' || duration?.type !== 'measurement') throw new Error(`run ${i + 1}: ${checkId} ${outcome?.verdict}: ${outcome?.reason ?? ''}`);
    record(`e2e ${preset} preset, ginkgo start to exit`, duration.value);
    process.stderr.write(`  run ${i + 1}/${runs}: ${(duration.value / 1000).toFixed(1)}s\n`);
  }
} finally {
  await ctx.dispose();
  rmSync(ctx.runDir, { recursive: true, force: true });
}

const rows = Object.entries(figures).map(([name, samples]) => ({ name, ...summarize(samples), samples }));
const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
console.log(`\nedgeproof conformance benchmark: ${where}, Kubernetes ${upstream.version}`);
console.log(`${'figure'.padEnd(40)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  runs`);
for (const row of rows) console.log(`${row.name.padEnd(40)} ${s(row.p50).padStart(8)} ${s(row.min).padStart(8)} ${s(row.max).padStart(8)}  ${row.samples.length}`);
makeDirectory(reportsDir());
const file = join(reportsDir(), `bench-conformance-${newRunId()}.json`);
writeFileSync(file, JSON.stringify({ backend: values.backend, board: emulated ? board.name : 'container', preset, timeoutScale, rows }, null, 2));
console.log(`\nwritten: ${file}`);
