import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../core/paths.js';
import { boardNames } from '../emulation/boards.js';
import { SAMPLE_RUNS, sampleResult } from '../reports/sample-runs.js';
import { ConfigFileError } from '../reports/yaml-config.js';
import { expandCells, expectedShards, measuredDurations, parseMatrix, planShards, shardScript, type MatrixCell } from './matrix.js';
import { suiteNames } from './run-options.js';

const vocabulary = { distros: ['upstream', 'k3s'], boards: boardNames, suites: suiteNames };
const NIGHTLY = fixturePath('matrix', 'nightly.yaml');

function parse(text: string) {
  return parseMatrix({ text, file: 'm.yaml' }, vocabulary);
}

function parseError(text: string): ConfigFileError {
  try {
    parse(text);
  } catch (error) {
    return error as ConfigFileError;
  }
  throw new Error('expected a ConfigFileError');
}

const HEAD = 'schemaVersion: 1\ndefaults: { estimate: 10m, timeout: 30m }\n';

describe('matrix file', () => {
  it('the shipped nightly matrix parses and expands, exclusions and overrides applied', () => {
    const matrix = parseMatrix({ text: readFileSync(NIGHTLY, 'utf8'), file: NIGHTLY }, vocabulary);
    const cells = expandCells(matrix);
    expect(cells.map((c) => c.id)).toEqual([
      'upstream/rpi4/1/api-latency,footprint,smoke',
      'upstream/arm64-virt/1/api-latency,footprint,smoke',
      'upstream/x86-vm/1/api-latency,footprint,smoke',
      'upstream/rpi3b/1/smoke',
    ]);
    expect(cells.find((c) => c.board === 'rpi3b')).toMatchObject({ estimateMs: 30 * 60_000, timeoutMs: 90 * 60_000 });
    expect(cells.find((c) => c.board === 'x86-vm')).toMatchObject({ estimateMs: 15 * 60_000, timeoutMs: 60 * 60_000 });
    expect(matrix.shardSetup).toBe(15 * 60_000);
  });

  it.each([
    ['an unknown board', `${HEAD}distros: [upstream]\nboards: [rpi4, rpi5]\ntopologies: [1]\nsuites: [smoke]\n`, 4, 'boards[1]: unknown board "rpi5"'],
    ['an unknown suite inside a list', `${HEAD}distros: [upstream]\nboards: [rpi4]\ntopologies: [1]\nsuites:\n  - smoke\n  - smoke,fotprint\n`, 8, 'suites[1]: unknown suite "fotprint"'],
    ['a bad topology', `${HEAD}distros: [upstream]\nboards: [rpi4]\ntopologies: ['3x']\nsuites: [smoke]\n`, 5, 'topologies[0]: a topology is'],
    ['a bad duration', 'schemaVersion: 1\ndefaults: { estimate: ten minutes, timeout: 30m }\ndistros: [upstream]\nboards: [rpi4]\ntopologies: [1]\nsuites: [smoke]\n', 2, '"ten minutes" is not a duration'],
    ['an exclusion that matches nothing', `${HEAD}distros: [upstream]\nboards: [rpi4]\ntopologies: [1]\nsuites: [smoke]\nexclude:\n  - { board: rpi3b }\n`, 8, 'exclude[0].board: "rpi3b" is not in the matrix\'s boards'],
    ['an unknown key', `${HEAD}distros: [upstream]\nboards: [rpi4]\ntopologies: [1]\nsuites: [smoke]\nexcludes: []\n`, 7, 'unknown key "excludes"'],
    ['a missing dimension', `${HEAD}distros: [upstream]\ntopologies: [1]\nsuites: [smoke]\n`, 1, 'boards: is missing'],
    ['a YAML syntax error', `${HEAD}distros: [upstream\n`, 4, 'YAML syntax'],
  ])('refuses %s with file:line', (_, text, line, what) => {
    const error = parseError(text);
    expect(error.code).toBe('USAGE');
    expect(error.message).toMatch(new RegExp(`^m\\.yaml:${line}: `));
    expect(error.message).toContain(what);
  });
});

