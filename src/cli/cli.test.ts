import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { boardNames } from '../emulation/boards.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));

/** The real CLI in a child process, from an unrelated cwd. */
async function edgeproof(...args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { reject: false, cwd: '/tmp', env: { EDGEPROOF_REAPER: 'off' } });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe.concurrent('edgeproof run: flags are validated before anything starts', () => {
  test('an unknown board exits 2 and lists the valid boards', async () => {
    const { code, stderr } = await edgeproof('run', '--board', 'nope');
    expect(code).toBe(2);
    expect(stderr).toContain('Unknown board "nope"');
    for (const board of ['rpi4', 'rpi3b', 'x86-vm']) expect(stderr).toContain(board);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack without --debug
  });

  test('an unknown suite in a list exits 2 and lists the valid suites', async () => {
    const { code, stderr } = await edgeproof('run', '--suite', 'smoke,bogus');
    expect(code).toBe(2);
    expect(stderr).toContain('Unknown suite "bogus"');
    expect(stderr).toContain('smoke, footprint, api-latency');
  });

  test.each([['abc'], ['-1']])('--timeout-scale %s exits 2', async (value) => {
    const { code, stderr } = await edgeproof('run', '--timeout-scale', value);
    expect(code).toBe(2);
    expect(stderr).toContain('--timeout-scale');
    expect(stderr).toContain('positive number');
  });

  test('a memory size the board cannot have exits 2 naming the valid sizes', async () => {
    const { code, stderr } = await edgeproof('run', '--memory', '3G', '--board', 'rpi4');
    expect(code).toBe(2);
    expect(stderr).toContain('3G');
    expect(stderr).toContain('1G, 2G, 4G, 8G');
  });

  test('a duration without a sensible unit exits 2 with the fix', async () => {
    const { code, stderr } = await edgeproof('run', '--footprint-window', 'soon');
    expect(code).toBe(2);
    expect(stderr).toContain('Invalid --footprint-window "soon"');
    expect(stderr).toContain('"90s"');
  });

  test('an unknown option exits 2 with commander\'s message and where to look', async () => {
    const { code, stderr } = await edgeproof('run', '--frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--frobnicate'");
    expect(stderr).toContain('see edgeproof run --help');
  });

  test('an unknown command exits 2', async () => {
    const { code, stderr } = await edgeproof('fly');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'fly'");
  });
});

// `boards` boots a kernel under KVM where /dev/kvm exists (up to 5 s, see host-probe.ts): a longer timeout.
describe.concurrent('edgeproof boards and help', { timeout: 45_000 }, () => {
  test('boards --json parses and holds every board with its acceleration', async () => {
    const { code, stdout } = await edgeproof('boards', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { boards: { name: string; accel: string; accelReason: string }[] };
    expect(report.boards.map((board) => board.name)).toEqual(boardNames);
    for (const board of report.boards) {
      expect(['kvm', 'tcg']).toContain(board.accel);
      expect(board.accelReason).not.toBe('');
    }
  });

  test('boards prints a table with the rpi3b power-off note', async () => {
    const { code, stdout } = await edgeproof('boards');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^board\s+arch\s+qemu machine/);
    expect(stdout).toMatch(/rpi3b\s+arm64\s+raspi3b/);
    expect(stdout).toContain('halts instead of power-off');
  });

  test('--help documents the exit codes', async () => {
    const { code, stdout } = await edgeproof('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes:');
    for (const exitCode of ['0', '1', '2', '3', '130']) expect(stdout).toMatch(new RegExp(`^\\s+${exitCode}\\s`, 'm'));
  });

  test('run --help lists the run flags with their defaults', async () => {
    const { code, stdout } = await edgeproof('run', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--timeout-scale <float>');
    expect(stdout).toContain('(default: rpi4)');
    expect(stdout).toContain('--topology <n[+w]>');
    expect(stdout).toContain('default: "1"');
    expect(stdout).toContain('"smoke,footprint,api-latency"');
  });
});
