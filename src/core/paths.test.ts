import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UsageError } from './errors.js';
import { makeDirectory, writableDirectory } from './paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'ep-paths-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('makeDirectory: mkdir -p that fails instead of spinning', () => {
  test('creates every missing level, with the mode asked for, and accepts one that exists', () => {
    const deep = join(scratch, 'a', 'b', 'c');
    makeDirectory(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    expect(() => makeDirectory(deep)).not.toThrow();
  });

  test('under /proc (exists, refuses new entries with ENOENT) it throws at once', () => {
    expect(() => makeDirectory('/proc/ep-test/run')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  test('under a file it throws ENOTDIR', () => {
    writeFileSync(join(scratch, 'file'), 'x');
    expect(() => makeDirectory(join(scratch, 'file', 'run'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });
});

describe('writableDirectory: a chosen directory, checked before anything is written', () => {
  test('an existing directory or one that can be created is returned absolute, and nothing is left behind', () => {
    expect(writableDirectory(join(scratch, 'new', 'reports'), '--reports-dir')).toBe(join(scratch, 'new', 'reports'));
    expect(() => statSync(join(scratch, 'new'))).toThrow();
    expect(writableDirectory(scratch, '--out')).toBe(scratch);
  });

  test('what is in the way is said, naming the flag', () => {
    writeFileSync(join(scratch, 'plain'), 'x');
    expect(() => writableDirectory(join(scratch, 'plain'), '--out')).toThrow(new UsageError(`--out ${join(scratch, 'plain')} is not a directory`, 'pass a directory (it is created when missing)'));
    expect(() => writableDirectory(join(scratch, 'plain', 'x'), '--out')).toThrow(`--out ${join(scratch, 'plain', 'x')} cannot be created: ${join(scratch, 'plain')} is not a directory`);
    expect(() => writableDirectory('/proc/ep-test', '--cache-dir')).toThrow('--cache-dir /proc/ep-test cannot be created: /proc takes no new entries (ENOENT)');
  });
});
