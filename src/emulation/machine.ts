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
  /** Reboots and resolves once the machine answers again ('reboot' capability). */
  reboot?(): Promise<void>;
  /** Cuts traffic between this machine and `peers` (IP addresses) until heal() ('partition' capability). */
  partition?(peers: string[]): Promise<void>;
  heal?(): Promise<void>;
  dispose(): Promise<void>;
}

type Exec = (command: string, options?: ExecOptions) => Promise<ExecResult>;

/** Writes a file through a shell (mkdir -p, cat from stdin, chmod): how every SSH-reached machine writes files. */
export async function writeFileThroughShell(exec: Exec, path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  await exec(`mkdir -p ${shellQuote(dir)} && cat > ${shellQuote(path)} && chmod ${mode.toString(8)} ${shellQuote(path)}`, { input: content });
}

/** Reads a file through a shell, base64 on the wire so binary content survives. */
export async function readFileThroughShell(exec: Exec, path: string): Promise<Buffer> {
  const result = await exec(`base64 < ${shellQuote(path)}`);
  return Buffer.from(result.stdout, 'base64');
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
