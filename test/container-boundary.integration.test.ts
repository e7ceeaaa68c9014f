import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { projectRoot } from '../src/core/paths.js';
import { sweepStaleSessions, type SessionRecord } from '../src/core/session.js';
import { fenceRulesOn, fencesFor, installFence, removeFence } from '../src/emulation/container/bridge-fence.js';
import { ContainerNetwork } from '../src/emulation/container/container-network.js';
import { ContainerNode, type ContainerMachine } from '../src/emulation/container/container-node.js';
import { docker, harnessLeftovers, sweepContainers } from '../src/emulation/container/docker-engine.js';
import { NODE_CAPABILITIES } from '../src/emulation/container/node-privileges.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, nodeImage } from './fixtures.js';

/** Linux capability numbers (linux/capability.h), to read /proc/<pid>/status. */
const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

const decodeCapabilities = (hex: string) => CAPABILITIES.filter((_, bit) => ((BigInt(`0x${hex}`) >> BigInt(bit)) & 1n) === 1n).sort();
const MARKER = 'edgeproof-host-listener';

/**
 * A node container as the host sees it (docker inspect) and as it sees the
 * host: its own cgroup namespace, no host path or device, only the listed
 * capabilities, host-wide kernel settings out of its reach, and its network
 * fenced off from the host over IPv4 and IPv6.
 */
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

  const liftFence = async () => {
    for (const fence of fencesFor(bridge)) expect(await removeFence(fence)).toEqual([]);
    expect(await fenceRulesOn(bridge)).toEqual([]);
  };
  const restoreFence = async () => {
    for (const fence of fencesFor(bridge)) await installFence(fence, ctx.runId);
  };

  it('docker inspect: not privileged, its own cgroup namespace, no host path or device, every capability dropped but the listed ones', async () => {
    const info = await (await docker()).getContainer(node.name).inspect();
    const hostConfig = info.HostConfig as typeof info.HostConfig & { CgroupnsMode?: string };
    expect(hostConfig.Privileged).toBe(false);
    expect(hostConfig.CgroupnsMode).toBe('private');
    expect(info.Mounts.filter((m) => m.Type === 'bind')).toEqual([]);
    expect(hostConfig.Binds ?? []).toEqual([]);
    expect(hostConfig.Devices ?? []).toEqual([]);
    expect(hostConfig.CapDrop).toEqual(['ALL']);
    expect([...(hostConfig.CapAdd ?? [])].sort()).toEqual(Object.keys(NODE_CAPABILITIES).sort());
    expect(hostConfig.SecurityOpt?.some((opt: string) => opt.startsWith('seccomp=') && opt !== 'seccomp=unconfined')).toBe(true);
  });

  it('from inside: the cgroup tree is its own, the capabilities are the listed ones, host-wide settings and the kernel log are out of reach', async () => {
    const cgroups = (await node.exec('cat /proc/1/cgroup')).stdout.trim().split('\n');
    expect(cgroups.filter((line) => !/:\/$/.test(line))).toEqual([]);
    // The host's own containers' cgroups are not in its view.
    expect((await node.exec('ls /sys/fs/cgroup/memory/docker', { check: false })).exitCode).not.toBe(0);
    const status = (await node.exec('cat /proc/1/status')).stdout;
    expect(decodeCapabilities(/CapEff:\s*([0-9a-f]+)/.exec(status)![1]!)).toEqual(Object.keys(NODE_CAPABILITIES).sort());
    expect(/Seccomp:\s*(\d)/.exec(status)![1], 'seccomp mode 2: a filter').toBe('2');
    // A host-wide setting, written back with the value it has: refused, so a host that allowed it is unchanged anyway.
    expect((await node.exec('v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern', { check: false })).exitCode).not.toBe(0);
    // The kubelet reads the values it wants from the shadowed entries; the host keeps its own.
    expect((await node.exec('cat /proc/sys/vm/overcommit_memory')).stdout.trim()).toBe('1');
    // The host's kernel log: syslog(2) is refused, and /dev/kmsg gives nothing.
    expect((await node.exec('dmesg --syslog', { check: false })).exitCode).not.toBe(0);
    expect((await node.exec('dmesg')).stdout).toBe('');
    // Its own network's settings stay writable (ip_forward, bridge netfilter, kube-proxy's).
    await node.exec('sysctl -q -w net.ipv4.ip_forward=1');
  });

  it('a TCP connection to the host at the bridge gateway is dropped; with the fence removed (the baseline) it connects', async () => {
    expect(await connectFromNode(gateway())).toEqual({ connected: false, accepted: 0 });
    await liftFence();
    expect(await connectFromNode(gateway())).toEqual({ connected: true, accepted: 1 });
    await restoreFence();
    expect(await connectFromNode(gateway())).toEqual({ connected: false, accepted: 0 });
  });

  it.skipIf(!existsSync('/proc/net/if_inet6'))('over IPv6 too: a node that turns IPv6 on cannot reach the bridge link-local address; without the fence it can', async () => {
    const linkLocal = networkInterfaces()[bridge]?.find((a) => a.family === 'IPv6' && a.address.startsWith('fe80'))?.address;
    expect(linkLocal, `no IPv6 link-local address on ${bridge}`).toBeDefined();
    const dev = (await node.exec(`ip -o -4 addr show | awk '$4 ~ /^${node.address.replaceAll('.', '\\.')}\\// { print $2 }'`)).stdout.trim();
    expect(dev).toMatch(/^eth\d+$/);
    await node.exec(`sysctl -q -w net.ipv6.conf.${dev}.disable_ipv6=0 && sleep 3`);
    const target = `${linkLocal}%${dev}`;
    expect(await connectFromNode(target)).toEqual({ connected: false, accepted: 0 });
    await liftFence();
    expect(await connectFromNode(target)).toEqual({ connected: true, accepted: 1 });
    await restoreFence();
    expect(await connectFromNode(target)).toEqual({ connected: false, accepted: 0 });
  });
});

