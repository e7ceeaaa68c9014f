import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { RunContext } from '../src/core/context.js';
import { distributionByName } from '../src/distros/registry.js';
import { MASKED_UNITS, READY_LINE } from '../src/distros/guest-variants.js';
import { startContainerMachines } from '../src/emulation/container/container-backend.js';
import { docker, SESSION_LABEL, sweepContainers } from '../src/emulation/container/docker-engine.js';
import { generateSshKey, SshConnection } from '../src/emulation/guest/ssh-connection.js';
import { readSystemState, type SystemState } from '../src/emulation/guest/system-state.js';
import { ensureGuestImages } from '../src/emulation/images/guest-images.js';
import type { MachineRecipe } from '../src/emulation/backend.js';
import type { Machine } from '../src/emulation/machine.js';
import { boardByName } from '../src/emulation/boards.js';
import { QemuBoard, type QemuMachine } from '../src/emulation/qemu/qemu-board.js';
import { CONTAINER_TIMEOUT_SCALE, newRunContext, qemuProcesses } from './fixtures.js';

/** A distribution's guest image as a machine recipe with no payloads: the image alone, booted as `edgeproof run` would. */
function imageRecipe(distro: string): MachineRecipe {
  const distribution = distributionByName(distro);
  return { packages: (arch) => distribution.guestPackages(arch), variant: (arch) => distribution.guestImage!(arch), payloads: async () => [], ports: [] };
}

/** Running or degraded, and a degraded system names the units that failed. */
function expectBooted(state: SystemState): void {
  expect(['running', 'degraded']).toContain(state.state);
  if (state.state === 'degraded') expect(state.failedUnits.length).toBeGreaterThan(0);
  else expect(state.failedUnits).toEqual([]);
}

