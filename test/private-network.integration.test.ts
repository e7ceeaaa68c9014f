import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { waitFor } from '../src/core/wait.js';
import { boards, type Board } from '../src/emulation/boards.js';
import { generateSshKey } from '../src/emulation/guest/ssh-connection.js';
import { shellQuote } from '../src/emulation/machine.js';
import { PrivateNetwork } from '../src/emulation/qemu/private-network.js';
import { netdevEndpoints } from '../src/emulation/qemu/qemu-args.js';
import { QemuBoard, type QemuMachine } from '../src/emulation/qemu/qemu-board.js';
import { imagesFor, newRunContext, qemuProcesses } from './fixtures.js';

/**
 * Two rpi4 boards on one private network, for real: names and addresses,
 * partition and heal (QMP set_link), reset, power-off and power-on from the
 * same disk; then an rpi3b joins through its second usb-net NIC. Boots two
 * TCG boards together (about 30 s), one reset, one power-on, one rpi3b.
 */

// The guest has no ping: the workload image on the disk carries Debian's static busybox.
const BUSYBOX = '/root/busybox';
const INSTALL_BUSYBOX = `[ -x ${BUSYBOX} ] || { tar -xOf /opt/edgeproof/images/edgeproof.local_busybox_*.tar layer.tar | tar -xO ./bin/busybox > ${BUSYBOX} && chmod 755 ${BUSYBOX} && sync; }`;

async function ping(from: QemuMachine, target: string): Promise<{ ok: boolean; output: string }> {
  const result = await from.exec(`${BUSYBOX} ping -c 2 -W 2 -w 4 ${shellQuote(target)} 2>&1`, { check: false });
  expect(result.exitCode, result.stdout).not.toBe(127);
  return { ok: result.exitCode === 0, output: result.stdout };
}

/** The private NIC's carrier as the guest sees it ('1' up, '0' down). */
async function privateCarrier(machine: QemuMachine): Promise<string> {
  const { stdout } = await machine.exec(`cat /sys/class/net/$(ip -o -4 addr show to ${machine.address} | awk '{print $2}')/carrier`);
  return stdout.trim();
}

function untilPingWorks(ctx: RunContext, from: QemuMachine, target: string): Promise<number> {
  const started = Date.now();
  return waitFor(
    async () => {
      const { ok, output } = await ping(from, target);
      return ok ? { done: true, value: Date.now() - started } : { done: false, observed: output.trim().split('\n').at(-1) ?? '' };
    },
    { what: `ping ${from.name} -> ${target}`, budgetMs: ctx.scaled(15_000), pollMs: 250 },
  );
}

