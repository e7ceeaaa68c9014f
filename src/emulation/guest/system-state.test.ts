import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecResult, ExecOptions } from '../machine.js';
import { parseFailedUnits, parseSystemdState, readSystemState } from './system-state.js';

/** A machine whose shell is this host's: commands run for real under sh, with a PATH of stand-in systemctl scripts. */
function hostShell(path: string) {
  return {
    async exec(command: string, _options?: ExecOptions): Promise<ExecResult> {
      try {
        const stdout = execFileSync('/bin/sh', ['-c', command], { env: { PATH: path }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return { stdout, stderr: '', exitCode: 0, durationMs: 0 };
      } catch (error) {
        const failed = error as { stdout: string; stderr: string; status: number };
        return { stdout: failed.stdout, stderr: failed.stderr, exitCode: failed.status, durationMs: 0 };
      }
    },
  };
}

describe('parseSystemdState', () => {
  it('reads the state word, whatever the exit code', () => {
    expect(parseSystemdState('running\n', 0)).toBe('running');
    expect(parseSystemdState('degraded\n', 1)).toBe('degraded');
    expect(parseSystemdState('starting\n', 1)).toBe('starting');
    expect(parseSystemdState('offline\n', 1)).toBe('offline');
  });

  it('says no-systemd when there is no systemctl, unknown for anything else', () => {
    expect(parseSystemdState('', 127)).toBe('no-systemd');
    expect(parseSystemdState('Failed to connect to bus\n', 1)).toBe('unknown');
  });
});

describe('parseFailedUnits', () => {
  it('names each failed unit of `systemctl --failed --plain --no-legend`', () => {
    const output = [
      'systemd-modules-load.service loaded failed failed Load Kernel Modules',
      '● snapd.apparmor.service     loaded failed failed Load AppArmor profiles managed internally by snapd',
      '',
    ].join('\n');
    expect(parseFailedUnits(output)).toEqual(['systemd-modules-load.service', 'snapd.apparmor.service']);
    expect(parseFailedUnits('')).toEqual([]);
  });
});

describe('readSystemState', () => {
  it('names the failed units of a degraded system and reports a guest without systemctl as no-systemd', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ep-systemctl-'));
    try {
      writeFileSync(
        join(bin, 'systemctl'),
        '#!/bin/sh\ncase "$*" in\n  is-system-running*) echo degraded; exit 1 ;;\n  *--failed*) echo "ep-broken.service loaded failed failed Broken"; echo "x.mount loaded failed failed X" ;;\nesac\n',
        { mode: 0o755 },
      );
      expect(await readSystemState(hostShell(`${bin}:/usr/bin:/bin`))).toEqual({ state: 'degraded', failedUnits: ['ep-broken.service', 'x.mount'] });
      expect(await readSystemState(hostShell(join(bin, 'empty')))).toEqual({ state: 'no-systemd', failedUnits: [] });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
