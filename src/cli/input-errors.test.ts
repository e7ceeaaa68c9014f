import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { UsageError } from '../core/errors.js';
import { fixturePath, projectRoot } from '../core/paths.js';
import { buildProgram } from './main.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'ep-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A run directory from the fixtures: compare, diff and merge get as far as writing their output. */
const RUN = fixturePath('golden', 'reports', 'killed-run');
const RUNS = fixturePath('golden', 'reports');
/** Node's recursive mkdir used to spin here forever, deaf to SIGTERM: the timeout is the proof it does not. */
const HANG_MS = 45_000;

/** The real CLI (or a bench script) in a child process with a cache of its own, killed if it hangs. */
async function spawn(command: string[], env: Record<string, string> = {}, cwd = scratch) {
  const result = await execa(process.execPath, command, {
    reject: false,
    cwd,
    env: { EDGEPROOF_REAPER: 'off', EDGEPROOF_CACHE_DIR: join(scratch, 'cache'), ...env },
    timeout: HANG_MS,
    forceKillAfterDelay: 1000,
  });
  return { code: result.exitCode, timedOut: result.timedOut, stderr: String(result.stderr) };
}
const edgeproof = (...args: string[]) => spawn([bin, ...args]);
/** A bench script, run from the project (where tsx resolves), as `npm run bench:snapshot -- ARGS` does. */
const benchSnapshot = (args: string[], env: Record<string, string> = {}) => spawn(['--import', 'tsx', join(projectRoot(), 'scripts', 'bench-snapshot.ts'), ...args], env, projectRoot());

describe.concurrent('a directory that cannot be created: exit 2 at once, saying why (real CLI)', { timeout: HANG_MS + 15_000 }, () => {
  test.each([
    ['run --reports-dir', ['run', '--reports-dir', '/proc/ep/reports'], '--reports-dir /proc/ep/reports'],
    ['run --cache-dir', ['run', '--cache-dir', '/proc/ep/cache'], '--cache-dir /proc/ep/cache'],
    ['merge --out', ['merge', RUNS, '--out', '/proc/ep/merged'], '--out /proc/ep/merged'],
    ['compare --out', ['compare', RUN, '--out', '/proc/ep/compare'], '--out /proc/ep/compare'],
    ['diff --out', ['diff', RUN, RUN, '--out', '/proc/ep/diff'], '--out /proc/ep/diff'],
    ['conformance-images --out', ['conformance-images', '--out', '/proc/ep/images'], '--out /proc/ep/images'],
    ['conformance-images --cache-dir', ['conformance-images', '--cache-dir', '/proc/ep/cache'], '--cache-dir /proc/ep/cache'],
  ])('%s under /proc', async (_, args, named) => {
    const { code, timedOut, stderr } = await edgeproof(...args);
    expect(timedOut, 'the command hung').toBe(false);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(`error: ${named} cannot be created: /proc takes no new entries (ENOENT)`);
    expect(stderr).toContain('hint: choose a directory on a writable file system');
  });

  test('run with EDGEPROOF_CACHE_DIR under /proc', async () => {
    const { code, timedOut, stderr } = await spawn([bin, 'run'], { EDGEPROOF_CACHE_DIR: '/proc/ep/cache' });
    expect(timedOut, 'the command hung').toBe(false);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('error: EDGEPROOF_CACHE_DIR /proc/ep/cache cannot be created: /proc takes no new entries (ENOENT)');
  });

  test('--reports-dir /proc itself (it exists, but takes no run directory)', async () => {
    const { code, stderr } = await edgeproof('run', '--reports-dir', '/proc');
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('error: --reports-dir /proc cannot be written: /proc takes no new entries (ENOENT)');
  });

  test('a bench script with EDGEPROOF_REPORTS_DIR under /proc says so before it starts', async () => {
    // --cold-runs 0 would stop it next, so nothing boots even where the directory is not checked.
    const { code, timedOut, stderr } = await benchSnapshot(['--cold-runs', '0'], { EDGEPROOF_REPORTS_DIR: '/proc/ep/reports' });
    expect(timedOut).toBe(false);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('bench:snapshot: EDGEPROOF_REPORTS_DIR /proc/ep/reports cannot be created: /proc takes no new entries (ENOENT)');
  });
});

