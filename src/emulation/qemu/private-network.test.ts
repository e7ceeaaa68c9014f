import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunContext } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { hostsLines, MAX_MEMBERS, memberAddress, memberMac, PrivateNetwork, subnetPrefix } from './private-network.js';

describe('private network address plan', () => {
  it('derives a /24 per run, clear of the user network, service and pod ranges', () => {
    const prefixes = Array.from({ length: 200 }, (_, i) => subnetPrefix(`20261124-0635${String(i).padStart(2, '0')}-a1b2`));
    for (const prefix of prefixes) {
      const [first, second, third] = prefix.split('.').map(Number);
      expect(first).toBe(10);
      expect(second).toBeGreaterThanOrEqual(120);
      expect(second).toBeLessThanOrEqual(199);
      expect(third).toBeGreaterThanOrEqual(0);
      expect(third).toBeLessThanOrEqual(255);
    }
    expect(subnetPrefix('run-a')).toBe(subnetPrefix('run-a'));
    expect(new Set(prefixes).size).toBeGreaterThan(190);
  });

  it('gives member i the address .(10+i) and a unicast, locally administered MAC unique on the segment', () => {
    expect(memberAddress('10.150.7', 0)).toBe('10.150.7.10');
    expect(memberAddress('10.150.7', 3)).toBe('10.150.7.13');
    expect(memberMac('10.150.7', 0)).toBe('52:54:01:96:07:0a');
    const macs = Array.from({ length: MAX_MEMBERS }, (_, i) => memberMac('10.150.7', i));
    expect(new Set(macs).size).toBe(MAX_MEMBERS);
    for (const mac of macs) expect(parseInt(mac.slice(0, 2), 16) & 0b11).toBe(0b10);
  });

  it('writes /etc/hosts lines for every member', () => {
    expect(hostsLines('10.150.7', ['ep-1234abcd-cp-0', 'ep-1234abcd-w-0'])).toBe('10.150.7.10 ep-1234abcd-cp-0\n10.150.7.11 ep-1234abcd-w-0\n');
  });
});

describe('PrivateNetwork', () => {
  let root: string;
  let ctx: RunContext;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'edgeproof-private-network-test-'));
    ctx = new RunContext({ runDir: join(root, 'run'), cacheDir: join(root, 'cache'), progress: false });
  });
  afterEach(async () => {
    await ctx.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('gives each member its own 127.0.0.1 port and keeps it', async () => {
    const network = await PrivateNetwork.start(ctx, ['ep-x-cp-0', 'ep-x-w-0', 'ep-x-w-1']);
    expect(network.subnet).toBe(`${subnetPrefix(ctx.runId)}.0/24`);
    const members = await Promise.all([0, 1, 2].map((i) => network.member(i)));
    expect(members.map((m) => m.name)).toEqual(['ep-x-cp-0', 'ep-x-w-0', 'ep-x-w-1']);
    expect(members.map((m) => m.cidr)).toEqual([10, 11, 12].map((h) => `${network.prefix}.${h}/24`));
    const ports = members.map((m) => m.localPort);
    expect(new Set([...ports, network.hubPort]).size).toBe(4);
    expect(members.every((m) => m.hubPort === network.hubPort)).toBe(true);
    expect(await network.member(1)).toEqual(members[1]);
    await expect(network.member(3)).rejects.toThrow(/has no member 3/);
  });

  it('refuses member lists it cannot serve, before anything starts', async () => {
    await expect(PrivateNetwork.start(ctx, [])).rejects.toBeInstanceOf(UsageError);
    await expect(PrivateNetwork.start(ctx, Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => `n-${i}`))).rejects.toBeInstanceOf(UsageError);
    await expect(PrivateNetwork.start(ctx, ['ep x'])).rejects.toThrow(/not a valid host name/);
    await expect(PrivateNetwork.start(ctx, ['a', 'a'])).rejects.toThrow(/distinct names/);
  });

  it('closes its switch when the run is disposed', async () => {
    const network = await PrivateNetwork.start(ctx, ['ep-x-cp-0']);
    const hubPort = network.hubPort;
    await ctx.dispose();
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(hubPort, '127.0.0.1', resolve);
    });
    probe.close();
  });
});
