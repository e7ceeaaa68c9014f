import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from './result-model.js';
import { budgetChecks, globToRegExp, judge, loadBudgets, parseBudgets, parseLimitText, type Budgets } from './budgets.js';
import { SAMPLE_RUNS, sampleResult } from './sample-runs.js';
import { ConfigFileError } from './yaml-config.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeproof-budgets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function userFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function parseError(text: string): ConfigFileError {
  try {
    parseBudgets({ text, file: 'my-budgets.yaml' });
  } catch (error) {
    return error as ConfigFileError;
  }
  throw new Error('expected a ConfigFileError');
}

describe('budgets file', () => {
  it('loads the shipped defaults, each rule citing its file and line', async () => {
    const budgets = await loadBudgets();
    const names = budgets.rules.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['ha-longest-outage', 'ha-lost-writes', 'footprint-vs-claim', 'api-single-object-p99', 'api-list-p99']));
    const outage = budgets.rules.find((r) => r.name === 'ha-longest-outage')!;
    expect(outage).toMatchObject({ measurement: 'HA-*/longest-outage', max: { kind: 'duration', ms: 30_000 }, scale: 'timeout' });
    expect(outage.source).toMatch(/fixtures\/budgets\.yaml:\d+$/);
    expect(budgets.regression.tolerance).toBe(0.25);
    expect(budgets.regression.metrics).toContainEqual(['BM-MEM-1/**', 0.1]);
  });

  it('a user file replaces a budget by name, turns one off and adds its own', async () => {
    const file = userFile('override.yaml', [
      'schemaVersion: 1',
      'budgets:',
      '  ha-longest-outage:',
      '    measurement: "HA-*/longest-outage"',
      '    max: 10s',
      '  ha-lost-writes: { measurement: x, off: true }',
      '  boot-time:',
      '    measurement: BOOT-0/nodeReady',
      '    max: 3m',
      '    scale: timeout',
      'regression: { tolerance: 10% }',
    ].join('\n'));
    const budgets = await loadBudgets(file);
    expect(budgets.files.at(-1)).toBe(file);
    expect(budgets.rules.find((r) => r.name === 'ha-longest-outage')).toMatchObject({ max: { ms: 10_000 }, scale: 'none', source: `${file}:3` });
    expect(budgets.rules.some((r) => r.name === 'ha-lost-writes')).toBe(false);
    expect(budgets.rules.find((r) => r.name === 'boot-time')?.source).toBe(`${file}:7`);
    expect(budgets.regression.tolerance).toBe(0.1);
  });

  it.each([
    ['an unknown key, on its own line', 'schemaVersion: 1\nbudgets:\n  outage:\n    measurement: HA-3/x\n    maxx: 30s\n', 5, 'budgets.outage: unknown key "maxx"'],
    ['a limit that is not one', 'schemaVersion: 1\nbudgets:\n  outage:\n    measurement: HA-3/x\n    max: thirty seconds\n', 5, '"thirty seconds" is not a limit'],
    ['a budget with no limit', 'schemaVersion: 1\nbudgets:\n  outage:\n    measurement: HA-3/x\n', 3, 'budgets.outage: needs a max or a min'],
    ['a missing measurement', 'schemaVersion: 1\nbudgets:\n  outage:\n    max: 1s\n', 3, 'budgets.outage.measurement: is missing'],
    ['an unknown stat', 'schemaVersion: 1\nbudgets:\n  outage:\n    measurement: a\n    max: 1s\n    stat: p42\n', 6, 'budgets.outage.stat'],
    ['a wrong schema version', 'schemaVersion: 2\n', 1, 'schemaVersion'],
    ['a YAML syntax error', 'schemaVersion: 1\nbudgets:\n  outage: [unclosed\n', 4, 'YAML syntax'],
    ['a duplicate key', 'schemaVersion: 1\nbudgets:\n  a: { measurement: x, max: 1 }\n  a: { measurement: y, max: 2 }\n', 4, 'YAML syntax'],
    ['a bad tolerance', 'schemaVersion: 1\nregression:\n  tolerance: 0.25\n', 3, 'regression.tolerance'],
    ['an empty file', '', 1, 'the file is empty'],
  ])('refuses %s with file:line (exit 2)', (_, text, line, what) => {
    const error = parseError(text);
    expect(error).toBeInstanceOf(ConfigFileError);
    expect(error.code).toBe('USAGE');
    expect(error.line).toBe(line);
    expect(error.message).toMatch(new RegExp(`^my-budgets\\.yaml:${line}: `));
    expect(error.message).toContain(what);
  });

  it('says when the user file does not exist', async () => {
    await expect(loadBudgets(join(dir, 'nope.yaml'))).rejects.toThrow(/Cannot read .*nope\.yaml: no such file/);
  });

  it('parses limits in the units people write', () => {
    expect(parseLimitText('540MB')).toMatchObject({ kind: 'size', bytes: 540 * 2 ** 20 });
    expect(parseLimitText('1.5GiB')).toMatchObject({ kind: 'size', bytes: 1.5 * 2 ** 30 });
    expect(parseLimitText('99.5%')).toMatchObject({ kind: 'percent', value: 99.5 });
    expect(parseLimitText('1m30s')).toMatchObject({ kind: 'duration', ms: 90_000 });
  });

  it('globs: * stays within a segment, ** crosses them', () => {
    expect(globToRegExp('BM-API-1/*').test('BM-API-1/pod-get')).toBe(true);
    expect(globToRegExp('BM-MEM-1/*').test('BM-MEM-1/process/etcd/rss')).toBe(false);
    expect(globToRegExp('BM-MEM-1/**').test('BM-MEM-1/process/etcd/rss')).toBe(true);
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
  });
});

