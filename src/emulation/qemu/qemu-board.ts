import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { BootFailedError, EdgeproofError, PrerequisiteMissingError, WaitTimeoutError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { logger } from '../../core/log.js';
import { once } from '../../core/scope.js';
import { sleep } from '../../core/wait.js';
import { boardMemory, type Board } from '../boards.js';
import { SshConnection, execReconnecting, type SshKeyPair } from '../guest/ssh-connection.js';
import { readFileThroughShell, writeFileThroughShell, type ExecOptions, type ExecResult, type Machine, type MachineCapability } from '../machine.js';
import { ConsoleWatcher } from './console-watcher.js';
import { detectAccel, freePort } from './host-probe.js';
import type { PrivateNetwork, PrivateNetworkMember } from './private-network.js';
import { macFor, PRIVATE_NIC_ID, qemuArgs, type BootKit, type QemuLaunchSpec } from './qemu-args.js';
import { QmpClient } from './qmp-client.js';

const log = logger('qemu');

export const READY_MARKER = /edgeproof-init: EDGEPROOF-READY/;
const HALT_MARKER = /reboot: (System halted|Power down)/;
/**
 * What QEMU 7.2 prints when it cannot load a saved state (migration/savevm.c):
 * the state is at fault, not the moment, and it would fail the same way again.
 */
const STATE_REFUSED = /while loading VM state|error while loading state|This is a disk-only snapshot|Snapshot '[^']*' does not exist|does not have the requested snapshot|Machine type received is/;
/** Console lines after which the guest will never become ready: fail fast instead of waiting out the budget. */
const FATAL_MARKER = /edgeproof-initramfs: cannot mount|Kernel panic - not syncing|switch_root: can't execute|edgeproof-init: no interface with MAC \S+/;

export interface GuestImages {
  bootKit: BootKit;
  /** Cached base disk (qcow2); each machine boots a copy-on-write overlay of it. */
  baseDisk: string;
  /** SHA-256 of the kernel, initrd and base disk, from their artifacts' verified manifests: what a saved guest is keyed by. */
  sha256: { kernel: string; initrd: string; baseDisk: string };
  /** What the disk's variant asks of every boot (ep.init=/lib/systemd/systemd...); empty for the fast init. */
  kernelParams: string[];
}

/** QEMU refused to load a machine's saved state (`-loadvm`): proof that the snapshot can never be restored here. */
export class SavedStateRefusedError extends BootFailedError {
  constructor(
    machine: string,
    readonly tag: string,
    /** QEMU's own error lines. */
    readonly qemuSays: string,
    consoleTail: string,
    options: { hint?: string } = {},
  ) {
    super(machine, `could not load saved state "${tag}": QEMU says "${qemuSays}"`, consoleTail, options);
  }
}

/** The board's address on QEMU's user network (the harness reaches it through 127.0.0.1 forwards). */
const USER_NET_ADDRESS = '10.0.2.15';

