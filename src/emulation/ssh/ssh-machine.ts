/**
 * The ssh backend: real boards or VMs a team owns, driven only over SSH.
 * Faults on real hardware: reboot over SSH, partition with the host's own
 * firewall (rules tagged with the run, always removed at dispose), power-off
 * only through a command the user gives (a PDU), else not applicable.
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import type { RunContext } from '../../core/context.js';
import { CommandFailedError, EdgeproofError, PrerequisiteMissingError, UsageError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { logger } from '../../core/log.js';
import { redactWordsOf, registerSecret } from '../../core/redact.js';
import { once } from '../../core/scope.js';
import { sleep } from '../../core/wait.js';
import { HostKeyRefusedError, SshConnection, execReconnecting, type PresentedHostKey, type SshTarget, type TrustedHostKey } from '../guest/ssh-connection.js';
import { readFileThroughShell, shellQuote, writeFileThroughShell, type ExecOptions, type ExecResult, type Machine, type MachineCapability } from '../machine.js';
import { detectFirewallCommand, firewallTag, healCommand, listTaggedCommand, partitionCommand, type FirewallTool } from './firewall.js';
import { assertHostFit, hostFactsCommand, parseHostFacts, type HostFacts, type HostRequirements } from './host-checks.js';
import { configuredCommands, readPrivateKey, type HostEntry } from './hosts-file.js';
import { defaultKnownHostsFiles, readKnownHostKeys, type KnownHostKeys } from './known-hosts.js';

const log = logger('ssh-backend');

export interface SshConnectOptions {
  /** One attempt within this budget: a real host is up or it is not. */
  budgetMs?: number;
  /** Where a host's key is looked up when the hosts file pins none (default: ssh's own files). */
  knownHostsFiles?: readonly string[];
}

/** Where a host's accepted keys come from: its pin, or known_hosts files (possibly listing none). */
type HostTrust = { pinned: string; source: string } | { knownHosts: KnownHostKeys; files: readonly string[] };

export class SshMachine implements Machine {
  readonly backend = 'ssh';
  readonly cgroupRoot = '';
  readonly name: string;
  readonly arch: 'arm64' | 'amd64';
  readonly capabilities: ReadonlySet<MachineCapability>;
  #address = '';
  #endpointHost: string;
  #ssh?: SshConnection;
  #hostKey?: string;
  readonly #trust: HostTrust;
  #facts?: HostFacts;
  #firewall?: FirewallTool;
  #partitioned = false;

  private constructor(
    private readonly ctx: RunContext,
    readonly host: HostEntry,
    private readonly key: string,
    endpointHost: string,
    trust: HostTrust,
  ) {
    this.name = host.name;
    this.arch = host.arch;
    this.#endpointHost = endpointHost;
    this.#trust = trust;
    this.capabilities = new Set<MachineCapability>(['reboot', 'partition', ...(host.powerOff ? (['power-off'] as const) : []), ...(host.powerOn ? (['power-on'] as const) : [])]);
  }

  /**
   * Connects, once the host has proved it holds the key the hosts file pins
   * or known_hosts lists (before that, nothing is sent to it: no command, no
   * key, no token), and reads the host's facts.
   */
  static async connect(ctx: RunContext, host: HostEntry, options: SshConnectOptions = {}): Promise<SshMachine> {
    const key = readPrivateKey(host);
    configuredCommands(host).forEach(registerSecret);
    const endpointHost = await resolveEndpoint(host);
    const machine = new SshMachine(ctx, host, key, endpointHost, hostTrust(host, endpointHost, options.knownHostsFiles ?? defaultKnownHostsFiles()));
    ctx.scope.defer(`ssh host ${host.name}`, () => machine.dispose());
    await machine.#open(options.budgetMs ?? ctx.scaled(15_000));
    machine.#facts = await machine.probeFacts([]);
    machine.#address = chooseNodeAddress(host, machine.#facts, endpointHost);
    return machine;
  }

  /** The address Kubernetes and the other nodes use: from the hosts file, else the source of the host's default route. */
  get address(): string {
    return this.#address;
  }

  get target(): string {
    return `${this.host.user}@${this.host.address}:${this.host.port}`;
  }

  hostEndpoint(port: number): { host: string; port: number } {
    return { host: this.#endpointHost, port: this.host.ports[port] ?? port };
  }

  /** Every connection, first and later ones, must meet the trusted key; after the first, the very key it presented. */
  #target(): SshTarget {
    return {
      host: this.host.address,
      port: this.host.port,
      username: this.host.user,
      privateKey: this.key,
      where: this.name,
      trustedHostKeys: this.#hostKey ? [{ sha256: this.#hostKey }] : trustedKeys(this.#trust),
    };
  }

