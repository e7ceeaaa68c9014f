import { describe, expect, it } from 'vitest';
import { CleanupError, EdgeproofError, InterruptedError, PrerequisiteMissingError, UsageError, type ErrorCode } from './errors.js';
import { EXIT, exitCodeForError } from './exit-codes.js';

describe('the exit-code contract', () => {
  it('keeps its numbers: scripts and release gates compare against them', () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, error: 3, interrupted: 130 });
  });
});

describe('exitCodeForError', () => {
  it.each<[string, unknown]>([
    ['a usage error', new UsageError('unknown board "rpi9"')],
    ['bad input', new EdgeproofError('INPUT', 'budgets.yaml:3: not a duration')],
    ['a missing prerequisite', new PrerequisiteMissingError('qemu-system-aarch64', 'apt-get install qemu-system-arm')],
  ])('%s is the caller to fix: 2', (_, error) => {
    expect(exitCodeForError(error)).toBe(2);
  });

  it.each<ErrorCode>(['BOOT_FAILED', 'WAIT_TIMEOUT', 'KUBE_API', 'COMMAND_FAILED', 'NODE_JOIN_FAILED', 'INSTALL_SOURCE_UNREACHABLE', 'NETWORK_UNAVAILABLE', 'CACHE_CORRUPT', 'CACHE_BUSY', 'INTERNAL'])(
    'the run itself erroring (%s) is no verdict: 3',
    (code) => {
      expect(exitCodeForError(new EdgeproofError(code, 'it broke'))).toBe(3);
    },
  );

  it.each<[string, unknown]>([
    ['a failed cleanup', new CleanupError([new Error('container still there')])],
    ['a plain Error (a bug)', new TypeError("cannot read properties of undefined (reading 'name')")],
    ['a thrown non-error', 'boom'],
    ['nothing at all', undefined],
  ])('%s: 3', (_, error) => {
    expect(exitCodeForError(error)).toBe(3);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('an interrupt by %s exits 128 + its number: %i', (signal, code) => {
    expect(exitCodeForError(new InterruptedError(signal))).toBe(code);
  });
});
