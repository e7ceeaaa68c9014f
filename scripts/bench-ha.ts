/**
 * Multi-node and HA benchmark on the container backend: time to form 1 and
 * 3+1 clusters, and per failover scenario the longest outage, time to
 * recover and time to rejoin; each repeated, printed as median [min..max].
 *   npm run bench:ha                       (3 runs)
 *   npm run bench:ha -- --runs 5 --scenarios leader-power-off,quorum-loss
 * Figures are written to reports/bench-ha-<time>.json as well.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunContext } from '../src/core/context.js';
import { benchContext } from '../src/bench/bench-context.js';
import { createProgress, endsOnly, isCheckTask } from '../src/core/progress.js';
import { newRunId, reportsDir } from '../src/core/paths.js';
import { summarize } from '../src/bench/stats.js';
import { startContainerMachines } from '../src/cli/machines.js';
import type { Topology } from '../src/distros/distribution.js';
import { formatTopology } from '../src/distros/topology.js';
import { UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { HA_SCENARIOS, haBudgets, runHaSuite, type HaScenarioName } from '../src/scenarios/ha-failover.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '3' },
    scenarios: { type: 'string', default: HA_SCENARIOS.join(',') },
  },
});
const runs = Number(values.runs);
const scenarios = values.scenarios!.split(',') as HaScenarioName[];
const upstream = new UpstreamDistribution();
const figures: Record<string, { unit: string; samples: number[] }> = {};
const record = (name: string, unit: string, value: number) => (figures[name] ??= { unit, samples: [] }).samples.push(value);

async function withCluster(topology: Topology, label: string, body: (ctx: RunContext, cluster: Awaited<ReturnType<typeof upstream.formCluster>>) => Promise<void>): Promise<void> {
  const ctx = benchContext({ runDir: mkdtempSync(join(tmpdir(), 'ep-bench-ha-')), timeoutScale: 1, progress: endsOnly(createProgress(), isCheckTask) });
  try {
    const started = Date.now();
    const machines = await startContainerMachines(ctx, upstream, topology);
    const cluster = await upstream.formCluster(ctx, machines, topology);
    record(`container ${formatTopology(topology)}: form to all nodes Ready`, 'ms', Date.now() - started);
    await body(ctx, cluster);
  } finally {
    await ctx.dispose();
    rmSync(ctx.runDir, { recursive: true, force: true });
    process.stderr.write(`  done: ${label}\n`);
  }
}

for (let i = 0; i < runs; i++) {
  await withCluster({ controlPlanes: 1, workers: 0 }, `1-node ${i + 1}/${runs}`, async () => undefined);
  await withCluster({ controlPlanes: 3, workers: 1 }, `3+1 with failover ${i + 1}/${runs}`, async (ctx, cluster) => {
    await runHaSuite(ctx, cluster, { budgets: haBudgets(ctx), scenarios });
    for (const event of ctx.events.events) {
      if (event.type !== 'measurement' || !/^HA-\d+\/(longest-outage|time-to-recover|time-to-rejoin|lost-writes)$/.test(event.id)) continue;
      record(event.id, event.unit, event.value);
    }
  });
}

const rows = Object.entries(figures).map(([name, { unit, samples }]) => ({ name, unit, ...summarize(samples), samples }));
const show = (value: number, unit: string) => (unit === 'ms' ? `${(value / 1000).toFixed(1)}s` : String(value));
console.log(`\nedgeproof multi-node and HA benchmark (container backend, native); scenarios: ${scenarios.join(', ')}`);
console.log(`${'figure'.padEnd(44)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  runs`);
for (const row of rows) console.log(`${row.name.padEnd(44)} ${show(row.p50, row.unit).padStart(8)} ${show(row.min, row.unit).padStart(8)} ${show(row.max, row.unit).padStart(8)}  ${row.samples.length}`);
mkdirSync(reportsDir(), { recursive: true });
const file = join(reportsDir(), `bench-ha-${newRunId()}.json`);
writeFileSync(file, JSON.stringify({ scenarios, rows }, null, 2));
console.log(`\nwritten: ${file}`);
