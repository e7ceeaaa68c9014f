import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitCodeForError } from '../core/exit-codes.js';
import { describeError } from '../core/errors.js';
import { ComponentBuildError, classifyGoOutput } from './go-failure.js';

/** Real output of go 1.26.8, captured into test-fixtures (see the ADR for the commands). */
const fixture = (name: string) => readFileSync(new URL(`./test-fixtures/${name}`, import.meta.url), 'utf8');
const context = { component: 'cni-plugins', module: 'github.com/containernetworking/plugins', version: 'v1.99.0', arch: 'arm64', cacheDir: '/var/cache/ep', step: 'resolving the module' };

describe('classifyGoOutput', () => {
  it.each([
    ['go-unknown-version.txt', 'unknown-version'],
    ['go-proxy-refused.txt', 'proxy-unreachable'],
    ['go-toolchain-too-old.txt', 'toolchain-too-old'],
    ['go-build-failed.txt', 'build-failed'],
  ])('%s -> %s', (file, kind) => {
    expect(classifyGoOutput(fixture(file))).toBe(kind);
  });
});

describe('ComponentBuildError', () => {
  it('an unknown version is an input error (exit 2) naming module, version, cache dir and what go said', () => {
    const error = new ComponentBuildError(context, fixture('go-unknown-version.txt'));
    expect(error.code).toBe('INPUT');
    expect(exitCodeForError(error)).toBe(2);
    const shown = describeError(error);
    expect(shown).toContain('github.com/containernetworking/plugins@v1.99.0');
    expect(shown).toContain('/var/cache/ep');
    expect(shown).toContain('This module version is not available.');
    expect(shown).toContain('go list -m -versions github.com/containernetworking/plugins');
  });

  it('an unreachable proxy is the environment (exit 3), a failed build too', () => {
    expect(exitCodeForError(new ComponentBuildError(context, fixture('go-proxy-refused.txt')))).toBe(3);
    const build = new ComponentBuildError({ ...context, step: 'go build' }, fixture('go-build-failed.txt'));
    expect(build.code).toBe('COMMAND_FAILED');
    expect(build.message).toContain('undefined: undefinedThing');
  });

  it('keeps the last 20 lines of go output', () => {
    const output = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const message = new ComponentBuildError(context, output).message;
    expect(message).toContain('line 49');
    expect(message).toContain('line 30');
    expect(message).not.toContain('line 29\n');
  });
});