  async #open(budgetMs: number): Promise<SshConnection> {
    try {
      this.#ssh = await SshConnection.open(this.#target(), budgetMs);
    } catch (error) {
      throw this.#connectError(error);
    }
    this.#hostKey ??= this.#ssh.hostKeySha256;
    return this.#ssh;
  }

  /** SSH failures as what to do about them, naming the host. */
  #connectError(error: unknown): EdgeproofError {
    if (error instanceof HostKeyRefusedError) return this.#untrustedHostKey(error.presented);
    const message = error instanceof Error ? error.message : String(error);
    const level = (error as { level?: string }).level;
    if (level === 'client-authentication' || /authentication methods failed/i.test(message)) {
      return new UsageError(
        `SSH host "${this.name}" (${this.target}) refused the key ${this.host.keyPath}`,
        `authorize it on ${this.name}: ssh-copy-id -i ${this.host.keyPath}.pub -p ${this.host.port} ${this.host.user}@${this.host.address} (or fix user:/key: at ${this.host.source})`,
      );
    }
    return new PrerequisiteMissingError(`SSH access to host "${this.name}" (${this.target}): ${message}`, `check that ${this.host.address} is up and sshd listens on port ${this.host.port} (${this.host.source})`, { cause: error });
  }

  /** A host key that is not the trusted one: say which key came, what was expected, and how to pin it after checking it on the host. */
  #untrustedHostKey(presented: PresentedHostKey): UsageError {
    const seen = `${presented.type} key SHA256:${presented.sha256}`;
    const check = `read the key on ${this.name} itself (ssh-keygen -lf ${hostKeyFile(presented.type)})`;
    const pin = `write \`hostKey: SHA256:${presented.sha256}\` for ${this.name} at ${this.host.source}`;
    const trust = this.#trust;
    if (this.#hostKey) {
      return new UsageError(`SSH host "${this.name}" (${this.target}) presented the ${seen}, not the key it presented earlier in this run (SHA256:${this.#hostKey})`, `another machine may answer at ${this.host.address}; ${check}`);
    }
    if ('pinned' in trust) {
      return new UsageError(`SSH host "${this.name}" (${this.target}) presented the ${seen}, but ${trust.source} pins SHA256:${trust.pinned}`, `if ${this.name} was reinstalled, ${check} and, if it matches, ${pin}; otherwise another machine answers at ${this.host.address}: nothing was sent to it`);
    }
    const revoked = trust.knownHosts.revoked.find((key) => key.sha256 === presented.sha256);
    if (revoked) {
      return new UsageError(`SSH host "${this.name}" (${this.target}) presented the ${seen}, which ${revoked.source} marks @revoked`, `give ${this.name} a new host key, then ${check} and ${pin}`);
    }
    if (trust.knownHosts.trusted.length) {
      const listed = trust.knownHosts.trusted.map((key) => `${key.type} SHA256:${key.sha256} (${key.source})`).join(', ');
      return new UsageError(`SSH host "${this.name}" (${this.target}) presented the ${seen}, but known_hosts lists ${listed}`, `if ${this.name} was reinstalled, ${check}; if it matches, remove the old entry (ssh-keygen -R ${this.host.address}) and ${pin}; otherwise another machine answers at ${this.host.address}: nothing was sent to it`);
    }
    return new UsageError(
      `SSH host "${this.name}" (${this.target}) is not known: its ${seen} is neither pinned at ${this.host.source} nor listed in ${trust.files.join(', ')}`,
      `edgeproof sends keys and tokens only to a host it can verify: ${check}, and if it is SHA256:${presented.sha256}, ${pin} (or accept it into ~/.ssh/known_hosts with ssh -p ${this.host.port} ${this.host.user}@${this.host.address})`,
    );
  }

  /** Runs the prerequisite probe (no root needed) and returns what the host offers. */
  async probeFacts(commands: string[]): Promise<HostFacts> {
    const result = await this.#raw(hostFactsCommand(commands), { check: false, timeoutMs: this.ctx.scaled(20_000) });
    return parseHostFacts(result.stdout);
  }

  /** Wrong arch: UsageError; missing memory, cgroups, systemd, snapd or commands: PrerequisiteMissingError with the fixes. */
  async checkPrerequisites(requirements: HostRequirements): Promise<HostFacts> {
    const facts = await this.probeFacts(requirements.commands.map((c) => c.name));
    this.#facts = facts;
    assertHostFit({ name: this.name, target: this.target, source: this.host.source, arch: this.host.arch }, facts, requirements);
    return facts;
  }

  /** Commands run as root: directly for root, through passwordless sudo otherwise. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const asRoot = this.host.user === 'root' ? command : `sudo -n sh -c ${shellQuote(command)}`;
    return this.#raw(asRoot, options);
  }

  #raw(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const open = () => this.#open(this.ctx.scaled(15_000));
    return execReconnecting(async () => this.#ssh ?? open(), open, command, options);
  }

  writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    return writeFileThroughShell((command, options) => this.exec(command, options), path, content, mode);
  }

  readFile(path: string): Promise<Buffer> {
    return readFileThroughShell((command, options) => this.exec(command, options), path);
  }

  async freeze(): Promise<void> {
    throw new PrerequisiteMissingError(`freezing host "${this.name}"`, 'real hardware cannot be paused: freeze checks need the qemu backend');
  }

  async thaw(): Promise<void> {
    throw new PrerequisiteMissingError(`thawing host "${this.name}"`, 'real hardware cannot be paused: freeze checks need the qemu backend');
  }

  /** The user's power-off command (a PDU outlet), run on the harness host. */
  async powerOff(): Promise<void> {
    if (!this.host.powerOff) {
      throw new PrerequisiteMissingError(`a power-off command for host "${this.name}"`, `add powerOff: (e.g. your PDU's CLI) to ${this.host.source}`);
    }
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'power-off', detail: 'user command' });
    this.#disconnect();
    await this.#userCommand('powerOff', this.host.powerOff);
  }

  /** The user's power-on command, then waits for SSH. */
  async powerOn(budgetMs = this.ctx.scaled(300_000)): Promise<void> {
    if (!this.host.powerOn) throw new PrerequisiteMissingError(`a power-on command for host "${this.name}"`, `add powerOn: to ${this.host.source}`);
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'power-on', detail: 'user command' });
    await this.#userCommand('powerOn', this.host.powerOn);
    await this.#waitForSsh(budgetMs);
  }

  /** Runs a command of the hosts file; logs and errors name it by its field, and its output loses the command's words. */
  async #userCommand(field: 'powerOff' | 'powerOn', command: string): Promise<void> {
    try {
      await hostRun('sh', ['-c', command], {
        display: `the ${field} command of host "${this.name}" (${this.host.source})`,
        env: { ...process.env, EDGEPROOF_HOST: this.name, EDGEPROOF_ADDRESS: this.host.address },
        timeoutMs: this.ctx.scaled(60_000),
        signal: this.ctx.signal,
      });
    } catch (error) {
      if (!(error instanceof CommandFailedError)) throw error;
      const { stdout, stderr } = error.outcome;
      throw new CommandFailedError({ ...error.outcome, stdout: redactWordsOf(command, stdout), stderr: redactWordsOf(command, stderr) });
    }
  }

  /** `systemctl reboot` over SSH; resolves when the host answers with a new boot id. */
  async reboot(budgetMs = this.ctx.scaled(300_000)): Promise<void> {
    const before = (await this.probeFacts([])).bootId;
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'reboot' });
    await this.exec('(sleep 1; systemctl reboot || reboot) >/dev/null 2>&1 &', { check: false, timeoutMs: 10_000 }).catch(() => undefined);
    this.#disconnect();
    const deadline = Date.now() + budgetMs;
    await sleep(3_000, this.ctx.signal);
    for (;;) {
      await this.#waitForSsh(Math.max(1_000, deadline - Date.now()));
      const after = (await this.probeFacts([])).bootId;
      if (after && after !== before) return;
      if (Date.now() > deadline) throw new EdgeproofError('WAIT_TIMEOUT', `host "${this.name}" did not reboot within ${Math.round(budgetMs / 1000)}s (boot id unchanged)`);
      this.#disconnect();
      await sleep(2_000, this.ctx.signal);
    }
  }

  #disconnect(): void {
    this.#ssh?.close();
    this.#ssh = undefined;
  }

  async #waitForSsh(budgetMs: number): Promise<void> {
    try {
      this.#ssh = await SshConnection.waitFor(this.#target(), budgetMs, this.ctx.signal);
    } catch (error) {
      throw error instanceof HostKeyRefusedError ? this.#untrustedHostKey(error.presented) : error;
    }
  }

  /** Drops traffic to and from `peers` with rules tagged by the run; never cuts the harness's own SSH. */
  async partition(peers: string[] = []): Promise<void> {
    if (peers.length === 0) throw new UsageError(`partitioning host "${this.name}" needs the addresses to cut it from`, 'pass the other nodes\' addresses');
    const client = (await this.#raw('echo "$SSH_CLIENT"')).stdout.trim().split(/\s+/)[0];
    if (client && peers.includes(client)) {
      throw new UsageError(`partitioning host "${this.name}" from ${client} would cut the harness's own SSH connection`, 'partition from the other nodes only');
    }
    const tool = await this.#firewallTool();
    this.#partitioned = true;
    await this.exec(partitionCommand(tool, firewallTag(this.ctx.tag), peers));
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'partition', detail: peers.join(', ') });
  }

  /** Removes this run's rules and checks that none is left. */
  async heal(): Promise<void> {
    if (!this.#partitioned) return;
    const tool = await this.#firewallTool();
    const tag = firewallTag(this.ctx.tag);
    await this.exec(healCommand(tool, tag));
    const left = (await this.exec(listTaggedCommand(tool, tag))).stdout.trim();
    if (left) throw new EdgeproofError('CLEANUP', `host "${this.name}" still has firewall rules tagged ${tag}: ${left.split('\n')[0]}`, { hint: `remove them by hand: ${healCommand(tool, tag)}` });
    this.#partitioned = false;
    this.ctx.events.emit({ type: 'fault', node: this.name, fault: 'heal' });
  }

  async #firewallTool(): Promise<FirewallTool> {
    if (this.#firewall) return this.#firewall;
    const found = (await this.exec(detectFirewallCommand)).stdout.trim();
    if (found !== 'iptables' && found !== 'nft') throw new PrerequisiteMissingError(`iptables or nft on host "${this.name}"`, 'apt-get install iptables');
    this.#firewall = found;
    return found;
  }

  /** Heals first (always: a partition must never outlive the run), then closes SSH. */
  dispose = once(async () => {
    try {
      await this.heal();
    } finally {
      this.#disconnect();
      log('disposed %s', this.name);
    }
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function hostTrust(host: HostEntry, endpointHost: string, knownHostsFiles: readonly string[]): HostTrust {
  if (host.hostKeySha256) return { pinned: host.hostKeySha256, source: host.source };
  const names = [...new Set([host.address, endpointHost])];
  return { knownHosts: readKnownHostKeys(knownHostsFiles, names, host.port), files: knownHostsFiles };
}

function trustedKeys(trust: HostTrust): TrustedHostKey[] {
  if ('pinned' in trust) return [{ sha256: trust.pinned }];
  return trust.knownHosts.trusted.map((key) => ({ sha256: key.sha256, type: key.type }));
}

function hostKeyFile(type: string): string {
  const kind = type === 'ssh-ed25519' ? 'ed25519' : type.startsWith('ecdsa-') ? 'ecdsa' : type === 'ssh-rsa' ? 'rsa' : '*';
  return `/etc/ssh/ssh_host_${kind}_key.pub`;
}

/** The IPv4 address the harness reaches the host at: the address itself, or what its name resolves to. */
async function resolveEndpoint(host: HostEntry): Promise<string> {
  if (isIPv4(host.address)) return host.address;
  const resolved = await lookup(host.address, { family: 4 }).then((r) => r.address, () => undefined);
  if (resolved && isIPv4(resolved)) return resolved;
  throw new PrerequisiteMissingError(`an IPv4 address for "${host.address}" (host "${host.name}", field address)`, `fix name resolution on this machine, or write the host's IPv4 address in address: at ${host.source}`);
}

/**
 * The address Kubernetes and the other nodes use: the configured nodeAddress,
 * else what the host reports as the source of its default route, else the
 * SSH endpoint. It goes into other nodes' root scripts and certificates, so a
 * host that reports anything but an IPv4 address is refused.
 */
export function chooseNodeAddress(host: Pick<HostEntry, 'name' | 'source' | 'nodeAddress'>, facts: Pick<HostFacts, 'defaultAddress'>, endpointHost: string): string {
  if (host.nodeAddress !== undefined) return host.nodeAddress;
  const reported = facts.defaultAddress;
  if (reported === undefined) return endpointHost;
  if (!isIPv4(reported)) {
    throw new EdgeproofError('INPUT', `host "${host.name}" reported ${JSON.stringify(reported)} as the source address of its default route (field defaultaddr of the host probe), which is not an IPv4 address`, {
      hint: `check the host; to use a known address instead, set nodeAddress: for ${host.name} at ${host.source}`,
    });
  }
  return reported;
}

/** Connects to every host of a hosts file, checks each against the distribution's needs; all or nothing. */
export async function openSshHosts(ctx: RunContext, hosts: HostEntry[], requirements?: HostRequirements, options: SshConnectOptions = {}): Promise<SshMachine[]> {
  const machines = await Promise.all(hosts.map((host) => SshMachine.connect(ctx, host, options)));
  if (requirements) await Promise.all(machines.map((machine) => machine.checkPrerequisites(requirements)));
  return machines;
}