describe.concurrent('empty and space-padded values: exit 2 naming the option and what it takes (real CLI)', { timeout: 60_000 }, () => {
  test.each([
    [['run', '--version', ''], '--version is empty: it takes <version>: the distribution\'s version'],
    [['run', '--memory', ''], '--memory is empty: it takes <size>: guest memory per board'],
    [['run', '--cpus', ' 1'], '--cpus " 1" has spaces around it: it takes <n>: vCPUs per board'],
    [['run', '--topology', ' 1'], '--topology " 1" has spaces around it: it takes <n[+w]>: control planes[+workers]'],
    [['run', '--board', ' rpi4'], '--board " rpi4" has spaces around it: it takes <name>: board to emulate'],
    [['report', ' '], '<run-dir> is blank: it takes a run directory (holds events.jsonl)'],
    [['images', '--distro', 'k3s '], '--distro "k3s " has spaces around it: it takes <name>'],
    [['matrix', 'plan', '--file', ''], '--file is empty: it takes <file>: matrix file'],
  ])('%j', async (args, message) => {
    const { code, stderr } = await edgeproof(...args);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(`error: ${message}`);
  });

  test('a bench script: the same rule for its flags', async () => {
    const { code, stderr } = await benchSnapshot(['--board', ' rpi4', '--cold-runs', '0']);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('bench:snapshot: --board " rpi4" has spaces around it: it takes a value like its default, rpi4');
  });
});

/** The commands that run an action, with a stand-in action: nothing may start while values are being checked. */
function leafCommands(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  if (command.commands.length === 0) return [{ path, command }];
  return command.commands.flatMap((sub) => leafCommands(sub, [...path, sub.name()]));
}

const takesValue = (option: Option) => option.required || option.optional;

describe('every value-taking option and argument of every command refuses an empty or space-padded value', () => {
  const program = buildProgram(() => {}, { graceful: false });
  const leaves = leafCommands(program);
  for (const { command } of leaves) {
    command.action(() => {
      throw new Error(`the action of ${command.name()} ran`);
    });
  }
  /** The least a command needs to parse: its required arguments and mandatory options. */
  const minimal = (command: Command, except?: Option) => [
    ...command.registeredArguments.filter((a) => a.required).map(() => 'x'),
    ...command.options.filter((o) => o.mandatory && o !== except).flatMap((o) => [o.long!, 'x']),
  ];
  const cases = leaves.flatMap(({ path, command }) => [
    ...command.options.filter(takesValue).flatMap((option) => ['', '  ', ' x', 'x '].map((value) => ({ args: [...path, ...minimal(command, option), option.long!, value], name: option.long! }))),
    ...(command.registeredArguments.length > 0 ? [{ args: [...path, '', ...minimal(command).slice(1)], name: `<${command.registeredArguments[0]!.name()}>` }] : []),
  ]);

  test('the commands and options are all there', () => {
    expect(leaves.map((l) => l.path.join(' '))).toEqual(expect.arrayContaining(['run', 'images', 'merge', 'clean', 'report', 'compare', 'diff', 'doctor', 'cache', 'matrix plan', 'conformance-images']));
    expect(cases.length).toBeGreaterThan(150);
  });

  test.each(cases.map((c) => [c.args.join(' | '), c] as const))('%s', async (_, { args, name }) => {
    const parsing = program.parseAsync(['node', 'edgeproof', ...args]);
    await expect(parsing).rejects.toBeInstanceOf(UsageError);
    await expect(parsing).rejects.toThrow(new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (is empty|is blank|"[^"]*" has spaces around it): it takes `));
  });
});
