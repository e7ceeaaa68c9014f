import type { Arch } from './boards.js';

export type MachineCapability = 'power-off' | 'power-on' | 'freeze' | 'partition' | 'reboot' | 'console' | 'snapshot';

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Throw CommandFailedError on a non-zero exit (default true). */
  check?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal?: string;
  durationMs: number;
}

/**
 * A started machine, whatever made it (QEMU board, SSH host, container).
 * Owned by whoever started it; `dispose()` is idempotent.
 */
export interface Machine extends AsyncDisposable {
  readonly name: string;
  readonly arch: Arch;
  /** The address Kubernetes and other nodes use for this machine. */
  readonly address: string;
  readonly capabilities: ReadonlySet<MachineCapability>;
  /** Where the serial console is captured, when there is one. */
  readonly consoleLogPath?: string;
  /** Where a guest TCP port is reachable from the host (always 127.0.0.1 for emulated boards). */
  hostEndpoint(guestPort: number): { host: string; port: number };
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  writeFile(guestPath: string, content: string | Buffer, mode?: number): Promise<void>;
  readFile(guestPath: string): Promise<Buffer>;
  /** QMP stop / cont: the machine hangs but is not dead. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Hard power-off: no shutdown, the disk stays. */
  powerOff(): Promise<void>;
  dispose(): Promise<void>;
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
