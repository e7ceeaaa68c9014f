import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { projectRoot } from '../src/core/paths.js';
import { sweepStaleSessions, type SessionRecord } from '../src/core/session.js';
import { fenceRulesOn, installBridgeFence, removeBridgeFence } from '../src/emulation/container/bridge-fence.js';
import { ContainerNetwork } from '../src/emulation/container/container-network.js';
import { ContainerNode, type ContainerMachine } from '../src/emulation/container/container-node.js';
import { harnessLeftovers, sweepContainers } from '../src/emulation/container/docker-engine.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, nodeImage } from './fixtures.js';

const MARKER = 'edgeproof-host-listener';

/** A node container's network is fenced off from the host over IPv4 and IPv6; the host's own connections still get answers. */
describe('a node container as a boundary (real Docker, real iptables)', () => {
  let ctx: RunContext;
  let network: ContainerNetwork;
  let node: ContainerMachine;
  let bridge: string;
  let accepted = 0;
  const listener = createServer((socket) => {
    accepted++;
    socket.end(`${MARKER}\n`);
  });

  beforeAll(async () => {
    ctx = newRunContext('boundary', CONTAINER_TIMEOUT_SCALE);
    const image = await nodeImage(ctx);
    network = await ContainerNetwork.create(ctx, `ep-${ctx.tag}`);
    bridge = await network.bridge();
    node = await new ContainerNode(image).withName(`ep-${ctx.tag}-cp-0`).withNetwork(network, 0).start(ctx);
    // Every address of the host, IPv4 and IPv6: the bridge gateway among them.
    await new Promise<void>((resolve) => listener.listen(0, '::', resolve));
  });

  afterAll(async () => {
    listener.close();
    const tag = ctx.tag;
    await ctx?.dispose();
    expect(await fenceRulesOn(bridge)).toEqual([]);
    const left = await harnessLeftovers();
    expect([...left.containers, ...left.networks].filter((name) => name.includes(tag))).toEqual([]);
  });

  const port = () => (listener.address() as AddressInfo).port;
  const gateway = () => network.subnet.replace(/\.0\/24$/, '.1');

  /** A TCP connection from the node to the host listener at `address` (bash's /dev/tcp), given 5 s. */
  async function connectFromNode(address: string): Promise<{ connected: boolean; accepted: number }> {
    const before = accepted;
    const { stdout } = await node.exec(`timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${port()} && cat <&3'`, { check: false });
    return { connected: stdout.includes(MARKER), accepted: accepted - before };
  }

  it('a TCP connection to the host at the bridge gateway is dropped; with the fence removed (the baseline) it connects', async () => {
    expect(await connectFromNode(gateway())).toEqual({ connected: false, accepted: 0 });
    expect(await removeBridgeFence(bridge)).toEqual([]);
    expect(await connectFromNode(gateway())).toEqual({ connected: true, accepted: 1 });
    await installBridgeFence(bridge, ctx.runId);
    expect(await connectFromNode(gateway())).toEqual({ connected: false, accepted: 0 });
  });

  it('over IPv6 too: a node that turns IPv6 on cannot reach the bridge link-local address; without the fence it can', async () => {
    const linkLocal = networkInterfaces()[bridge]?.find((a) => a.family === 'IPv6' && a.address.startsWith('fe80'))?.address;
    expect(linkLocal, `no IPv6 link-local address on ${bridge}`).toBeDefined();
    await node.exec('sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=0 && sleep 3');
    const target = `${linkLocal}%eth0`;
    expect(await connectFromNode(target)).toEqual({ connected: false, accepted: 0 });
    expect(await removeBridgeFence(bridge)).toEqual([]);
    expect(await connectFromNode(target)).toEqual({ connected: true, accepted: 1 });
    await installBridgeFence(bridge, ctx.runId);
    expect(await connectFromNode(target)).toEqual({ connected: false, accepted: 0 });
  });
});

describe('a killed run\'s bridge fence', () => {
  it('is in its session record before anything runs behind it, and the sweep removes it with the network', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ep-fence-cache-'));
    const runDir = mkdtempSync(join(tmpdir(), 'ep-fence-run-'));
    const owner = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'test', 'fence-owner.ts'), cacheDir, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    owner.stdout!.on('data', (d) => (output += d));
    owner.stderr!.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    while (!output.includes('\n') && owner.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const { runId, bridge, network } = JSON.parse(output.split('\n')[0]!) as { runId: string; bridge: string; network: string };
    owner.kill('SIGKILL');
    await exited;

    const record = JSON.parse(readFileSync(join(cacheDir, 'sessions', `${runId}.json`), 'utf8')) as SessionRecord;
    expect(record.resources.bridgeFences).toEqual([bridge]);
    expect((await fenceRulesOn(bridge)).length).toBeGreaterThan(0);
    const report = await sweepStaleSessions(cacheDir, sweepContainers);
    expect(report.errors).toEqual([]);
    expect(report.sessions).toEqual([runId]);
    expect(await fenceRulesOn(bridge)).toEqual([]);
    expect((await harnessLeftovers()).networks).not.toContain(network);
  });
});
