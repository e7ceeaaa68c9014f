/**
 * Start-up of the `edgeproof` command: `--help`, `run --help` and a usage
 * error, each spawned N times (`node bin/edgeproof.js ...`, wall time from
 * spawn to exit), printed as median, min, max and the run count.
 *   npm run bench:cli                  (10 runs each)
 *   npm run bench:cli -- --runs 30
 * The "cold" row disables tsx's transform cache (TSX_DISABLE_CACHE=1): what a
 * first start after an upgrade pays to compile the TypeScript it loads.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitWithUsage, parseBenchArgs } from '../src/bench/bench-context.js';
import { summarize } from '../src/bench/stats.js';

const { values } = parseBenchArgs('bench:cli', {
  options: { runs: { type: 'string', default: process.env.EDGEPROOF_BENCH_RUNS ?? '10' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) exitWithUsage('bench:cli', `--runs must be a whole number of at least 1, got '${values.runs}'`);

interface Case {
  name: string;
  args: string[];
  exitCode: number;
  env?: Record<string, string>;
}

const CASES: Case[] = [
  { name: 'edgeproof --help', args: ['--help'], exitCode: 0 },
  { name: 'edgeproof run --help', args: ['run', '--help'], exitCode: 0 },
  { name: 'edgeproof run --board nope (exit 2)', args: ['run', '--board', 'nope'], exitCode: 2 },
  { name: 'edgeproof --help, cold tsx cache', args: ['--help'], exitCode: 0, env: { TSX_DISABLE_CACHE: '1' } },
];

const bin = fileURLToPath(new URL('../bin/edgeproof.js', import.meta.url));

/** One start, in milliseconds; a run that does not exit as expected stops the bench (its time would mean nothing). */
function timeOnce(benchCase: Case): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, ...benchCase.args], { encoding: 'utf8', env: { ...process.env, EDGEPROOF_REAPER: 'off', ...benchCase.env } });
  const elapsed = performance.now() - started;
  if (result.status !== benchCase.exitCode) {
    throw new Error(`${benchCase.name}: exit ${result.status ?? result.signal}, expected ${benchCase.exitCode}\n${result.stderr}`);
  }
  return elapsed;
}

// One start before measuring, so the first measured run does not also fill tsx's cache.
timeOnce(CASES[0]!);
const rows = CASES.map((benchCase) => {
  const samples = Array.from({ length: runs }, () => timeOnce(benchCase));
  process.stderr.write(`  ${benchCase.name}: ${runs} runs\n`);
  return { name: benchCase.name, ...summarize(samples) };
});

const ms = (value: number) => `${Math.round(value)} ms`;
console.log(`\nedgeproof CLI start-up (Node ${process.versions.node}), wall time from spawn to exit`);
console.log(`${'figure'.padEnd(40)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  runs`);
for (const row of rows) console.log(`${row.name.padEnd(40)} ${ms(row.p50).padStart(8)} ${ms(row.min).padStart(8)} ${ms(row.max).padStart(8)}  ${row.samples}`);