describe('private network between emulated boards', () => {
  let ctx: RunContext;
  let network: PrivateNetwork;
  let a: QemuMachine;
  let b: QemuMachine;
  let startMember: (board: Board, index: number) => Promise<QemuMachine>;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    ctx = newRunContext('private-network');
    const names = [`ep-${ctx.tag}-n-0`, `ep-${ctx.tag}-n-1`, `ep-${ctx.tag}-pi3-2`];
    network = await PrivateNetwork.start(ctx, names);
    const images = await imagesFor(ctx, 'arm64');
    const key = generateSshKey('test');
    startMember = (board, index) =>
      new QemuBoard(board).withName(names[index]!).withMemory(board === boards.rpi4 ? '1G' : undefined).withImages(images).withSshKey(key).withPrivateNetwork(network, index).start(ctx);
    const started = Date.now();
    [a, b] = await Promise.all([startMember(boards.rpi4, 0), startMember(boards.rpi4, 1)]);
    figures.bothBootedMs = Date.now() - started;
    for (const machine of [a, b]) figures[`${machine.name.endsWith('0') ? 'a' : 'b'}SshMs`] = machine.timings.sshMs!;
    await Promise.all([a, b].map((machine) => machine.exec(INSTALL_BUSYBOX)));
  });

  afterAll(async () => {
    await ctx?.dispose();
    expect(qemuProcesses(ctx.tag)).toEqual([]);
    console.info(`private-network figures (ms): ${JSON.stringify(figures)}`);
  });

  it('launches QEMU with network endpoints on 127.0.0.1 only, the private NIC wired to the switch', () => {
    const pids = qemuProcesses(ctx.tag);
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const endpoints = netdevEndpoints(argv);
      expect(endpoints.map((e) => e.type)).toEqual(['user', 'dgram']);
      for (const endpoint of endpoints) {
        expect(endpoint.hosts.length).toBeGreaterThan(0);
        for (const host of endpoint.hosts) expect(host).toBe('127.0.0.1');
      }
      expect(argv.find((arg) => arg.startsWith('user,'))).toContain('restrict=on');
      expect(argv.find((arg) => arg.startsWith('dgram,'))).toContain(`remote.port=${network.hubPort}`);
    }
  });

  it('gives each board its static address and its peers by name, with the default route on the user NIC', async () => {
    expect([a.address, b.address]).toEqual([`${network.prefix}.10`, `${network.prefix}.11`]);
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      const { stdout } = await self.exec(`ip -o -4 addr show to ${self.address}; ip route show default; getent hosts ${peer.name}; hostname`);
      expect(stdout).toContain(`${self.address}/24`);
      expect(stdout).toMatch(/^default via 10\.0\.2\.2 dev \S+/m);
      expect(stdout).toMatch(new RegExp(`^${peer.address.replaceAll('.', '\\.')}\\s+${peer.name}$`, 'm'));
      expect(stdout.trim().split('\n').at(-1)).toBe(self.name);
    }
  });

  it('boards ping each other by name and by address', async () => {
    for (const target of [b.name, b.address]) expect((await ping(a, target)).ok).toBe(true);
    for (const target of [a.name, a.address]) expect((await ping(b, target)).ok).toBe(true);
    expect(network.stats.forwarded).toBeGreaterThan(0);
  });

  it('partition cuts the private link both ways while SSH still works; heal restores it', async () => {
    const started = Date.now();
    await b.partition();
    figures.partitionMs = Date.now() - started;
    expect(await privateCarrier(b)).toBe('0');
    const fromA = await ping(a, b.address);
    const fromB = await ping(b, a.address);
    expect(fromA.ok, fromA.output).toBe(false);
    expect(fromA.output).not.toContain('bytes from');
    expect(fromB.ok, fromB.output).toBe(false);
    expect(fromB.output).not.toContain('bytes from');

    await b.heal();
    figures.healToPingMs = await untilPingWorks(ctx, a, b.name);
    expect(await privateCarrier(b)).toBe('1');
    expect((await ping(b, a.name)).ok).toBe(true);
    const faults = ctx.events.events.filter((e) => e.type === 'fault' && e.node === b.name);
    expect(faults.map((e) => e.type === 'fault' && e.fault)).toEqual(['partition', 'heal']);
    expect(faults.every((e) => !Number.isNaN(Date.parse(e.ts)))).toBe(true);
  });

  it('reboot resets the board; it comes back with its addresses and the same host key', async () => {
    const bootId = (await a.exec('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    await a.reboot();
    const reboot = a.boots.at(-1)!;
    expect(reboot.cause).toBe('reboot');
    figures.rebootToSshMs = reboot.sshMs;
    expect((await a.exec('cat /proc/sys/kernel/random/boot_id')).stdout.trim()).not.toBe(bootId);
    figures.rebootToPingMs = reboot.sshMs + (await untilPingWorks(ctx, b, a.name));
  });

  it('power-off then power-on: same disk, same private address, SSH again, autostart ran', async () => {
    await b.writeFile('/etc/edgeproof/autostart.sh', 'cat /proc/sys/kernel/random/boot_id > /var/log/edgeproof/autostart-ran\n');
    await b.exec('sync');
    const pidBefore = qemuProcesses(b.name);
    expect(pidBefore).toHaveLength(1);

    await b.powerOff();
    expect(qemuProcesses(b.name)).toEqual([]);
    expect(b.running).toBe(false);
    expect((await ping(a, b.address)).ok).toBe(false);

    const started = Date.now();
    await b.powerOn();
    figures.powerOnToSshMs = Date.now() - started;
    const pidAfter = qemuProcesses(b.name);
    expect(pidAfter).toHaveLength(1);
    expect(pidAfter).not.toEqual(pidBefore);
    expect(ctx.session.record.resources.processes.map((p) => p.pid).sort()).toEqual(qemuProcesses(ctx.tag).sort());

    const ran = '/var/log/edgeproof/autostart-ran';
    const { stdout } = await b.exec(
      `ip -o -4 addr show to ${b.address}; cat /proc/sys/kernel/random/boot_id; for i in $(seq 50); do [ -s ${ran} ] && break; sleep 0.1; done; cat ${ran}`,
    );
    const [addressLine, bootId, autostartBootId] = stdout.trim().split('\n');
    expect(addressLine).toContain(`${b.address}/24`);
    expect(autostartBootId).toBe(bootId);
    figures.powerOnToPingMs = figures.powerOnToSshMs + (await untilPingWorks(ctx, a, b.name));
    const faults = ctx.events.events.filter((e) => e.type === 'fault' && e.node === b.name).map((e) => e.type === 'fault' && e.fault);
    expect(faults.slice(-2)).toEqual(['power-off', 'power-on']);
  });

  it('an rpi3b joins the segment through a second usb-net NIC and can be partitioned', async () => {
    const pi3 = await startMember(boards.rpi3b, 2);
    figures.rpi3bSshMs = pi3.timings.sshMs!;
    await pi3.exec(INSTALL_BUSYBOX);
    const { stdout } = await pi3.exec(`ip -o -4 addr show to ${pi3.address}`);
    expect(stdout).toMatch(new RegExp(`^\\d+: usb\\d+ +inet ${pi3.address.replaceAll('.', '\\.')}/24`));
    expect((await ping(pi3, a.name)).ok).toBe(true);
    await pi3.partition();
    expect((await ping(a, pi3.address)).ok).toBe(false);
    await pi3.heal();
    await untilPingWorks(ctx, a, pi3.name);
    await pi3.dispose();
  });
});