describe('systemd node container (the MicroK8s image)', () => {
  let ctx: RunContext;
  let machine: Machine;
  beforeAll(async () => {
    ctx = newRunContext('systemd-container', CONTAINER_TIMEOUT_SCALE);
    machine = (await startContainerMachines(ctx, { nodes: { controlPlanes: 1, workers: 0 } }, imageRecipe('microk8s')))[0]!;
  }, 30 * 60_000);
  afterAll(async () => {
    await ctx?.dispose();
  }, 120_000);

  it('runs systemd as PID 1, reaches SSH and reports its state with the failed units named', async () => {
    expect((await machine.exec('cat /proc/1/comm')).stdout.trim()).toBe('systemd');
    const state = await readSystemState(machine, { waitMs: ctx.scaled(120_000) });
    ctx.progress.info(`systemd node container: ${JSON.stringify(state)}`);
    expectBooted(state);
    expect((await machine.exec('systemctl is-active ssh.service edgeproof-firstboot.service edgeproof-ready.service')).stdout.split('\n').filter(Boolean)).toEqual(['active', 'active', 'active']);
    // Masked in the image, so listed as masked rather than missing from the report.
    const masked = Object.keys(MASKED_UNITS);
    expect((await machine.exec(`systemctl is-enabled ${masked.join(' ')}`, { check: false })).stdout.split('\n').filter(Boolean)).toEqual(masked.map(() => 'masked'));
    // The node's own name and address come from Docker, as on the fast image.
    expect((await machine.exec('hostname')).stdout.trim()).toBe(machine.name);

    // SSH from the host with a key the node was given, to the node's address.
    const key = generateSshKey('systemd-container');
    await machine.writeFile('/root/.ssh/authorized_keys', `${key.publicKey}\n`, 0o600);
    const ssh = await SshConnection.open({ host: machine.address, port: 22, username: 'root', privateKey: key.privateKey, where: machine.name });
    try {
      expect((await ssh.exec('systemctl is-system-running')).stdout.trim()).toBe(state.state);
    } finally {
      ssh.close();
    }
  }, 5 * 60_000);

  it('a unit that fails makes the system degraded, and the state names it', async () => {
    await machine.exec('systemd-run --unit=ep-deliberately-failed --wait /bin/false', { check: false });
    const degraded = await readSystemState(machine);
    expect(degraded).toEqual({ state: 'degraded', failedUnits: ['ep-deliberately-failed.service'] });
    await machine.exec('systemctl reset-failed ep-deliberately-failed.service');
    expect(await readSystemState(machine)).toEqual({ state: 'running', failedUnits: [] });
  }, 60_000);

  it('starts snapd (socket and service active) and seeds it (snap wait system seed.loaded)', async () => {
    await expectSnapdSeeded(ctx, machine);
  }, 5 * 60_000);

  it('stops cleanly: systemd takes SIGRTMIN+3 and the container is gone after dispose', async () => {
    const engine = await docker();
    const config = (await engine.getContainer(machine.name).inspect()).Config as { StopSignal?: string; Labels: Record<string, string> };
    expect(config.StopSignal).toBe('SIGRTMIN+3');
    // What the reaper's sweep finds a dead run's containers by.
    expect(config.Labels[SESSION_LABEL]).toBe(ctx.runId);
    const started = Date.now();
    await machine.dispose();
    // Clean, not killed at the deadline: systemd stops its units in well under the 10 s stop timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(engine.getContainer(machine.name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 60_000);
});

/** A board booted from a distribution's systemd image, as `edgeproof run` boots it (no payloads). */
async function bootSystemdBoard(ctx: RunContext, boardName: string, distro: string): Promise<QemuMachine> {
  const board = boardByName(boardName);
  const recipe = imageRecipe(distro);
  const images = await ensureGuestImages(ctx, { arch: board.arch, packages: recipe.packages(board.arch), payloads: [], variant: recipe.variant!(board.arch) });
  return new QemuBoard(board).withName(`ep-${ctx.tag}-${boardName}`).withImages(images).withSshKey(generateSshKey(`systemd-${boardName}`)).withBootBudget(60_000).start(ctx);
}

/** snapd running (socket and service) and seeded: `snap wait system seed.loaded`, its output recorded. */
async function expectSnapdSeeded(ctx: RunContext, machine: Machine): Promise<void> {
  const seeded = await machine.exec('snap wait system seed.loaded && snap version && snap changes', { timeoutMs: ctx.scaled(180_000), check: false });
  ctx.progress.info(`${machine.name}: snap wait system seed.loaded (exit ${seeded.exitCode}):\n${seeded.stdout}${seeded.stderr}`);
  expect(seeded.exitCode).toBe(0);
  expect(seeded.stdout).toMatch(/^snapd\s+\S+/m);
  expect(seeded.stdout).toMatch(/Done\s+.*Initialize system state/);
  expect((await machine.exec('systemctl is-active snapd.socket snapd.service')).stdout.split('\n').filter(Boolean)).toEqual(['active', 'active']);
}

describe('systemd boards', () => {
  let ctx: RunContext;
  beforeAll(() => {
    ctx = newRunContext('systemd-board');
  });
  afterAll(async () => {
    await ctx.dispose();
    expect(qemuProcesses(ctx.tag)).toEqual([]);
    expect(existsSync(ctx.tempDir)).toBe(false);
  }, 120_000);

  it('rpi4 (the K3s image) boots with systemd as PID 1 to SSH and reports systemctl is-system-running', async () => {
    const machine = await bootSystemdBoard(ctx, 'rpi4', 'k3s');
    expect((await machine.exec('cat /proc/1/comm; uname -m; hostname')).stdout.split('\n')).toEqual(['systemd', 'aarch64', machine.name, '']);
    const state = await readSystemState(machine, { waitMs: ctx.scaled(120_000) });
    ctx.progress.info(`systemd rpi4: ${JSON.stringify(state)}`);
    expectBooted(state);
    expect(machine.console.text).toContain(READY_LINE);
    // systemd.unified_cgroup_hierarchy=1: cgroup v2 on the board, unlike the fast init's v1.
    expect((await machine.exec('stat -fc %T /sys/fs/cgroup')).stdout.trim()).toBe('cgroup2fs');
    await machine.dispose();
    expect(qemuProcesses(machine.name)).toEqual([]);
  }, 120 * 60_000);

  it('x86-vm (the MicroK8s image) boots systemd to SSH and seeds snapd in the QEMU guest', async () => {
    const machine = await bootSystemdBoard(ctx, 'x86-vm', 'microk8s');
    expect((await machine.exec('cat /proc/1/comm; hostname')).stdout.split('\n')).toEqual(['systemd', machine.name, '']);
    const state = await readSystemState(machine, { waitMs: ctx.scaled(120_000) });
    ctx.progress.info(`systemd x86-vm: ${JSON.stringify(state)}`);
    expectBooted(state);
    await expectSnapdSeeded(ctx, machine);
    await machine.dispose();
  }, 60 * 60_000);
});

describe('the reaper and a systemd node container', () => {
  it('sweeps it by its session label, as it sweeps a dead run\'s fast-init nodes', async () => {
    const ctx = newRunContext('systemd-sweep', CONTAINER_TIMEOUT_SCALE);
    try {
      const [machine] = await startContainerMachines(ctx, { nodes: { controlPlanes: 1, workers: 0 } }, imageRecipe('microk8s'));
      expect((await machine!.exec('cat /proc/1/comm')).stdout.trim()).toBe('systemd');
      const swept = await sweepContainers(ctx.runId, { containers: [machine!.name], networks: [], cgroupDirs: [], bridgeFences: [] });
      expect(swept).toMatchObject({ containers: [machine!.name], errors: [] });
      await expect((await docker()).getContainer(machine!.name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await ctx.dispose();
    }
  }, 10 * 60_000);
});