describe('a killed run\'s bridge fence', () => {
  it('is in its session record before anything runs behind it, and the sweep removes it with the network', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ep-fence-cache-'));
    const runDir = mkdtempSync(join(tmpdir(), 'ep-fence-run-'));
    const owner = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'test', 'fence-owner.ts'), cacheDir, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    try {
      let output = '';
      owner.stdout!.on('data', (d) => (output += d));
      owner.stderr!.on('data', (d) => (output += d));
      while (!output.includes('\n') && owner.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      const { runId, bridge, network } = JSON.parse(output.split('\n')[0]!) as { runId: string; bridge: string; network: string };
      owner.kill('SIGKILL');
      await exited;

      const record = JSON.parse(readFileSync(join(cacheDir, 'sessions', `${runId}.json`), 'utf8')) as SessionRecord;
      expect(record.resources.bridgeFences).toEqual(fencesFor(bridge));
      expect((await fenceRulesOn(bridge)).length).toBeGreaterThan(0);
      const report = await sweepStaleSessions(cacheDir, sweepContainers);
      expect(report.errors).toEqual([]);
      expect(report.sessions).toEqual([runId]);
      expect(await fenceRulesOn(bridge)).toEqual([]);
      expect((await harnessLeftovers()).networks).not.toContain(network);
    } finally {
      owner.kill('SIGKILL');
      await exited;
      await sweepStaleSessions(cacheDir, sweepContainers); // whatever an assertion above left
      rmSync(cacheDir, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});

describe('a host that refuses the fence (iptables answering as it does to a user who is not root)', () => {
  it('stops the run with a prerequisite error; no fence is recorded and teardown leaves nothing', async () => {
    const fakeBin = mkdtempSync(join(tmpdir(), 'ep-fence-refused-'));
    for (const tool of ['iptables', 'ip6tables']) {
      writeFileSync(join(fakeBin, tool), '#!/bin/sh\necho "Could not fetch rule set generation id: Permission denied (you must be root)" >&2\nexit 4\n', { mode: 0o755 });
    }
    const path = process.env.PATH;
    process.env.PATH = `${fakeBin}:${path}`;
    const ctx = newRunContext('fence-refused', CONTAINER_TIMEOUT_SCALE);
    const tag = ctx.tag;
    try {
      const refused = await ContainerNetwork.create(ctx, `ep-${tag}`).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'PREREQUISITE_MISSING', message: expect.stringMatching(/iptables said: .*you must be root/) });
      expect(ctx.session.record.resources.bridgeFences ?? []).toEqual([]);
    } finally {
      process.env.PATH = path;
      await ctx.dispose();
      rmSync(fakeBin, { recursive: true, force: true });
    }
    expect((await harnessLeftovers()).networks.filter((name) => name.includes(tag))).toEqual([]);
  });
});
