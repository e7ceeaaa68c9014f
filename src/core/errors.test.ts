import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BootFailedError,
  CacheCorruptError,
  CleanupError,
  CommandFailedError,
  EdgeproofError,
  UsageError,
  WaitTimeoutError,
  describeError,
  errorDetail,
  formatMs,
  tail,
  type CommandOutcome,
} from './errors.js';

/** Runs a real shell command and turns its result into a CommandOutcome. */
function run(script: string): CommandOutcome {
  const started = Date.now();
  const result = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  return {
    command: `sh -c '${script}'`,
    where: 'host',
    exitCode: result.status,
    signal: result.signal,
    durationMs: Date.now() - started,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

describe('CommandFailedError', () => {
  it('message names the command, where, the exit code and the last stderr line', () => {
    const outcome = run('echo out-1; echo "warning: first" >&2; echo "fatal: no such file" >&2; echo >&2; exit 3');
    expect(outcome.exitCode).toBe(3);
    const error = new CommandFailedError({ ...outcome, command: 'kubeadm init', where: 'ep-1234-cp-0' });
    expect(error).toBeInstanceOf(EdgeproofError);
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.name).toBe('CommandFailedError');
    expect(error.message).toBe('Command `kubeadm init` on ep-1234-cp-0 exited with code 3: fatal: no such file');
    expect(error.outcome.exitCode).toBe(3);
  });

  it('falls back to the last stdout line when stderr is empty, and to no suffix when both are', () => {
    const withStdout = new CommandFailedError(run('echo one; echo two; exit 1'));
    expect(withStdout.message).toMatch(/ on host exited with code 1: two$/);
    const silent = new CommandFailedError(run('exit 7'));
    expect(silent.message).toMatch(/ on host exited with code 7$/);
    expect(silent.detail()).toBe(silent.message);
  });

  it('describes signals and timeouts', () => {
    const killed = run('kill -KILL $$');
    expect(killed.signal).toBe('SIGKILL');
    expect(new CommandFailedError({ ...killed, command: 'qemu' }).message).toBe('Command `qemu` on host was killed by SIGKILL');
    const timedOut: CommandOutcome = { command: 'sleep 99', where: 'vm', timedOut: true, durationMs: 90_000, stdout: '', stderr: 'still going\n' };
    expect(new CommandFailedError(timedOut).message).toBe('Command `sleep 99` on vm timed out after 1m30s: still going');
  });

  it('shortens very long commands and cuts the last line to 300 characters', () => {
    const long = 'x'.repeat(200);
    const error = new CommandFailedError({ command: long, where: 'h', exitCode: 1, durationMs: 1, stdout: '', stderr: 'e'.repeat(500) });
    expect(error.message).toContain(`\`${'x'.repeat(117)}...\``);
    expect(error.message.endsWith(`: ${'e'.repeat(300)}`)).toBe(true);
  });

  it('detail() carries the last 20 lines of stdout and stderr', () => {
    const outcome = run('for i in $(seq 1 30); do echo "out $i"; echo "err $i" >&2; done; exit 2');
    const detail = new CommandFailedError(outcome).detail();
    const [head, rest] = detail.split('\n--- stdout (tail)\n');
    expect(head).toMatch(/exited with code 2: err 30$/);
    const [stdoutTail, stderrTail] = rest!.split('\n--- stderr (tail)\n');
    expect(stdoutTail!.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `out ${i + 11}`));
    expect(stderrTail!.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `err ${i + 11}`));
    expect(detail).not.toContain('out 10\n');
    expect(errorDetail(new CommandFailedError(outcome))).toBe(detail);
  });
});

describe('tail', () => {
  it('keeps the last n lines, ignoring trailing newlines', () => {
    expect(tail('a\nb\nc\n\n', 2)).toBe('b\nc');
    expect(tail('only')).toBe('only');
    expect(tail(Array.from({ length: 25 }, (_, i) => String(i)).join('\n')).split('\n')).toHaveLength(20);
  });
});

describe('formatMs', () => {
  it.each([
    [0, '0ms'],
    [950, '950ms'],
    [999.4, '999ms'],
    [1_000, '1.0s'],
    [1_500, '1.5s'],
    [9_900, '9.9s'],
    [10_000, '10s'],
    [42_000, '42s'],
    [42_400, '42s'],
    [59_000, '59s'],
    [60_000, '1m00s'],
    [90_000, '1m30s'],
    [240_000, '4m00s'],
    [3_665_000, '61m05s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it.each([
    [999.6, '1.0s'],
    [9_960, '10s'],
    [59_500, '1m00s'],
    [119_700, '2m00s'],
    [3_659_600, '61m00s'],
  ])('carries rounding into the next unit: %d ms is %s, never "60s" of a minute', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });
});

describe('error family', () => {
  it('describeError gives the short form with the hint; errorDetail the long form', () => {
    const usage = new UsageError('Unknown board "x"', 'try --board qemu-arm64');
    expect(describeError(usage)).toBe('Unknown board "x"\n  hint: try --board qemu-arm64');
    expect(usage.detail()).toBe('Unknown board "x"\nhint: try --board qemu-arm64');
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError('text')).toBe('text');
    expect(describeError(new CleanupError([new Error('a'), 'b']))).toBe('Cleanup failed: a; b');
    const cached = new CacheCorruptError('kernel', 'Image is missing');
    expect(cached.message).toBe('Cached kernel is corrupt: Image is missing');
    expect(cached.hint).toBe('it will be rebuilt');
  });

  it('keeps the cause and the subclass name', () => {
    const cause = new Error('socket hang up');
    const error = new WaitTimeoutError('ssh', 1_000, 'refused', { cause });
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('WaitTimeoutError');
  });

  it('BootFailedError detail carries the last 30 console lines', () => {
    const console = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n');
    const error = new BootFailedError('ep-1-cp-0', 'did not boot', console);
    expect(error.message).toBe('Machine "ep-1-cp-0" did not boot');
    const lines = error.detail().split('--- console (tail)\n')[1]!.split('\n');
    expect(lines).toHaveLength(30);
    expect(lines[0]).toBe('line 11');
    expect(lines.at(-1)).toBe('line 40');
  });
});
