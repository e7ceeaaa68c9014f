import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { PrerequisiteMissingError, UsageError } from '../src/core/errors.js';
import type { StartedCluster } from '../src/cluster/distribution.js';
import { API_PORT, UpstreamDistribution } from '../src/distros/upstream/upstream-distribution.js';
import { generateSshKey } from '../src/emulation/guest/ssh-connection.js';
import type { QemuMachine } from '../src/emulation/qemu/qemu-board.js';
import { firewallTag, listTaggedCommand } from '../src/emulation/ssh/firewall.js';
import { loadHostsFile, type HostEntry } from '../src/emulation/ssh/hosts-file.js';
import { SshMachine, openSshHosts } from '../src/emulation/ssh/ssh-machine.js';
import { syncPayload } from '../src/emulation/ssh/sync-payloads.js';
import { runSmokeSuite } from '../src/suites/smoke.js';
import { bootBoard, newRunContext, qemuProcesses } from './fixtures.js';

/**
 * The ssh backend against an emulated Pi: the board is booted with QEMU, then
 * treated as a real Pi on the bench. Everything after boot goes through
 * SshMachine (a hosts file, 127.0.0.1 and the forwarded ports), never through
 * the QemuMachine handle.
 */
describe('ssh backend on an emulated rpi4', () => {
  let ctx: RunContext;
  let board: QemuMachine;
  let hostsFile: string;
  let host: HostEntry;
  let machine: SshMachine;
  let cluster: StartedCluster;
  /** The board's host key as its owner would read it on the console (here: through QEMU), SHA256:... */
  let hostKey: string;
  const upstream = new UpstreamDistribution();

  const writeHosts = (name: string, fields: Record<string, string | number>) => {
    const lines = Object.entries(fields).map(([k, v]) => `    ${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`);
    const path = join(ctx.runDir, 'secrets', name);
    writeFileSync(path, `hosts:\n  - name: ${board.name}\n${lines.join('\n')}\n    role: control-plane\n    ports: { ${API_PORT}: ${board.hostEndpoint(API_PORT).port} }\n`);
    return path;
  };

  beforeAll(async () => {
    ctx = newRunContext('ssh-backend');
    const key = generateSshKey('edgeproof-ssh-backend-test');
    board = await bootBoard(ctx, 'rpi4', key, [API_PORT]);
    mkdirSync(join(ctx.runDir, 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(join(ctx.runDir, 'secrets', 'id_ed25519'), key.privateKey, { mode: 0o600 });
    const publicKey = (await board.exec('cat /etc/ssh/ssh_host_ed25519_key.pub')).stdout;
    hostKey = execFileSync('ssh-keygen', ['-lf', '-'], { input: publicKey, encoding: 'utf8' }).split(' ')[1]!;
    hostsFile = writeHosts('hosts.yaml', { address: '127.0.0.1', port: board.hostEndpoint(22).port, user: 'root', key: 'id_ed25519', arch: 'arm64', hostKey });
    host = loadHostsFile(hostsFile)[0]!;
    machine = (await openSshHosts(ctx, [host], upstream.requirements))[0]!;
  });

  afterAll(async () => {
    await ctx?.dispose();
    expect(qemuProcesses(ctx.tag)).toEqual([]);
  });

  it('checks the host as a real board: arm64, memory, memory cgroup, root, the runtime commands', async () => {
    const facts = await machine.checkPrerequisites(upstream.requirements);
    expect(facts).toMatchObject({ machine: 'aarch64', arch: 'arm64', memoryController: true, privilege: 'root', systemd: false });
    expect(facts.memTotalMiB).toBeGreaterThan(1500);
    expect(machine.address).toBe('10.0.2.15');
    expect(machine.hostEndpoint(API_PORT)).toEqual({ host: '127.0.0.1', port: board.hostEndpoint(API_PORT).port });
  });

  it('names the host and the fix for a wrong arch, too little memory, a refused key', async () => {
    await expect(machine.checkPrerequisites({ ...upstream.requirements, minMemoryMiB: 64 * 1024 })).rejects.toThrow(
      new RegExp(`on host "${board.name}" \\(root@127\\.0\\.0\\.1:\\d+\\): 65536 MiB of memory \\(has \\d+ MiB\\)`),
    );
    const wrongArch = loadHostsFile(writeHosts('hosts-amd64.yaml', { address: '127.0.0.1', port: board.hostEndpoint(22).port, key: 'id_ed25519', arch: 'amd64', hostKey }))[0]!;
    const amd = await SshMachine.connect(ctx, wrongArch);
    await expect(amd.checkPrerequisites(upstream.requirements)).rejects.toThrow(UsageError);
    await expect(amd.checkPrerequisites(upstream.requirements)).rejects.toThrow(/is aarch64, but .*hosts-amd64\.yaml:2 says arch: amd64/);
    await amd.dispose();

    writeFileSync(join(ctx.runDir, 'secrets', 'other_key'), generateSshKey('not-authorized').privateKey, { mode: 0o600 });
    const refused = loadHostsFile(writeHosts('hosts-refused.yaml', { address: '127.0.0.1', port: board.hostEndpoint(22).port, key: 'other_key', arch: 'arm64', hostKey }))[0]!;
    const error = await SshMachine.connect(ctx, refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`SSH host "${board.name}" (root@127.0.0.1:${board.hostEndpoint(22).port}) refused the key ${join(ctx.runDir, 'secrets', 'other_key')}`);
    expect((error as UsageError).hint).toContain('ssh-copy-id');
  });

  it('reaches the board only once it proves the pinned key or the one known_hosts lists for it (ssh-keyscan)', async () => {
    const port = board.hostEndpoint(22).port;
    const unpinned = loadHostsFile(writeHosts('hosts-unpinned.yaml', { address: '127.0.0.1', port, key: 'id_ed25519', arch: 'arm64' }))[0]!;
    const knownHosts = join(ctx.runDir, 'secrets', 'known_hosts');
    writeFileSync(knownHosts, '');
    const unknown = await SshMachine.connect(ctx, unpinned, { knownHostsFiles: [knownHosts] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UsageError);
    expect((unknown as UsageError).message).toContain(`is not known: its ssh-ed25519 key ${hostKey} is neither pinned`);

    const otherPin = 'SHA256:' + 'A'.repeat(43);
    const pinnedOther = loadHostsFile(writeHosts('hosts-other-pin.yaml', { address: '127.0.0.1', port, key: 'id_ed25519', arch: 'arm64', hostKey: otherPin }))[0]!;
    await expect(SshMachine.connect(ctx, pinnedOther)).rejects.toThrow(`presented the ssh-ed25519 key ${hostKey}, but ${pinnedOther.source} pins ${otherPin}`);

    const { stdout: scanned } = await promisify(execFile)('ssh-keyscan', ['-T', '60', '-t', 'ed25519', '-p', String(port), '127.0.0.1'], { encoding: 'utf8' });
    writeFileSync(knownHosts, scanned);
    const known = await SshMachine.connect(ctx, unpinned, { knownHostsFiles: [knownHosts] });
    expect(known.address).toBe('10.0.2.15');
    await known.dispose();
  });

  it('finds the payloads already on the board (same files and sizes) and leaves them', async () => {
    for (const payload of await upstream.diskPayloads(ctx, 'arm64')) expect(await syncPayload(ctx, machine, payload)).toBe('unchanged');
  });

  it('forms the upstream cluster through SshMachine and passes the smoke suite', async () => {
    cluster = await upstream.formCluster(ctx, [machine], { controlPlanes: 1, workers: 0 });
    expect(cluster.nodes[0]!.machine).toBe(machine);
    await runSmokeSuite(ctx, cluster);
    const checks = ctx.events.events.filter((e) => e.type === 'check') as { id: string; verdict: string; reason?: string }[];
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    for (const id of ['BOOT-1', 'BOOT-3', 'SMOKE-1', 'SMOKE-2', 'SMOKE-3', 'BOOT-2']) expect(byId[id], `${id}: ${byId[id]?.reason}`).toMatchObject({ verdict: 'pass' });
  });

  it('partitions with rules tagged by the run, heals them, and dispose removes any left', async () => {
    const tag = firewallTag(ctx.tag);
    const tagged = async (probe: SshMachine) => (await probe.exec(listTaggedCommand('iptables', tag))).stdout.trim();
    await machine.partition(['198.51.100.7']);
    expect((await tagged(machine)).split('\n')).toHaveLength(2);
    await machine.heal();
    expect(await tagged(machine)).toBe('');

    const second = await SshMachine.connect(ctx, host);
    await second.partition(['198.51.100.8']);
    expect(await tagged(second)).toContain('198.51.100.8');
    await second.dispose();
    expect(await tagged(machine)).toBe('');
    await expect(machine.partition(['127.0.0.1', '10.0.2.2'])).rejects.toThrow(/cut the harness's own SSH connection/);
  });

  it('has no power-off without a user command: not applicable, not faked', async () => {
    expect(machine.capabilities.has('power-off')).toBe(false);
    await expect(machine.powerOff()).rejects.toThrow(PrerequisiteMissingError);
    await expect(machine.freeze()).rejects.toMatchObject({ code: 'PREREQUISITE_MISSING', hint: expect.stringMatching(/cannot be paused/) });
  });
});
