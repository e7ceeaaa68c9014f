import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../core/errors.js';
import { DEFAULT_SUITES, SUITE_NAMES, SUITES } from '../suites/registry.js';
import { RUN_DEFAULTS, parseSuiteList, suiteNames } from './run-options.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));

async function edgeproof(...args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { reject: false, cwd: '/tmp', env: { EDGEPROOF_REAPER: 'off' } });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe('the CLI takes its suites from the registry', () => {
  test('its list of suite names is the registry\'s, in the registry\'s order', () => {
    expect(suiteNames).toBe(SUITE_NAMES);
    expect(suiteNames).toEqual(Object.keys(SUITES));
  });

  test('--suite accepts every registry entry', () => {
    expect(parseSuiteList(SUITE_NAMES.join(','))).toEqual(SUITE_NAMES);
    for (const name of SUITE_NAMES) expect(parseSuiteList(name)).toEqual([name]);
  });

  test('the default --suite is the registry\'s default suites (today smoke, footprint, api-latency)', () => {
    expect(RUN_DEFAULTS.suite).toBe(DEFAULT_SUITES.join(','));
    expect(parseSuiteList(RUN_DEFAULTS.suite)).toEqual(['smoke', 'footprint', 'api-latency']);
  });

  test('an unknown suite is refused with a suggestion and the registry\'s list', () => {
    const refusal = (() => {
      try {
        parseSuiteList('smoke,storag');
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(UsageError);
    expect(refusal).toMatchObject({ message: 'Unknown suite "storag" for --suite (did you mean "storage"?)', hint: `valid suites: ${SUITE_NAMES.join(', ')}` });
  });

  test('`edgeproof run --help` lists every registry entry with its one-line help', async () => {
    const { code, stdout } = await edgeproof('run', '--help');
    expect(code).toBe(0);
    const section = stdout.slice(stdout.indexOf('\nSuites:\n'));
    for (const name of SUITE_NAMES) {
      const marker = DEFAULT_SUITES.includes(name) ? ' (default)' : '';
      expect(section).toMatch(new RegExp(`^  ${name} +${escape(SUITES[name].help)}${escape(marker)}$`, 'm'));
    }
    // commander wraps the option's description
    expect(stdout.replace(/\s+/g, ' ')).toContain(`comma-separated suites: ${SUITE_NAMES.join(', ')}`);
  });

  test('`edgeproof run --suite` with an unknown name exits 2 and lists the registry\'s suites', async () => {
    const { code, stderr } = await edgeproof('run', '--suite', 'smoke,conformanse');
    expect(code).toBe(2);
    expect(stderr).toContain('Unknown suite "conformanse" for --suite (did you mean "conformance"?)');
    expect(stderr).toContain(`valid suites: ${SUITE_NAMES.join(', ')}`);
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
