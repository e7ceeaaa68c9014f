import type { ExecOptions, Machine } from '../machine.js';

/**
 * What `systemctl is-system-running` says (initializing, starting, running,
 * degraded, maintenance, stopping, offline, unknown); `no-systemd` for a
 * guest without systemctl (the fast init's image).
 */
export type SystemdState = 'initializing' | 'starting' | 'running' | 'degraded' | 'maintenance' | 'stopping' | 'offline' | 'unknown' | 'no-systemd';

/** A systemd guest's state as data: a degraded one names its failed units. */
export interface SystemState {
  state: SystemdState;
  /** `systemctl --failed --plain --no-legend`: unit names, empty when none failed. */
  failedUnits: string[];
}

const KNOWN_STATES: readonly SystemdState[] = ['initializing', 'starting', 'running', 'degraded', 'maintenance', 'stopping', 'offline', 'unknown'];

/** Exit code 127: the shell found no systemctl. */
const COMMAND_NOT_FOUND = 127;

export function parseSystemdState(stdout: string, exitCode: number | null): SystemdState {
  if (exitCode === COMMAND_NOT_FOUND) return 'no-systemd';
  const word = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  return (KNOWN_STATES as readonly string[]).includes(word) ? (word as SystemdState) : 'unknown';
}

/** Unit names from `systemctl --failed --plain --no-legend` (first column; a leading "●" or "*" is dropped). */
export function parseFailedUnits(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().replace(/^[●*]\s*/u, '').split(/\s+/)[0] ?? '')
    .filter((unit) => unit.length > 0);
}

/**
 * Reads a machine's systemd state and its failed units. With `waitMs`, waits
 * up to that long for the boot to finish first (`is-system-running --wait`
 * returns once the state is no longer initializing or starting).
 */
export async function readSystemState(machine: Pick<Machine, 'exec'>, options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<SystemState> {
  const exec: ExecOptions = { check: false, ...(options.signal ? { signal: options.signal } : {}) };
  const wait = options.waitMs ? ` --wait` : '';
  const running = await machine.exec(`systemctl is-system-running${wait}`, { ...exec, ...(options.waitMs ? { timeoutMs: options.waitMs } : {}) });
  const state = parseSystemdState(running.stdout, running.exitCode);
  if (state === 'no-systemd') return { state, failedUnits: [] };
  const failed = await machine.exec('systemctl --failed --plain --no-legend', exec);
  return { state, failedUnits: parseFailedUnits(failed.stdout) };
}