describe('planShards', () => {
  const cell = (board: string, estimateMin: number, timeoutMin = estimateMin * 3, args: string[] = []): MatrixCell => ({
    distro: 'upstream', board, topology: '1', suites: 'smoke', id: `upstream/${board}/1/smoke`, estimateMs: estimateMin * 60_000, timeoutMs: timeoutMin * 60_000, args,
  });

  it('packs cells into as few shards as fit the budget, largest first, and says how long each takes', () => {
    const plan = planShards([cell('a', 50), cell('b', 40), cell('c', 30), cell('d', 20), cell('e', 10)], { shardMinutes: 70, setupMs: 10 * 60_000 });
    expect(plan.include.map((s) => s.cells.map((c) => c.split('/')[1]))).toEqual([['a', 'e'], ['b', 'd'], ['c']]);
    expect(plan.include.map((s) => s.estimatedMinutes)).toEqual([70, 70, 40]);
    expect(plan.include.map((s) => s.shard)).toEqual(['shard-01', 'shard-02', 'shard-03']);
    for (const shard of plan.include) expect(shard.estimatedMinutes).toBeLessThanOrEqual(70);
    expect(plan.warnings).toEqual([]);
  });

  it('uses measured durations of earlier runs where it has them', () => {
    const real = sampleResult(SAMPLE_RUNS.passing);
    const history = measuredDurations([real, sampleResult(SAMPLE_RUNS.failing), sampleResult(SAMPLE_RUNS.interrupted)]);
    // The interrupted run does not count; the two complete runs took 6m14s and 26m16s: median 16m15s.
    expect([...history.keys()]).toEqual(['upstream/rpi4/1/api-latency,footprint,smoke']);
    expect(history.get('upstream/rpi4/1/api-latency,footprint,smoke')).toBe((373_944 + 1_576_164) / 2);
    const measured = { ...cell('rpi4', 60), id: 'upstream/rpi4/1/api-latency,footprint,smoke' };
    const plan = planShards([measured, cell('x86-vm', 40)], { shardMinutes: 60, setupMs: 0, history });
    expect(plan.include).toHaveLength(1);
    expect(plan.include[0]!.runs.find((r) => r.cell === measured.id)).toMatchObject({ estimateFrom: 'history', estimateMinutes: 16.3 });
  });

  it('a cell longer than the budget gets a shard of its own, with a warning', () => {
    const plan = planShards([cell('slow', 400), cell('fast', 5)], { shardMinutes: 300, setupMs: 0 });
    expect(plan.include.map((s) => s.cells.length)).toEqual([1, 1]);
    expect(plan.warnings[0]).toContain('upstream/slow/1/smoke is estimated at 400 min');
  });

  it('each run carries the exact edgeproof arguments; the script runs each under its timeout and exits with the highest code', () => {
    const plan = planShards([{ ...cell('rpi4', 10, 45, ['--memory', '2G']), topology: '3+1', id: 'upstream/rpi4/3+1/smoke' }], { shardMinutes: 300, setupMs: 15 * 60_000, resultsDir: 'out' });
    const shard = plan.include[0]!;
    expect(shard.runs[0]!.args).toEqual(['run', '--distro', 'upstream', '--board', 'rpi4', '--topology', '3+1', '--suite', 'smoke', '--reports-dir', 'out/shard-01', '--memory', '2G']);
    expect(shard.timeoutMinutes).toBe(60);
    expect(shard.script).toBe(shardScript(shard.runs));
    expect(shard.script).toContain('timeout --signal=INT --kill-after=120 2700 node bin/edgeproof.js run --distro upstream --board rpi4 --topology 3+1 --suite smoke --reports-dir out/shard-01 --memory 2G || worst $?');
    expect(shard.script.trimEnd().split('\n').at(-1)).toBe('exit $status');
    expect(expectedShards(plan)).toEqual({ 'shard-01': ['upstream/rpi4/3+1/smoke'] });
  });

  it('quotes arguments the shell would split', () => {
    expect(shardScript([{ cell: 'c', args: ['run', '--reports-dir', "dir with 'quote"], estimateMinutes: 1, estimateFrom: 'matrix', timeoutMinutes: 1 }])).toContain(`--reports-dir 'dir with '\\''quote'`);
  });
});
