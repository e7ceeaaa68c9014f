import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../core/errors.js';
import { parsePositiveNumber, parseRunOptions, parseSuiteList } from './run-options.js';

describe('parseRunOptions', () => {
  test('defaults make a complete, valid run', async () => {
    const options = await parseRunOptions({});
    expect(options).toMatchObject({
      board: 'rpi4',
      distro: 'upstream',
      suites: ['smoke', 'footprint', 'api-latency'],
      footprintWindowMs: 30_000,
      latencyRate: 2,
      latencyDurationMs: 30_000,
      cold: false,
      keep: false,
      debug: false,
    });
    expect(options.memory).toBeUndefined();
    expect(options.cpus).toBeUndefined();
    expect(options.timeoutScale).toBeUndefined();
    expect(options.cacheDir).toBeUndefined();
  });

  test('every flag is carried over, parsed', async () => {
    const options = await parseRunOptions({
      board: 'rpi3b',
      suite: ' smoke , footprint,smoke ',
      memory: '1G',
      cpus: '2',
      timeoutScale: '2.5',
      reportsDir: 'some/reports',
      cacheDir: 'some/cache',
      footprintWindow: '1m30s',
      latencyRate: '0.5',
      latencyDuration: '45s',
      cold: true,
      keep: true,
      debug: true,
    });
    expect(options).toMatchObject({
      board: 'rpi3b',
      suites: ['smoke', 'footprint'],
      memory: '1G',
      cpus: 2,
      timeoutScale: 2.5,
      reportsDir: resolve('some/reports'),
      cacheDir: resolve('some/cache'),
      footprintWindowMs: 90_000,
      latencyRate: 0.5,
      latencyDurationMs: 45_000,
      cold: true,
      keep: true,
      debug: true,
    });
  });

  test('backend and topology are parsed and checked against each other before anything boots', async () => {
    expect(await parseRunOptions({ backend: 'container', topology: '3+1', suite: 'smoke,ha' })).toMatchObject({
      backend: 'container', topology: { controlPlanes: 3, workers: 1 }, suites: ['smoke', 'ha'],
    });
    expect((await parseRunOptions({})).topology).toEqual({ controlPlanes: 1, workers: 0 });
    await expect(parseRunOptions({ topology: '2' })).rejects.toThrow(/even member count/);
    await expect(parseRunOptions({ topology: '2+1', backend: 'container' })).rejects.toBeInstanceOf(UsageError);
    await expect(parseRunOptions({ suite: 'ha' })).rejects.toThrow(/ha suite needs three control planes/);
    await expect(parseRunOptions({ backend: 'container', board: 'rpi4' })).rejects.toThrow(/--board, --memory and --cpus apply to emulated boards/);
    await expect(parseRunOptions({ backend: 'container', cpus: '1' })).rejects.toThrow(/--board, --memory and --cpus apply to emulated boards/);
    await expect(parseRunOptions({ backend: 'vm' })).rejects.toThrow(/Unknown backend "vm"/);
    await expect(parseRunOptions({ topology: '3x1' })).rejects.toThrow(/Invalid topology/);
  });

  test('--cpus is a whole number from 1 to the board\'s cores', async () => {
    expect((await parseRunOptions({ cpus: ' 4 ' })).cpus).toBe(4);
    for (const bad of ['0', '5', '1.5', 'two', '', '-1']) {
      await expect(parseRunOptions({ cpus: bad }), bad).rejects.toMatchObject({ message: `Board rpi4 cannot have "${bad}" CPUs`, hint: expect.stringMatching(/from 1 to 4/) });
    }
    await expect(parseRunOptions({ board: 'x86-vm', cpus: '4' })).rejects.toMatchObject({ hint: expect.stringMatching(/from 1 to 2/) });
  });

  test('a malformed budgets file is refused with its file and line before anything boots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-budgets-'));
    try {
      const file = join(dir, 'budgets.yaml');
      writeFileSync(file, 'schemaVersion: 1\nbudgets:\n  mine:\n    measurement: HA-*/lost-writes\n    max: lots\n');
      await expect(parseRunOptions({ budgets: file })).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the timeout scale stays a float', () => {
    expect(parsePositiveNumber('1.75', '--timeout-scale', '')).toBe(1.75);
    expect(parsePositiveNumber('.5', '--timeout-scale', '')).toBe(0.5);
    expect(parsePositiveNumber('1e1', '--timeout-scale', '')).toBe(10);
  });

  test.each(['', 'abc', '-1', '0', '1,5', '0x10', 'NaN', '1e400'])('%j is not a positive number', (text) => {
    expect(() => parsePositiveNumber(text, '--timeout-scale', 'a factor')).toThrow(UsageError);
  });

  test('an empty suite list is a usage error naming the valid suites', () => {
    expect(() => parseSuiteList(' , ')).toThrow(/at least one suite/);
  });

  test('a near-miss board name gets a suggestion', async () => {
    await expect(parseRunOptions({ board: 'rpi' })).rejects.toThrow(/did you mean "rpi4"/);
  });

  test('an unknown distribution lists the registered ones', async () => {
    await expect(parseRunOptions({ distro: 'k9s' })).rejects.toThrow(/Unknown distribution "k9s"/);
  });

  test('measurement windows shorter than a second are refused (a bare number is milliseconds)', async () => {
    await expect(parseRunOptions({ footprintWindow: '30' })).rejects.toThrow(/at least 1s/);
    await expect(parseRunOptions({ latencyDuration: '500ms' })).rejects.toThrow(/at least 1s/);
  });

  test('--airgap adds the airgap suite; --airgap-target takes IP literals and needs that suite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-airgap-run-'));
    try {
      const options = await parseRunOptions({ suite: 'smoke', airgap: dir, airgapTarget: '1.1.1.1:443,[2001:db8::1]' });
      expect(options.suites).toEqual(['smoke', 'airgap']);
      expect(options.clusterSource.distroOptions).toEqual({ airgapDir: dir });
      expect(options.airgapTargets).toEqual([{ address: '1.1.1.1', port: 443 }, { address: '2001:db8::1', port: 443 }]);
      expect((await parseRunOptions({ suite: 'airgap' })).airgapTargets).toEqual([]);
      await expect(parseRunOptions({ airgapTarget: '1.1.1.1' })).rejects.toThrow('--airgap-target applies to the airgap suite');
      await expect(parseRunOptions({ suite: 'airgap', airgapTarget: 'one.one.one.one' })).rejects.toThrow(/not an IP address\[:port\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a reports dir that is a file is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-cli-'));
    writeFileSync(join(dir, 'file'), 'x');
    await expect(parseRunOptions({ reportsDir: join(dir, 'file') })).rejects.toThrow(/not a directory/);
    rmSync(dir, { recursive: true });
  });
});
