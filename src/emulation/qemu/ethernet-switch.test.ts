import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EthernetSwitch } from './ethernet-switch.js';

/** A board's end of the link: a real UDP socket on 127.0.0.1 that queues what it receives. */
class Port {
  readonly received: Buffer[] = [];
  #waiters: ((frame: Buffer) => void)[] = [];

  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (frame) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(frame);
      else this.received.push(frame);
    });
  }

  static async open(): Promise<Port> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new Port(socket, socket.address().port);
  }

  send(frame: Buffer, hubPort: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(frame, hubPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }

  next(): Promise<Buffer> {
    const queued = this.received.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.socket.close();
  }
}

const MAC = {
  a: '52:54:01:00:00:0a',
  b: '52:54:01:00:00:0b',
  c: '52:54:01:00:00:0c',
  broadcast: 'ff:ff:ff:ff:ff:ff',
  multicast: '01:00:5e:00:00:fb',
  nobody: '52:54:01:00:00:99',
};
const macBytes = (mac: string) => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const frame = (dst: string, src: string, payload: string) => Buffer.concat([macBytes(dst), macBytes(src), Buffer.from([0x08, 0x00]), Buffer.from(payload)]);
const payload = (f: Buffer) => f.subarray(14).toString();

let hub: EthernetSwitch;
let a: Port, b: Port, c: Port;
let opened: Port[];

beforeEach(async () => {
  hub = await EthernetSwitch.start();
  opened = [await Port.open(), await Port.open(), await Port.open()];
  [a, b, c] = opened as [Port, Port, Port];
  for (const port of opened) hub.addPort(port.port);
});

afterEach(async () => {
  for (const port of opened) port.close();
  await hub.close();
});

/**
 * Negative checks without sleeping: the switch handles datagrams in order and
 * loopback keeps order per socket pair, so once a broadcast marker sent after
 * the frame under test reaches a port, that frame would have reached it first.
 */
async function nextIsMarker(from: Port, fromMac: string, ...ports: Port[]): Promise<void> {
  await from.send(frame(MAC.broadcast, fromMac, 'marker'), hub.port);
  for (const port of ports) expect(payload(await port.next())).toBe('marker');
}

describe('EthernetSwitch', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(hub.address).toBe('127.0.0.1');
    expect(hub.port).toBeGreaterThan(0);
    expect(hub.ports.sort()).toEqual([a.port, b.port, c.port].sort());
  });

  it('floods a broadcast to every other port, never back to the sender, and learns the sender', async () => {
    await a.send(frame(MAC.broadcast, MAC.a, 'who-has'), hub.port);
    expect(payload(await b.next())).toBe('who-has');
    expect(payload(await c.next())).toBe('who-has');
    expect(hub.portOf(MAC.a)).toBe(a.port);
    await nextIsMarker(b, MAC.b, a);
    expect(hub.stats).toMatchObject({ received: 2, flooded: 2, forwarded: 0 });
  });

  it('forwards unicast to a learned MAC to that port only', async () => {
    await a.send(frame(MAC.broadcast, MAC.a, 'hello'), hub.port);
    await b.next();
    await c.next();
    await b.send(frame(MAC.a, MAC.b, 'reply'), hub.port);
    expect(payload(await a.next())).toBe('reply');
    await nextIsMarker(a, MAC.a, c);
    expect(hub.stats.forwarded).toBe(1);
  });

  it('floods unknown unicast and multicast', async () => {
    await a.send(frame(MAC.nobody, MAC.a, 'unknown'), hub.port);
    await a.send(frame(MAC.multicast, MAC.a, 'mdns'), hub.port);
    for (const port of [b, c]) {
      expect(payload(await port.next())).toBe('unknown');
      expect(payload(await port.next())).toBe('mdns');
    }
    expect(hub.stats.flooded).toBe(2);
  });

  it('relearns a MAC that moved to another port', async () => {
    await a.send(frame(MAC.broadcast, MAC.a, 'from-a'), hub.port);
    await c.send(frame(MAC.broadcast, MAC.a, 'moved'), hub.port);
    expect(payload(await b.next())).toBe('from-a');
    expect(payload(await b.next())).toBe('moved');
    expect(hub.portOf(MAC.a)).toBe(c.port);
    await b.send(frame(MAC.a, MAC.b, 'to-a'), hub.port);
    expect(payload(await c.next())).toBe('from-a');
    expect(payload(await c.next())).toBe('to-a');
  });

  it('drops unicast whose destination sits on the sending port', async () => {
    await a.send(frame(MAC.broadcast, MAC.a, 'learn'), hub.port);
    await b.next();
    await c.next();
    await a.send(frame(MAC.a, MAC.a, 'hairpin'), hub.port);
    await nextIsMarker(b, MAC.b, a, c);
    expect(hub.stats.dropped).toBe(1);
  });

  it('ignores datagrams from a port that is not plugged in, and runts', async () => {
    const stranger = await Port.open();
    opened.push(stranger);
    await stranger.send(frame(MAC.broadcast, MAC.nobody, 'intruder'), hub.port);
    await a.send(Buffer.from('short'), hub.port);
    await nextIsMarker(a, MAC.a, b, c);
    expect(hub.portOf(MAC.nobody)).toBeUndefined();
    expect(hub.stats.dropped).toBe(2);
  });
});