describe('judge', () => {
  const budgets = (text: string): Budgets => parseBudgets({ text: `schemaVersion: 1\nbudgets:\n${text}`, file: 'b.yaml' });
  const outage = budgets('  outage:\n    measurement: HA-*/longest-outage\n    max: 30s\n    scale: timeout\n');

  it('scales a duration limit by the timeout scale and records measured, limit and scale', () => {
    const [within] = judge(outage, 'HA-3/longest-outage', 200, 's', { timeoutScale: 8 });
    expect(within).toMatchObject({ rule: 'outage', verdict: 'pass' });
    expect(within!.evidence).toMatchObject({ measured: 200, unit: 's', scale: 8, bounds: [{ limit: 240_000, limitUnit: 'ms', limitText: '30s x 8 (timeout scale)', source: 'b.yaml:3' }] });

    const [beyond] = judge(outage, 'HA-3/longest-outage', 31_000, 'ms', { timeoutScale: 1 });
    expect(beyond).toMatchObject({ verdict: 'fail', reason: 'HA-3/longest-outage value 31000 ms > 30s (budget outage)' });
    expect(beyond!.evidence).toMatchObject({ measured: 31_000, limit: 30_000, scale: 1 });
  });

  it('returns nothing for a figure no budget covers', () => {
    expect(judge(outage, 'HA-3/lost-writes', 1, 'count')).toEqual([]);
  });

  it('fails a budget whose unit cannot be compared, saying so', () => {
    const [result] = judge(outage, 'HA-3/longest-outage', 3, 'count', {});
    expect(result).toMatchObject({ verdict: 'fail', reason: expect.stringContaining('is a duration but the measurement is in count') });
  });

  it('judges a minimum (availability)', () => {
    const availability = budgets('  avail:\n    measurement: HA-*/availability\n    min: 99%\n');
    expect(judge(availability, 'HA-4/availability', 99.4, '%')[0]?.verdict).toBe('pass');
    expect(judge(availability, 'HA-4/availability', 97, '%')[0]).toMatchObject({ verdict: 'fail', reason: 'HA-4/availability value 97 % < 99% (budget avail)' });
  });

  it('a claim budget is not applicable where the distribution publishes no claim, never a pass', () => {
    const claim = budgets('  mem:\n    measurement: BM-MEM-1/services-pss\n    stat: p50\n    max: { claim: 1.0 }\n');
    const mib = 2 ** 20;
    expect(judge(claim, 'BM-MEM-1/services-pss', 600 * mib, 'B', { distro: 'upstream', claimsMB: { k3s: 512 } })[0]).toMatchObject({
      verdict: 'not-applicable',
      reason: expect.stringContaining('upstream publishes no memory claim'),
    });
    expect(judge(claim, 'BM-MEM-1/services-pss', 600 * mib, 'B', { distro: 'k3s', claimsMB: { k3s: 512 } })[0]).toMatchObject({ verdict: 'fail', evidence: { claimMB: 512, limit: 512 } });
    expect(judge(claim, 'BM-MEM-1/services-pss', 500 * mib, 'B', { distro: 'K3s', claimsMB: { k3s: 512 } })[0]?.verdict).toBe('pass');
  });
});

