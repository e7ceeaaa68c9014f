import type { Arch } from './boards.js';

export type MachineCapability = 'power-off' | 'power-on' | 'freeze' | 'partition' | 'reboot' | 'console' | 'snapshot';

/** What made a machine: reports and checks say which backend a figure comes from. */
export type BackendName = 'qemu' | 'container' | 'ssh' | 'existing';

export interface BootTimings {
  initMs?: number;
  sshMs?: number;
}

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
  readonly backend: BackendName;
  /** The address Kubernetes and other nodes use for this machine (its private-network address in a multi-node cluster). */
  readonly address: string;
  /**
   * The cgroup (relative to each v1 controller's root) under which everything
   * the distribution runs on this machine must live: '' when the whole
   * hierarchy is its own (a VM, a board, a node container with its own
   * cgroup namespace), else the machine's subtree of a shared hierarchy.
   */
  readonly cgroupRoot: string;
  readonly capabilities: ReadonlySet<MachineCapability>;
  /** Where the serial console is captured, when there is one. */
  readonly consoleLogPath?: string;
  /** Milliseconds from the machine's start to its init ready and to SSH answering, when it boots (an emulated board). */
  readonly timings?: BootTimings;
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
  /** Starts a powered-off machine again from the same disk; resolves when it answers commands. */
  powerOn(): Promise<void>;
  /** Hard reset (no shutdown); resolves when it answers commands again. */
  reboot(): Promise<void>;
  /**
   * Cuts the machine off the cluster (the harness keeps its own access) until
   * `heal`. Emulated boards and containers leave the private network whole;
   * a real board drops traffic from `peers` (the other nodes' addresses).
   */
  partition(peers?: string[]): Promise<void>;
  heal(): Promise<void>;
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
