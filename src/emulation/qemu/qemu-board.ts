import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { BootFailedError, EdgeproofError, WaitTimeoutError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { logger } from '../../core/log.js';
import { once } from '../../core/scope.js';
import { sleep } from '../../core/wait.js';
import { boardMemory, type Board } from '../boards.js';
import { SshConnection, execReconnecting, type SshKeyPair } from '../guest/ssh-connection.js';
import { readFileThroughShell, writeFileThroughShell, type ExecOptions, type ExecResult, type Machine, type MachineCapability } from '../machine.js';
import { ConsoleWatcher } from './console-watcher.js';
import { detectAccel, freePort } from './host-probe.js';
import { macFor, qemuArgs, type BootKit } from './qemu-args.js';
import { QmpClient } from './qmp-client.js';

const log = logger('qemu');

export const READY_MARKER = /edgeproof-init: EDGEPROOF-READY/;
const HALT_MARKER = /reboot: (System halted|Power down)/;
/** Console lines after which the guest will never become ready: fail fast instead of waiting out the budget. */
const FATAL_MARKER = /edgeproof-initramfs: cannot mount|Kernel panic - not syncing|switch_root: can't execute/;

export interface GuestImages {
  bootKit: BootKit;
  /** Cached base disk (qcow2); each machine boots a copy-on-write overlay of it. */
  baseDisk: string;
}

/** Unstarted builder: `new QemuBoard(boards.rpi4).withName(...).withImages(...).start(ctx)`. */
export class QemuBoard {
  #name = '';
  #memory?: string;
  #cpus?: number;
  #images?: GuestImages;
  #key?: SshKeyPair;
  #guestPorts: number[] = [22];
  #bootBudgetMs = 30_000;

  constructor(readonly board: Board) {}

  withName(name: string): this {
    this.#name = name;
    return this;
  }
  withMemory(size: string | undefined): this {
    this.#memory = size;
    return this;
  }
  withCpus(cpus: number | undefined): this {
    this.#cpus = cpus;
    return this;
  }
  withImages(images: GuestImages): this {
    this.#images = images;
    return this;
  }
  withSshKey(key: SshKeyPair): this {
    this.#key = key;
    return this;
  }
  /** Guest TCP ports to forward to 127.0.0.1 (22 always). */
  withForwardedPorts(...ports: number[]): this {
    this.#guestPorts = [...new Set([22, ...ports])];
    return this;
  }
  /** Base budget for boot to SSH, before the run's timeout scale. */
  withBootBudget(ms: number): this {
    this.#bootBudgetMs = ms;
    return this;
  }

  async start(ctx: RunContext): Promise<QemuMachine> {
    if (!this.#images || !this.#key || !this.#name) throw new EdgeproofError('INTERNAL', 'QemuBoard needs a name, images and an SSH key');
    const memoryMiB = boardMemory(this.board, this.#memory);
    const { accel } = await detectAccel(this.board);
    const machine = new QemuMachine(ctx, this.board, this.#name, this.#key, memoryMiB);
    ctx.scope.defer(`machine ${this.#name}`, () => machine.dispose());
    await machine.boot({
      accel,
      images: this.#images,
      guestPorts: this.#guestPorts,
      budgetMs: ctx.scaled(this.#bootBudgetMs),
      ...(this.#cpus ? { cpus: this.#cpus } : {}),
    });
    return machine;
  }
}

interface BootOptions {
  accel: 'kvm' | 'tcg';
  images: GuestImages;
  guestPorts: number[];
  budgetMs: number;
  cpus?: number;
}

/** A running QEMU board: SSH for commands, QMP for power and faults, the console on disk. */
export class QemuMachine implements Machine {
  readonly address = '10.0.2.15';
  readonly arch;
  readonly capabilities: ReadonlySet<MachineCapability>;
  readonly consoleLogPath: string;
  readonly machineDir: string;
  /** Seconds from QEMU start to the guest's ready marker and to SSH answering. */
  readonly timings: { initMs?: number; sshMs?: number } = {};
  accel: 'kvm' | 'tcg' = 'tcg';
  #console: ConsoleWatcher;
  #socketDir: string;
  #diskDir: string;
  #process?: ChildProcess;
  #exit?: { code: number | null; signal: NodeJS.Signals | null };
  #qmp?: QmpClient;
  #ssh?: SshConnection;
  #hostKey?: string;
  #ports = new Map<number, number>();

  constructor(
    private readonly ctx: RunContext,
    readonly board: Board,
    readonly name: string,
    private readonly key: SshKeyPair,
    readonly memoryMiB: number,
  ) {
    this.arch = board.arch;
    this.capabilities = new Set<MachineCapability>(['power-off', 'freeze', 'reboot', 'console', 'snapshot']);
    this.machineDir = join(ctx.runDir, 'machines', name);
    mkdirSync(this.machineDir, { recursive: true });
    this.consoleLogPath = join(this.machineDir, 'console.log');
    this.#console = new ConsoleWatcher(this.consoleLogPath);
    // Unix socket paths are limited to 108 bytes: keep them short, outside the run dir.
    this.#socketDir = mkdtempSync(join(tmpdir(), `ep-${name.slice(0, 40)}-`));
    this.#diskDir = join(ctx.tempDir, name);
    mkdirSync(this.#diskDir, { recursive: true });
    ctx.session.track('tempDirs', this.#socketDir);
    ctx.session.track('tempDirs', this.#diskDir);
  }

  get console(): ConsoleWatcher {
    return this.#console;
  }

  get running(): boolean {
    return this.#process !== undefined && this.#exit === undefined;
  }

  hostEndpoint(guestPort: number): { host: string; port: number } {
    const port = this.#ports.get(guestPort);
    if (!port) throw new EdgeproofError('INTERNAL', `guest port ${guestPort} of ${this.name} is not forwarded`);
    return { host: '127.0.0.1', port };
  }

  async boot(options: BootOptions): Promise<void> {
    this.accel = options.accel;
    const overlay = join(this.#diskDir, 'disk.qcow2');
    await hostRun('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', options.images.baseDisk, overlay]);
    for (const guestPort of options.guestPorts) this.#ports.set(guestPort, await freePort());
    const args = qemuArgs({
      board: this.board,
      name: this.name,
      memoryMiB: this.memoryMiB,
      ...(options.cpus ? { cpus: options.cpus } : {}),
      accel: options.accel,
      bootKit: options.images.bootKit,
      disk: overlay,
      consoleLog: this.consoleLogPath,
      qmpSocket: join(this.#socketDir, 'qmp.sock'),
      pidFile: join(this.#socketDir, 'qemu.pid'),
      forwards: [...this.#ports].map(([guestPort, hostPort]) => ({ guestPort, hostPort })),
      mac: macFor(`${this.ctx.runId}/${this.name}`),
      kernelParams: [`ep.hostname=${this.name}`, `ep.authkey=${Buffer.from(this.key.publicKey).toString('base64')}`],
    });
    await this.#launch(args);
    await this.#waitReady(options.budgetMs);
  }

  async #launch(args: string[]): Promise<void> {
    const started = Date.now();
    const stderrFd = openSync(join(this.machineDir, 'qemu.log'), 'a');
    // setpriv --pdeathsig: QEMU dies with the harness even on SIGKILL; the reaper covers the rest.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', this.board.qemuBinary, ...args], {
      stdio: ['ignore', stderrFd, stderrFd],
    });
    closeSync(stderrFd);
    this.#process = child;
    this.#launchedAt = started;
    child.once('exit', (code, signal) => {
      this.#exit = { code, signal };
      log('%s exited code=%s signal=%s', this.name, code, signal);
    });
    if (child.pid) this.ctx.session.track('processes', { pid: child.pid, marker: this.name });
    this.ctx.events.emit({ type: 'command', node: this.name, command: `${this.board.qemuBinary} ${args.join(' ')}`, exitCode: null, durationMs: 0 });
    this.#qmp = await QmpClient.connect(join(this.#socketDir, 'qmp.sock'), 15_000).catch((error: unknown) => {
      throw this.#bootError(`QEMU did not start: ${(error as Error).message}`);
    });
  }

  #launchedAt = 0;

  async #waitReady(budgetMs: number): Promise<void> {
    const deadline = this.#launchedAt + budgetMs;
    while (!this.#console.contains(READY_MARKER)) {
      this.ctx.signal.throwIfAborted();
      if (this.#exit) throw this.#bootError(`QEMU exited (code ${this.#exit.code}) before the guest was ready`);
      const fatal = FATAL_MARKER.exec(this.#console.text)?.[0];
      if (fatal) throw this.#bootError(`failed to boot: console says "${fatal}"`);
      if (Date.now() > deadline) {
        throw new BootFailedError(this.name, `not ready after ${Math.round(budgetMs / 1000)}s; last console line: ${this.#console.lastLine() || '(empty console)'}`, this.#console.tail(), {
          cause: new WaitTimeoutError('guest ready marker', budgetMs, this.#console.lastLine()),
          hint: `the console log is kept at ${this.consoleLogPath}`,
        });
      }
      await sleep(200, this.ctx.signal);
    }
    this.timings.initMs = Date.now() - this.#launchedAt;
    await this.#connect(Math.max(5_000, deadline - Date.now()));
    this.timings.sshMs = Date.now() - this.#launchedAt;
  }

  async #connect(budgetMs: number): Promise<SshConnection> {
    const ssh = await SshConnection.waitFor(
      {
        host: '127.0.0.1',
        port: this.hostEndpoint(22).port,
        username: 'root',
        privateKey: this.key.privateKey,
        where: this.name,
        ...(this.#hostKey ? { hostKeySha256: this.#hostKey } : {}),
      },
      budgetMs,
      this.ctx.signal,
      () => (this.#exit ? `QEMU exited (code ${this.#exit.code})` : undefined),
    );
    this.#hostKey ??= ssh.hostKeySha256;
    this.#ssh = ssh;
    return ssh;
  }

  #bootError(message: string): BootFailedError {
    return new BootFailedError(this.name, message, this.#console.tail(), { hint: `see ${this.machineDir}/qemu.log and console.log` });
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const connect = () => this.#connect(this.ctx.scaled(20_000));
    return execReconnecting(async () => this.#ssh ?? connect(), connect, command, options);
  }

  async writeFile(guestPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    await writeFileThroughShell((command, options) => this.exec(command, options), guestPath, content, mode);
  }

  async readFile(guestPath: string): Promise<Buffer> {
    return readFileThroughShell((command, options) => this.exec(command, options), guestPath);
  }

  async qmp<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (!this.#qmp || this.#qmp.closed) throw new EdgeproofError('INTERNAL', `${this.name}: QEMU is not running`);
    return this.#qmp.execute<T>(command, args);
  }

  async status(): Promise<string> {
    const status = await this.qmp<{ status: string }>('query-status');
    return status.status;
  }

  async freeze(): Promise<void> {
    await this.qmp('stop');
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'freeze' });
  }

  async thaw(): Promise<void> {
    await this.qmp('cont');
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'thaw' });
  }

  /** Pulls the power: QEMU is killed, the overlay disk stays for a later power-on. */
  async powerOff(): Promise<void> {
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'power-off' });
    await this.#kill();
  }

  /** Guest-initiated halt; boards without PSCI power-off halt, so the console is watched and QEMU ended. */
  async shutdown(budgetMs = this.ctx.scaled(30_000)): Promise<void> {
    const from = this.#console.offset;
    await this.exec('sync; (sleep 0.5; echo o > /proc/sysrq-trigger) >/dev/null 2>&1 &', { check: false }).catch(() => undefined);
    const deadline = Date.now() + budgetMs;
    while (!this.#exit && Date.now() < deadline) {
      if (this.#console.contains(HALT_MARKER, from)) break;
      await sleep(200);
    }
    await this.#kill();
  }

  async #kill(): Promise<void> {
    this.#ssh?.close();
    this.#ssh = undefined;
    const child = this.#process;
    if (!child || this.#exit) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (this.#qmp && !this.#qmp.closed) await this.#qmp.execute('quit').catch(() => undefined);
    await Promise.race([exited, sleep(3_000)]);
    if (!this.#exit) {
      child.kill('SIGKILL');
      await exited;
    }
    this.#qmp?.close();
    if (child.pid) this.ctx.session.untrack('processes', (p) => p.pid === child.pid);
  }

  dispose = once(async () => {
    await this.#kill();
    rmSync(this.#socketDir, { recursive: true, force: true });
    rmSync(this.#diskDir, { recursive: true, force: true });
    this.ctx.session.untrack('tempDirs', (d) => d === this.#socketDir || d === this.#diskDir);
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