describe('budgetChecks on real runs', () => {
  it('turns the failing run\'s API p99s into budget checks that fail the run, with evidence', async () => {
    const budgets = await loadBudgets();
    const result = sampleResult(SAMPLE_RUNS.failing);
    const checks = budgetChecks(result, budgets, { microk8s: 540, k3s: 512 });
    const podDelete = checks.find((c) => c.id === 'BUDGET/api-single-object-p99/BM-API-1/pod-delete')!;
    // Measured in that run: p99 9371.647 ms against 1 s x timeout scale 8.
    expect(podDelete).toMatchObject({ suite: 'budgets', verdict: 'fail', evidence: { measured: 9371.647, limit: 8000, scale: 8, stat: 'p99' } });
    expect(checks.find((c) => c.id === 'BUDGET/api-list-p99/BM-API-1/configmap-list')).toMatchObject({ verdict: 'pass' });
    expect(checks.some((c) => c.id.endsWith('loader-overhead'))).toBe(false);
    const footprint = checks.filter((c) => c.id === 'BUDGET/footprint-vs-claim/BM-MEM-1/services-pss');
    expect(footprint).toHaveLength(1);
    expect(footprint[0]).toMatchObject({ verdict: 'not-applicable' });
  });

  it('the passing run stays passing: its p99s are within the scaled SLOs', async () => {
    const budgets = await loadBudgets();
    const result = sampleResult(SAMPLE_RUNS.passing);
    const checks = budgetChecks(result, budgets);
    expect(checks.filter((c) => c.id.startsWith('BUDGET/api-')).map((c) => c.verdict)).toEqual(Array(10).fill('pass'));
    const judged = { ...result, checks: [...result.checks, ...checks] };
    expect(exitCodeFor(judged)).toBe(0);
  });

  it('a stricter user budget fails the passing run: the exit code follows', async () => {
    const strict = userFile('strict.yaml', 'schemaVersion: 1\nbudgets:\n  api-single-object-p99:\n    measurement: "BM-API-1/*"\n    except: ["BM-API-1/*-list"]\n    stat: p99\n    max: 1s\n');
    const budgets = await loadBudgets(strict);
    const result = sampleResult(SAMPLE_RUNS.passing);
    const checks = budgetChecks(result, budgets);
    const failed = checks.filter((c) => c.verdict === 'fail').map((c) => c.id.split('/').at(-1));
    // p99 above 1000 ms unscaled in that run: configmap-create 1926, configmap-get 1712, pod-update 1187, pod-delete 1021.
    expect(failed.sort()).toEqual(['configmap-create', 'configmap-get', 'pod-delete', 'pod-update']);
    expect(exitCodeFor({ ...result, checks: [...result.checks, ...checks] })).toBe(1);
  });
});
