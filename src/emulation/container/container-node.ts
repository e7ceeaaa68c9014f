import type Dockerode from 'dockerode';
import { GenericContainer, Wait, type StartedTestContainer, type WaitStrategy } from 'testcontainers';
import type { RunContext } from '../../core/context.js';
import { CommandFailedError, EdgeproofError, BootFailedError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { once } from '../../core/scope.js';
import { waitFor } from '../../core/wait.js';
import { hostArch, type Arch } from '../boards.js';
import { shellQuote, type ExecOptions, type ExecResult, type Machine, type MachineCapability } from '../machine.js';
import type { ContainerNetwork } from './container-network.js';
import { docker, SESSION_LABEL } from './docker-engine.js';
import { nodeHostSettings, type NodeHostSettings } from './node-privileges.js';
import { nodeInit } from './node-image.js';
import type { GuestVariant } from '../images/guest-images.js';

const log = logger('container');
const READY_LINE = 'edgeproof-init: EDGEPROOF-READY';

type NodeInitName = GuestVariant['init'];

/**
 * Unstarted builder for a node container, the way kind runs nodes:
 * `new ContainerNode(image).withName(...).withNetwork(net, 0).start(ctx)`.
 */
export class ContainerNode {
  #name = '';
  #network?: { net: ContainerNetwork; index: number };
  #bootBudgetMs = 30_000;
  #init: NodeInitName = 'edgeproof-init';

  constructor(readonly image: string) {}

  /** The image's init (its guest variant's): a systemd node gets /run/lock and a clean shutdown on dispose. */
  withInit(init: NodeInitName): this {
    this.#init = init;
    return this;
  }
  withName(name: string): this {
    this.#name = name;
    return this;
  }
  withNetwork(net: ContainerNetwork, index: number): this {
    this.#network = { net, index };
    return this;
  }
  withBootBudget(ms: number): this {
    this.#bootBudgetMs = ms;
    return this;
  }

  async start(ctx: RunContext): Promise<ContainerMachine> {
    if (!this.#name || !this.#network) throw new EdgeproofError('INTERNAL', 'ContainerNode needs a name and a network');
    const { net, index } = this.#network;
    const address = net.address(index);
    // Recorded before it exists: a run killed while the node boots leaves it to the sweep, which also finds it by its label.
    ctx.session.track('containers', this.#name);
    const container = await nodeContainer(this.image, this.#name, this.#init, ctx)
      .withNetworkMode(net.name)
      .withWaitStrategy(new ReadyLineWithLogs())
      .withStartupTimeout(ctx.scaled(this.#bootBudgetMs))
      .start()
      .catch((error: unknown) => {
        throw new BootFailedError(this.#name, `did not start as a node container: ${(error as Error).message}`, '', { cause: error });
      });
    const machine = new ContainerMachine(ctx, this.#name, container, net, address, this.#init);
    try {
      ctx.scope.defer(`container ${this.#name}`, () => machine.dispose());
    } catch (error) {
      await machine.dispose(); // the run is already tearing down
      throw error;
    }
    await machine.assignAddress();
    return machine;
  }
}

/**
 * Waits for the init's ready line; when it never comes, the error carries the
 * container's last output and exit code (testcontainers removes a container
 * that failed to start, so this is the only chance to read them).
 */
class ReadyLineWithLogs implements WaitStrategy {
  readonly #inner = Wait.forLogMessage(READY_LINE);

  async waitUntilReady(...args: Parameters<WaitStrategy['waitUntilReady']>): Promise<void> {
    try {
      await this.#inner.waitUntilReady(...args);
    } catch (error) {
      const container = args[0];
      const logs = await container.logs({ stdout: true, stderr: true, tail: 30 }).then((raw) => demuxDockerLog(raw as unknown as Buffer)).catch(() => '(logs unavailable)');
      const state = await container.inspect().then((i) => `exit code ${i.State.ExitCode}${i.State.Error ? `, ${i.State.Error}` : ''}`).catch(() => 'state unknown');
      throw new EdgeproofError('BOOT_FAILED', `${(error as Error).message} (${state}); last output:\n${logs}`, { cause: error });
    }
  }
  withStartupTimeout(ms: number): this {
    this.#inner.withStartupTimeout(ms);
    return this;
  }
  isStartupTimeoutSet(): boolean {
    return this.#inner.isStartupTimeoutSet();
  }
  getStartupTimeout(): number {
    return this.#inner.getStartupTimeout();
  }
}

/** A non-TTY container's log is frames of [stream, 0, 0, 0, size (u32 BE)] + payload; keeps the payloads. */
export function demuxDockerLog(raw: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A node container as node-privileges.ts grants it: its own cgroup namespace, a listed set of capabilities, no host path. */
function nodeContainer(image: string, name: string, init: NodeInitName, ctx: RunContext): GenericContainer {
  const settings = nodeHostSettings(init);
  return new NodeContainer(image, settings, nodeInit(init).stopSignal)
    .withName(name)
    .withHostname(name)
    .withLabels({ [SESSION_LABEL]: ctx.runId })
    .withEnvironment({ container: 'docker' })
    .withSecurityOpt(...settings.securityOpt)
    .withTmpFs(settings.tmpfs)
    .withDroppedCapabilities(...settings.capDrop)
    .withAddedCapabilities(...settings.capAdd);
}

/** GenericContainer with the settings its builder does not offer: a cgroup namespace, anonymous volumes, the init's stop signal. */
class NodeContainer extends GenericContainer {
  constructor(image: string, settings: NodeHostSettings, stopSignal: string) {
    super(image);
    Object.assign(this.hostConfig, { CgroupnsMode: settings.cgroupnsMode });
    this.createOpts.StopSignal = stopSignal;
    this.createOpts.Volumes = Object.fromEntries(settings.volumes.map((path) => [path, {}]));
  }
}

/** A started node container: docker exec for commands; kill, start, pause and network disconnect for faults. */
export class ContainerMachine implements Machine {
  readonly backend = 'container';
  readonly arch: Arch = hostArch();
  readonly capabilities: ReadonlySet<MachineCapability> = new Set<MachineCapability>(['power-off', 'power-on', 'freeze', 'partition', 'reboot']);
  /** The container has its own cgroup namespace: the whole (namespaced) hierarchy is the node's, as in a VM. */
  readonly cgroupRoot = '';
  readonly #docker: Promise<Dockerode.Container>;
  #inputCounter = 0;

  constructor(
    private readonly ctx: RunContext,
    readonly name: string,
    private readonly container: StartedTestContainer,
    private readonly network: ContainerNetwork,
    readonly address: string,
    readonly init: NodeInitName = 'edgeproof-init',
  ) {
    this.#docker = docker().then((engine) => engine.getContainer(container.getId()));
  }

  hostEndpoint(guestPort: number): { host: string; port: number } {
    return { host: this.address, port: guestPort };
  }

  /** Docker gives the address at start only when the network is known; pin it so stop/start keeps it. */
  async assignAddress(): Promise<void> {
    const engine = await docker();
    const net = engine.getNetwork(this.network.id);
    await net.disconnect({ Container: this.container.getId(), Force: true });
    await net.connect({ Container: this.container.getId(), EndpointConfig: { IPAMConfig: { IPv4Address: this.address } } });
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    let script = command;
    if (options.input !== undefined) {
      // Not under /run or /tmp: Docker's archive API writes beneath tmpfs mounts, where the command would not see it.
      const file = `/var/tmp/edgeproof-input-${process.pid}-${this.#inputCounter++}`;
      await this.container.copyContentToContainer([{ content: options.input, target: file, mode: 0o600 }]);
      script = `{ ${command}\n} < ${file}; status=$?; rm -f ${file}; exit $status`;
    }
    const timeoutS = options.timeoutMs ? Math.ceil(options.timeoutMs / 1000) : undefined;
    const argv = timeoutS ? ['timeout', '-s', 'KILL', String(timeoutS), 'sh', '-c', script] : ['sh', '-c', script];
    const run = this.container.exec(argv);
    const result = await (options.signal ? raceAbort(run, options.signal) : run);
    const timedOut = timeoutS !== undefined && result.exitCode === 137;
    const outcome: ExecResult = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode, durationMs: Date.now() - started };
    if ((options.check ?? true) && result.exitCode !== 0) {
      throw new CommandFailedError({ command, where: this.name, exitCode: result.exitCode, timedOut, durationMs: outcome.durationMs, stdout: result.stdout, stderr: result.stderr });
    }
    return outcome;
  }

  async writeFile(guestPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const dir = guestPath.slice(0, guestPath.lastIndexOf('/')) || '/';
    await this.exec(`mkdir -p ${shellQuote(dir)} && cat > ${shellQuote(guestPath)} && chmod ${mode.toString(8)} ${shellQuote(guestPath)}`, { input: content });
  }

  async readFile(guestPath: string): Promise<Buffer> {
    const result = await this.exec(`base64 < ${shellQuote(guestPath)}`);
    return Buffer.from(result.stdout, 'base64');
  }

  async freeze(): Promise<void> {
    await (await this.#docker).pause();
    this.#fault('freeze');
  }

  async thaw(): Promise<void> {
    await (await this.#docker).unpause();
    this.#fault('thaw');
  }

  /** SIGKILL to the whole container: every process dies at once, the filesystem and volume stay. */
  async powerOff(): Promise<void> {
    this.#fault('power-off');
    const container = await this.#docker;
    const state = await container.inspect();
    if (state.State.Paused) await container.unpause();
    if (state.State.Running) await container.kill({ signal: 'SIGKILL' });
    await container.wait({ condition: 'not-running' }).catch(() => undefined);
  }

  async powerOn(): Promise<void> {
    this.#fault('power-on');
    const since = Math.floor(Date.now() / 1000) - 1;
    await (await this.#docker).start();
    await this.#waitReady(since);
  }

  async reboot(): Promise<void> {
    this.#fault('reboot');
    const since = Math.floor(Date.now() / 1000) - 1;
    await (await this.#docker).restart({ t: 0 });
    await this.#waitReady(since);
  }

  async partition(): Promise<void> {
    const engine = await docker();
    await engine.getNetwork(this.network.id).disconnect({ Container: this.container.getId(), Force: true });
    this.#fault('partition');
  }

  async heal(): Promise<void> {
    const engine = await docker();
    await engine.getNetwork(this.network.id).connect({ Container: this.container.getId(), EndpointConfig: { IPAMConfig: { IPv4Address: this.address } } });
    this.#fault('heal');
  }

  #fault(fault: string): void {
    this.ctx.events.emit({ type: 'fault', node: this.name, fault });
  }

  /** The init's ready line in the logs written since `since` (seconds): the container ran its autostart. */
  async #waitReady(since: number): Promise<void> {
    const container = await this.#docker;
    await waitFor(
      async () => {
        const logs = (await container.logs({ stdout: true, stderr: true, since, follow: false })).toString('utf8');
        return logs.includes(READY_LINE) ? { done: true, value: undefined } : { done: false, observed: logs.trim().split('\n').at(-1) ?? 'no output yet' };
      },
      { what: `container ${this.name} ready`, budgetMs: this.ctx.scaled(30_000), pollMs: 250, where: this.name, signal: this.ctx.signal },
    );
  }

  dispose = once(async () => {
    // A container that could not be removed stays in the record for the sweep.
    const removed = await this.container.stop({ timeout: stopTimeoutS(this.init), remove: true, removeVolumes: true }).then(
      () => true,
      (error: Error & { statusCode?: number }) => {
        log('%s: stop: %s', this.name, error.message);
        return error.statusCode === 404;
      },
    );
    if (removed) this.ctx.session.untrack('containers', (name) => name === this.name);
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/**
 * Seconds `docker stop` waits after the stop signal before SIGKILL: systemd
 * gets time to stop its units (SIGRTMIN+3); the fast init has nothing to
 * shut down cleanly.
 */
export function stopTimeoutS(init: NodeInitName): number {
  return init === 'systemd' ? 10 : 0;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