/** Unstarted builder: `new QemuBoard(boards.rpi4).withName(...).withImages(...).start(ctx)`. */
export class QemuBoard {
  #name = '';
  #memory?: string;
  #cpus?: number;
  #images?: GuestImages;
  #key?: SshKeyPair;
  #guestPorts: number[] = [22];
  #bootBudgetMs = 30_000;
  #network?: { network: PrivateNetwork; index: number };
  #restore?: RestoreSpec;

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
  /** A second NIC on the cluster's private segment, as member `index` (its name must be this board's). */
  withPrivateNetwork(network: PrivateNetwork, index: number): this {
    this.#network = { network, index };
    return this;
  }
  /**
   * Starts from a saved state instead of booting: the disk `restore.disk`
   * writes, then QEMU with `-S -loadvm`, left paused (`resume()` runs it) so
   * that every machine of a cluster starts running at once. The guest-visible
   * settings (MAC, kernel command line, memory, CPUs) must be the saved ones;
   * the SSH key is the one the saved guest trusts.
   */
  withRestore(restore: RestoreSpec): this {
    this.#restore = restore;
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
    const member = await this.#privateMember();
    const machine = new QemuMachine(ctx, this.board, this.#name, this.#key, memoryMiB, member);
    ctx.scope.defer(`machine ${this.#name}`, () => machine.dispose());
    await machine.boot({
      accel,
      images: this.#images,
      guestPorts: this.#guestPorts,
      budgetMs: ctx.scaled(this.#bootBudgetMs),
      ...(this.#cpus ? { cpus: this.#cpus } : {}),
      ...(this.#restore ? { restore: this.#restore } : {}),
    });
    return machine;
  }

  async #privateMember(): Promise<PrivateMember | undefined> {
    if (!this.#network) return undefined;
    const { network, index } = this.#network;
    const member = await network.member(index);
    if (member.name !== this.#name) {
      throw new EdgeproofError('INTERNAL', `board ${this.#name} joins private network ${network.subnet} as member ${index}, which is named ${member.name}`);
    }
    return { ...member, hostsLines: network.hostsLines() };
  }
}

export type PrivateMember = PrivateNetworkMember & { hostsLines: string };

export interface BootTiming {
  cause: 'boot' | 'reboot' | 'power-on' | 'restore';
  initMs: number;
  sshMs: number;
}

interface BootOptions {
  accel: 'kvm' | 'tcg';
  images: GuestImages;
  guestPorts: number[];
  budgetMs: number;
  cpus?: number;
  restore?: RestoreSpec;
}

/** How a machine starts from a saved state (see QemuBoard.withRestore). */
export interface RestoreSpec {
  /** Writes the saved overlay (disk and RAM state) to `target`, e.g. a checksummed copy out of the snapshot cache. */
  disk(target: string): Promise<void>;
  tag: string;
  mac: string;
  kernelParams: string[];
}

/** What a restore must repeat: the guest-visible settings of this machine's first launch. */
export interface SavedSettings {
  disk: string;
  backingFile: string;
  mac: string;
  memoryMiB: number;
  cpus?: number;
  kernelParams: string[];
}

/** A running QEMU board: SSH for commands, QMP for power and faults, the console on disk. */
export class QemuMachine implements Machine {
  readonly backend = 'qemu';
  /** The private-network address when the board is on one, else its user-network address. */
  readonly address: string;
  readonly cgroupRoot = '';
  readonly arch;
  readonly capabilities: ReadonlySet<MachineCapability>;
  readonly consoleLogPath: string;
  readonly machineDir: string;
  /** Milliseconds from the first QEMU start to the guest's ready marker and to SSH answering; for a restore, to its state loaded (QMP answering). */
  readonly timings: { initMs?: number; sshMs?: number; loadvmMs?: number } = {};
  /** Every start of the guest (first boot, reboot, power-on), from QEMU start or reset to ready and to SSH. */
  readonly boots: BootTiming[] = [];
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
  /** The first launch: a power-on starts the same QEMU on the same overlay disk. */
  #spec?: QemuLaunchSpec;
  #saved?: SavedSettings;
  /** Launched from a snapshot and paused until resume(). */
  #restored = false;
  #bootBudgetMs = 0;
  #partitioned = false;
  #disposed = false;

  constructor(
    private readonly ctx: RunContext,
    readonly board: Board,
    readonly name: string,
    private key: SshKeyPair,
    readonly memoryMiB: number,
    private readonly member?: PrivateMember,
  ) {
    this.arch = board.arch;
    this.address = member?.address ?? USER_NET_ADDRESS;
    this.capabilities = new Set<MachineCapability>(['power-off', 'power-on', 'freeze', 'reboot', 'console', 'snapshot', ...(member ? (['partition'] as const) : [])]);
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
    this.#bootBudgetMs = options.budgetMs;
    const { restore } = options;
    const overlay = join(this.#diskDir, 'disk.qcow2');
    if (restore) await restore.disk(overlay);
    else await hostRun('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', options.images.baseDisk, overlay]);
    for (const guestPort of options.guestPorts) this.#ports.set(guestPort, await freePort());
    const mac = restore?.mac ?? macFor(`${this.ctx.runId}/${this.name}`);
    const kernelParams = restore?.kernelParams ?? firstBootKernelParams(this.name, this.key.publicKey, options.images.kernelParams, this.member);
    const spec: QemuLaunchSpec = {
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
      mac,
      ...(this.member ? { privateNic: this.member } : {}),
      kernelParams,
    };
    this.#spec = spec;
    this.#saved = { disk: overlay, backingFile: options.images.baseDisk, mac, memoryMiB: this.memoryMiB, ...(options.cpus ? { cpus: options.cpus } : {}), kernelParams };
    // -S: the state is loaded, then the machine waits for resume() (QMP cont), like its peers.
    const args = qemuArgs(restore ? { ...spec, extraArgs: ['-S', '-loadvm', restore.tag] } : spec);
    const started = await this.#launch(args).catch((error: unknown) => {
      throw (restore && this.#stateRefusal(restore.tag)) || error;
    });
    if (restore) {
      this.#restored = true;
      this.#launchedAt = started;
      // QMP answers once QEMU enters its main loop, after -loadvm has loaded the state.
      this.timings.loadvmMs = Date.now() - started;
      return;
    }
    await this.#waitReady('boot', started, options.budgetMs);
  }

  #launchedAt = 0;

  /** Guest-visible settings of this machine, for a snapshot's metadata. */
  get savedSettings(): SavedSettings {
    if (!this.#saved) throw new EdgeproofError('INTERNAL', `${this.name} was never started`);
    return this.#saved;
  }

  /**
   * Runs a machine launched from a snapshot (QMP cont) and waits for SSH with
   * the key the saved guest trusts. Its boot timing is "restore": from QEMU
   * start (state loading included) to SSH.
   */
  async resume(): Promise<void> {
    if (!this.#restored) throw new EdgeproofError('INTERNAL', `${this.name} was not launched from a snapshot`);
    await this.qmp('cont');
    await this.#connect(this.#bootBudgetMs);
    const sshMs = Date.now() - this.#launchedAt;
    this.boots.push({ cause: 'restore', initMs: 0, sshMs });
    Object.assign(this.timings, { sshMs });
  }

  /**
   * Saves the whole machine (RAM, devices, disk) as internal snapshot `tag`
   * of its overlay (HMP savevm: QEMU 7.2 has no synchronous QMP command for
   * it). The machine should be stopped (freeze) so peers are saved at one
   * instant; savevm leaves a stopped machine stopped.
   */
  async saveSnapshot(tag: string): Promise<void> {
    const output = (await this.#qmp!.humanMonitor(`savevm ${tag}`)).trim();
    // HMP answers success with nothing; an error is text ("Error: ...").
    if (output) throw new EdgeproofError('INTERNAL', `${this.name}: savevm ${tag} failed: ${output}`);
  }

  /**
   * Replaces the guest's authorized key with `next` and logs in with it; the
   * key the machine was started with no longer opens it. A restored guest
   * trusts the snapshot's key: this gives each run its own.
   */
  async rotateSshKey(next: SshKeyPair): Promise<void> {
    await this.writeFile('/root/.ssh/authorized_keys', `${next.publicKey.trim()}\n`, 0o600);
    await this.exec('sync');
    this.#dropSsh();
    this.key = next;
    await this.#connect(this.ctx.scaled(20_000));
  }

  /** Sets the guest's clock from the host's (a restored guest wakes at the time it was saved). Returns the correction in ms. */
  async setClockFromHost(): Promise<number> {
    const result = await this.exec(`old=$(date +%s%N); date -u -s @${(Date.now() / 1000).toFixed(3)} >/dev/null && echo $old`);
    return Date.now() - Math.round(Number(result.stdout.trim()) / 1e6);
  }

  /** Starts QEMU and connects QMP; returns when it was started. */
  async #launch(args: string[]): Promise<number> {
    const started = Date.now();
    this.#exit = undefined;
    const stderrFd = openSync(join(this.machineDir, 'qemu.log'), 'a');
    // setpriv --pdeathsig: QEMU dies with the harness even on SIGKILL; the reaper covers the rest.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', this.board.qemuBinary, ...args], {
      stdio: ['ignore', stderrFd, stderrFd],
    });
    closeSync(stderrFd);
    this.#process = child;
    child.once('exit', (code, signal) => {
      this.#exit = { code, signal };
      log('%s exited code=%s signal=%s', this.name, code, signal);
    });
    if (child.pid) this.ctx.session.track('processes', { pid: child.pid, marker: this.name });
    this.ctx.events.emit({ type: 'command', node: this.name, command: `${this.board.qemuBinary} ${args.join(' ')}`, exitCode: null, durationMs: 0 });
    const exited = () => (this.#exit ? `QEMU exited (code ${this.#exit.code})` : undefined);
    this.#qmp = await QmpClient.connect(join(this.#socketDir, 'qmp.sock'), 15_000, exited).catch((error: unknown) => {
      const qemuSays = this.#qemuErrors().slice(-3).join('; ');
      throw this.#bootError(`QEMU did not start: ${(error as Error).message}${qemuSays ? `; QEMU says "${qemuSays}"` : ''}`);
    });
    return started;
  }

  /** QEMU's error lines in its log (`qemu-system-aarch64: ...`), without the program name. */
  #qemuErrors(): string[] {
    const prefix = `${this.board.qemuBinary}: `;
    let text = '';
    try {
      text = readFileSync(join(this.machineDir, 'qemu.log'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => line.startsWith(prefix))
      .map((line) => line.slice(prefix.length).trim());
  }

  /** The refusal, when QEMU exited because it could not load saved state `tag`. */
  #stateRefusal(tag: string): SavedStateRefusedError | undefined {
    if (!this.#exit) return undefined;
    const lines = this.#qemuErrors();
    if (!lines.some((line) => STATE_REFUSED.test(line))) return undefined;
    return new SavedStateRefusedError(this.name, tag, lines.slice(0, 3).join('; '), this.#console.tail(), { hint: `see ${this.machineDir}/qemu.log` });
  }

  /** Waits for the ready marker printed after console offset `from` (this boot's), then for SSH. */
  async #waitReady(cause: BootTiming['cause'], started: number, budgetMs: number, from = 0): Promise<void> {
    const deadline = started + budgetMs;
    while (!this.#console.contains(READY_MARKER, from)) {
      this.ctx.signal.throwIfAborted();
      if (this.#exit) throw this.#bootError(`QEMU exited (code ${this.#exit.code}) before the guest was ready`);
      const fatal = FATAL_MARKER.exec(this.#console.text.slice(from))?.[0];
      if (fatal) throw this.#bootError(`failed to boot: console says "${fatal}"`);
      if (Date.now() > deadline) {
        throw new BootFailedError(this.name, `not ready after ${Math.round(budgetMs / 1000)}s; last console line: ${this.#console.lastLine() || '(empty console)'}`, this.#console.tail(), {
          cause: new WaitTimeoutError('guest ready marker', budgetMs, this.#console.lastLine()),
          hint: `the console log is kept at ${this.consoleLogPath}`,
        });
      }
      await sleep(200, this.ctx.signal);
    }
    const initMs = Date.now() - started;
    await this.#connect(Math.max(5_000, deadline - Date.now()));
    const boot = { cause, initMs, sshMs: Date.now() - started };
    this.boots.push(boot);
    if (cause === 'boot') Object.assign(this.timings, { initMs, sshMs: boot.sshMs });
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

  /**
   * Starts a powered-off board again: the same command line (same overlay
   * disk, host ports and private-network port), so the guest boots from what
   * it had written; resolves when SSH answers (the host key on disk is the
   * one first trusted). A partitioned board stays partitioned.
   */
  async powerOn(): Promise<void> {
    if (this.#disposed || !this.#spec) throw new EdgeproofError('INTERNAL', `${this.name}: cannot power on a board that was ${this.#disposed ? 'disposed' : 'never booted'}`);
    if (this.running) throw new EdgeproofError('INTERNAL', `${this.name}: cannot power on, it is running`);
    const from = this.#console.offset;
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'power-on' });
    // A cold boot of the disk: the guest's init installs the key of the kernel command line, so it must be the current one.
    const kernelParams = this.#spec.kernelParams.map((p) => (p.startsWith('ep.authkey=') ? `ep.authkey=${base64(this.key.publicKey)}` : p));
    const started = await this.#launch(qemuArgs({ ...this.#spec, kernelParams }));
    if (this.#partitioned) await this.qmp('set_link', { name: PRIVATE_NIC_ID, up: false });
    await this.#waitReady('power-on', started, this.#bootBudgetMs, from);
  }

  /** Hard reset (QMP system_reset, no shutdown); resolves when the guest is ready again and SSH answers. */
  async reboot(): Promise<void> {
    const from = this.#console.offset;
    this.#dropSsh();
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'reboot', detail: 'QMP system_reset' });
    const started = Date.now();
    await this.qmp('system_reset');
    // A reset keeps a frozen board paused: let it run, or it would never boot.
    if ((await this.status()) === 'paused') await this.qmp('cont');
    await this.#waitReady('reboot', started, this.#bootBudgetMs, from);
  }

  /** Takes the private NIC's link down (QMP set_link): frames are dropped both ways; SSH through the user NIC still works. */
  async partition(): Promise<void> {
    await this.#setPrivateLink(false);
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'partition', detail: `QMP set_link ${PRIVATE_NIC_ID} off` });
  }

  async heal(): Promise<void> {
    await this.#setPrivateLink(true);
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'heal', detail: `QMP set_link ${PRIVATE_NIC_ID} on` });
  }

