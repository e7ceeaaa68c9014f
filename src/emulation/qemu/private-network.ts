import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { RunContext } from '../../core/context.js';
import { EdgeproofError, UsageError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { once } from '../../core/scope.js';
import { EthernetSwitch, LOOPBACK, type SwitchStats } from './ethernet-switch.js';

const log = logger('qemu');

/** Members get .10, .11, ...; the kernel command line (2048 bytes) carries every member's hosts line. */
export const MAX_MEMBERS = 16;
const FIRST_HOST = 10;
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i;

/** One board's place on the segment. */
export interface PrivateNetworkMember {
  index: number;
  name: string;
  address: string;
  /** The address with its prefix length, as the guest configures it. */
  cidr: string;
  mac: string;
  /** The 127.0.0.1 UDP port the board's NIC sends from and listens on. */
  localPort: number;
  /** The switch's 127.0.0.1 UDP port. */
  hubPort: number;
}

/**
 * The first three octets of a run's /24. Second octet 120-199: clear of QEMU's
 * user network (10.0.2.0/24), the upstream cluster's service range
 * (10.96.0.0/12 = 10.96-10.111) and pod range (10.244.0.0/16); derived from the
 * run id so that two runs on one host get different segments (unique-ish:
 * 80 x 256 subnets).
 */
export function subnetPrefix(runId: string): string {
  const hash = createHash('sha256').update(runId).digest();
  return `10.${120 + (hash[0]! % 80)}.${hash[1]!}`;
}

export function memberAddress(prefix: string, index: number): string {
  return `${prefix}.${FIRST_HOST + index}`;
}

/** Locally administered, unique on the segment by construction: the subnet and the host number. */
export function memberMac(prefix: string, index: number): string {
  const [, second = 0, third = 0] = prefix.split('.').map(Number);
  return [0x52, 0x54, 0x01, second, third, FIRST_HOST + index].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** /etc/hosts lines so that members resolve each other by name. */
export function hostsLines(prefix: string, names: readonly string[]): string {
  return names.map((name, index) => `${memberAddress(prefix, index)} ${name}\n`).join('');
}

/**
 * A private L2 segment between QEMU boards of one cluster: a learning switch
 * in the harness process on 127.0.0.1 and one `-netdev dgram` NIC per board.
 * It cannot reach off the machine by construction: every socket of it is on
 * the loopback address, and the switch sends only to its own boards' ports.
 */
export class PrivateNetwork implements AsyncDisposable {
  readonly prefix: string;
  readonly #switch: EthernetSwitch;
  readonly #members = new Map<number, Promise<PrivateNetworkMember>>();

  private constructor(
    readonly names: readonly string[],
    prefix: string,
    ethernetSwitch: EthernetSwitch,
  ) {
    this.prefix = prefix;
    this.#switch = ethernetSwitch;
  }

  /**
   * Starts the segment for the named boards (board i gets .(10+i)); disposed
   * with the run's scope. `prefix` is for boards restored from a snapshot:
   * their addresses and MACs are the saved ones, only the host ports are new.
   */
  static async start(ctx: RunContext, names: readonly string[], prefix = subnetPrefix(ctx.runId)): Promise<PrivateNetwork> {
    validateNames(names);
    const network = new PrivateNetwork([...names], prefix, await EthernetSwitch.start());
    ctx.scope.defer(`private network ${network.subnet}`, () => network.dispose());
    log('private network %s: switch on %s:%d for %s', network.subnet, LOOPBACK, network.hubPort, names.join(', '));
    return network;
  }

  get subnet(): string {
    return `${this.prefix}.0/24`;
  }

  get hubPort(): number {
    return this.#switch.port;
  }

  /** Frame counters of the segment's switch. */
  get stats(): Readonly<SwitchStats> {
    return this.#switch.stats;
  }

  /** Board `index`'s place; its UDP port is allocated on first use and kept (a powered-on board reuses it). */
  member(index: number): Promise<PrivateNetworkMember> {
    const name = this.names[index];
    if (name === undefined) {
      return Promise.reject(new EdgeproofError('INTERNAL', `private network ${this.subnet} has no member ${index} (members: ${this.names.join(', ')})`));
    }
    let member = this.#members.get(index);
    if (!member) {
      member = this.#plugIn(index, name);
      this.#members.set(index, member);
    }
    return member;
  }

  hostsLines(): string {
    return hostsLines(this.prefix, this.names);
  }

  dispose = once(async () => {
    await this.#switch.close();
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** Plugs member `index` into the switch on a UDP port the kernel says is free, distinct from the switch's and every member's. */
  async #plugIn(index: number, name: string): Promise<PrivateNetworkMember> {
    let localPort: number;
    do localPort = await kernelChosenUdpPort();
    while (localPort === this.hubPort || this.#switch.ports.includes(localPort));
    this.#switch.addPort(localPort);
    const address = memberAddress(this.prefix, index);
    return { index, name, address, cidr: `${address}/24`, mac: memberMac(this.prefix, index), localPort, hubPort: this.hubPort };
  }
}

function validateNames(names: readonly string[]): void {
  if (names.length === 0 || names.length > MAX_MEMBERS) {
    throw new UsageError(`A private network holds 1 to ${MAX_MEMBERS} boards (asked for ${names.length})`, `use at most ${MAX_MEMBERS} emulated nodes per cluster`);
  }
  const bad = names.find((name) => !HOST_NAME.test(name));
  if (bad !== undefined) throw new UsageError(`"${bad}" is not a valid host name for a private network member`, 'use letters, digits and inner hyphens');
  if (new Set(names).size !== names.length) throw new UsageError(`Private network members must have distinct names (got ${names.join(', ')})`);
}

function kernelChosenUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, LOOPBACK, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
