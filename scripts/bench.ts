/**
 * Bring-up benchmark: boot-to-SSH per board and the single-node upstream
 * cluster's phases, each repeated, printed as median [min..max].
 *   npm run bench                      (3 runs each)
 *   EDGEPROOF_BENCH_RUNS=5 npm run bench
 *   npm run bench -- --boards rpi4 --cluster-runs 2
 * Figures are written to reports/bench-<time>.json as well.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../src/core/context.js';
import { benchContext, parseBenchArgs } from '../src/bench/bench-context.js';
import { silentProgress } from '../src/core/progress.js';
import { makeDirectory, newRunId, reportsDir } from '../src/core/paths.js';
import { summarize } from '../src/bench/stats.js';
import { boardByName, type Board } from '../src/emulation/boards.js';
import { generateSshKey } from '../src/emulation/guest/ssh-connection.js';
import { ensureGuestImages } from '../src/emulation/images/guest-images.js';
import { detectAccel } from '../src/emulation/qemu/host-probe.js';
import { QemuBoard } from '../src/emulation/qemu/qemu-board.js';
import { backendTimeoutScale } from '../src/run/run-spec.js';
import { UpstreamDistribution, API_PORT } from '../src/distros/upstream/upstream-distribution.js';
import { runSmokeSuite } from '../src/suites/smoke.js';

const { values } = parseBenchArgs('bench', {
  options: {
    boards: { type: 'string', default: 'rpi4,rpi3b,x86-vm' },
    runs: { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '3' },
    'cluster-runs': { type: 'string' },
  },
});
const runs = Number(values.runs);
const clusterRuns = Number(values['cluster-runs'] ?? runs);
const upstream = new UpstreamDistribution();
const figures: Record<string, number[]> = {};
const record = (name: string, ms: number) => (figures[name] ??= []).push(ms);

async function images(ctx: RunContext, board: Board) {
  if (board.arch === 'arm64') {
    return ensureGuestImages(ctx, { arch: 'arm64', packages: upstream.guestPackages(), payloads: await upstream.diskPayloads(ctx, 'arm64') });
  }
  return ensureGuestImages(ctx, { arch: board.arch, packages: [], payloads: [] });
}

async function withRun<T>(label: string, board: Board, fn: (ctx: RunContext) => Promise<T>): Promise<T> {
  const timeoutScale = await backendTimeoutScale('qemu', { board, memoryMiB: board.memoryMiB, nodes: { controlPlanes: 1, workers: 0 } });
  const ctx = benchContext({ runDir: mkdtempSync(join(tmpdir(), 'ep-bench-')), timeoutScale, progress: silentProgress });
  try {
    return await fn(ctx);
  } finally {
    await ctx.dispose();
    rmSync(ctx.runDir, { recursive: true, force: true });
    process.stderr.write(`  done: ${label}\n`);
  }
}

for (const name of values.boards!.split(',')) {
  const board = boardByName(name);
  for (let i = 0; i < runs; i++) {
    await withRun(`${name} boot ${i + 1}/${runs}`, board, async (ctx) => {
      const machine = await new QemuBoard(board).withName(`ep-${ctx.tag}-bench`).withImages(await images(ctx, board)).withSshKey(generateSshKey('bench')).start(ctx);
      record(`${name}: boot to SSH`, machine.timings.sshMs!);
      record(`${name}: boot to init ready`, machine.timings.initMs!);
    });
  }
}

for (let i = 0; i < clusterRuns; i++) {
  const board = boardByName('rpi4');
  await withRun(`rpi4 cluster ${i + 1}/${clusterRuns}`, board, async (ctx) => {
    const machine = await new QemuBoard(board).withName(`ep-${ctx.tag}-cp-0`).withImages(await images(ctx, board)).withSshKey(generateSshKey('bench')).withForwardedPorts(API_PORT).start(ctx);
    const cluster = await upstream.formCluster(ctx, [machine], { controlPlanes: 1, workers: 0 });
    const boot = machine.timings.sshMs!;
    record('rpi4 cluster: boot to SSH', boot);
    for (const [milestone, ms] of Object.entries(cluster.milestones)) record(`rpi4 cluster: ${milestone}`, boot + ms);
    const smokeStart = Date.now();
    await runSmokeSuite(ctx, cluster);
    const first = ctx.events.events.find((e) => e.type === 'measurement' && e.id === 'SMOKE-1/first-pod-running') as { value: number } | undefined;
    if (first) record('rpi4 cluster: first pod Running (after create)', first.value);
    record('rpi4 cluster: smoke suite', Date.now() - smokeStart);
  });
}

const accel = await detectAccel(boardByName('rpi4'));
const rows = Object.entries(figures).map(([name, samples]) => ({ name, ...summarize(samples), samples }));
const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
console.log(`\nedgeproof bring-up benchmark (${accel.accel}: ${accel.reason}); times from QEMU start unless noted`);
console.log(`${'figure'.padEnd(48)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  runs`);
for (const row of rows) console.log(`${row.name.padEnd(48)} ${s(row.p50).padStart(8)} ${s(row.min).padStart(8)} ${s(row.max).padStart(8)}  ${row.samples.length}`);
makeDirectory(reportsDir());
const file = join(reportsDir(), `bench-${newRunId()}.json`);
writeFileSync(file, JSON.stringify({ accel, rows }, null, 2));
console.log(`\nwritten: ${file}`);