  async #setPrivateLink(up: boolean): Promise<void> {
    if (!this.member) {
      throw new PrerequisiteMissingError(`a private network for QEMU board ${this.name}`, 'start the board with QemuBoard.withPrivateNetwork(...), as multi-node clusters do');
    }
    await this.qmp('set_link', { name: PRIVATE_NIC_ID, up });
    this.#partitioned = !up;
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

  #dropSsh(): void {
    this.#ssh?.close();
    this.#ssh = undefined;
  }

  async #kill(): Promise<void> {
    this.#dropSsh();
    const child = this.#process;
    if (!child) return;
    if (!this.#exit) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (this.#qmp && !this.#qmp.closed) await this.#qmp.execute('quit').catch(() => undefined);
      await Promise.race([exited, sleep(3_000)]);
      if (!this.#exit) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    this.#qmp?.close();
    if (child.pid) this.ctx.session.untrack('processes', (p) => p.pid === child.pid);
  }

  dispose = once(async () => {
    this.#disposed = true;
    await this.#kill();
    rmSync(this.#socketDir, { recursive: true, force: true });
    rmSync(this.#diskDir, { recursive: true, force: true });
    this.ctx.session.untrack('tempDirs', (d) => d === this.#socketDir || d === this.#diskDir);
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/**
 * The kernel parameters of a board's first launch: the image variant's own
 * (its init), then what edgeproof-init or the systemd first-boot unit reads:
 * name, the run's SSH key and the private network.
 */
export function firstBootKernelParams(name: string, publicKey: string, imageParams: readonly string[], member?: PrivateMember): string[] {
  return [...imageParams, `ep.hostname=${name}`, `ep.authkey=${base64(publicKey)}`, ...privateKernelParams(member)];
}

/** edgeproof-init configures the NIC with this MAC as the private one and adds the segment's names to /etc/hosts. */
function privateKernelParams(member: PrivateMember | undefined): string[] {
  if (!member) return [];
  return [`ep.ip1=${member.cidr}`, `ep.mac1=${member.mac}`, `ep.hosts=${base64(member.hostsLines)}`];
}
