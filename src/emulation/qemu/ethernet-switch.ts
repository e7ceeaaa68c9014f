import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { logger } from '../../core/log.js';

const log = logger('switch');

/** The switch listens and sends on the loopback address only: nothing it forwards can leave the machine. */
export const LOOPBACK = '127.0.0.1';
const ETHERNET_HEADER_BYTES = 14;

export interface SwitchStats {
  /** Frames received from a port of the switch. */
  received: number;
  /** Frames sent to one learned port. */
  forwarded: number;
  /** Frames sent to every other port (broadcast, multicast, unknown unicast). */
  flooded: number;
  /** Datagrams ignored: from a stranger, too short, or addressed back to their own port. */
  dropped: number;
}

/**
 * A learning Ethernet switch over UDP on 127.0.0.1, the other end of QEMU
 * `-netdev dgram` NICs (one Ethernet frame per datagram). It knows a fixed set
 * of ports (127.0.0.1:<port>, one per board), learns source MACs, floods
 * broadcast, multicast and unknown unicast, and never sends anywhere but to
 * its own ports on 127.0.0.1.
 */
export class EthernetSwitch {
  readonly stats: SwitchStats = { received: 0, forwarded: 0, flooded: 0, dropped: 0 };
  readonly #ports = new Set<number>();
  /** MAC (lowercase hex, colon-separated) -> port it was last seen on. */
  readonly #table = new Map<string, number>();

  readonly #socket: Socket;
  /** The UDP port on 127.0.0.1 the boards send to. */
  readonly port: number;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.port = socket.address().port;
    socket.on('message', (frame, from) => this.#onFrame(frame, from));
    socket.on('error', (error) => log('socket error %s', error.message));
  }

  static async start(): Promise<EthernetSwitch> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new EthernetSwitch(socket);
  }

  /** Plugs in a board whose NIC sends from (and listens on) 127.0.0.1:<port>. */
  addPort(port: number): void {
    this.#ports.add(port);
  }

  /** The address the switch listens on (always 127.0.0.1). */
  get address(): string {
    return this.#socket.address().address;
  }

  get ports(): number[] {
    return [...this.#ports];
  }

  /** Where a MAC was last seen (undefined until it has sent a frame). */
  portOf(mac: string): number | undefined {
    return this.#table.get(mac.toLowerCase());
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #onFrame(frame: Buffer, from: RemoteInfo): void {
    if (from.address !== LOOPBACK || !this.#ports.has(from.port) || frame.length < ETHERNET_HEADER_BYTES) {
      this.stats.dropped++;
      return;
    }
    this.stats.received++;
    const destination = macText(frame, 0);
    this.#table.set(macText(frame, 6), from.port);
    const known = isGroupAddress(frame) ? undefined : this.#table.get(destination);
    if (known === from.port) {
      this.stats.dropped++;
    } else if (known !== undefined) {
      this.stats.forwarded++;
      this.#send(frame, known);
    } else {
      this.stats.flooded++;
      for (const port of this.#ports) if (port !== from.port) this.#send(frame, port);
    }
  }

  #send(frame: Buffer, port: number): void {
    this.#socket.send(frame, port, LOOPBACK, (error) => {
      if (error) log('send to port %d: %s', port, error.message);
    });
  }
}

function macText(frame: Buffer, offset: number): string {
  return [...frame.subarray(offset, offset + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The I/G bit: broadcast and multicast destinations go to every port. */
function isGroupAddress(frame: Buffer): boolean {
  return (frame[0]! & 0x01) === 1;
}
