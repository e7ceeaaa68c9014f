import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { CommandFailedError } from '../src/core/errors.js';
import type { RunContext } from '../src/core/context.js';
import { bootBoard, newRunContext, qemuProcesses } from './fixtures.js';

/** Real boots: each board to an SSH round trip, QMP stop/cont of a running guest, nothing left behind. */
describe('emulated boards', () => {
  let ctx: RunContext;
  beforeAll(() => {
    ctx = newRunContext('boards');
  });
  afterAll(async () => {
    await ctx.dispose();
    expect(qemuProcesses(ctx.tag)).toEqual([]);
    expect(existsSync(ctx.tempDir)).toBe(false);
  });

  it('rpi4 boots to SSH and QMP stop/cont freezes and thaws it', async () => {
    const machine = await bootBoard(ctx, 'rpi4');
    const { stdout } = await machine.exec('uname -m; nproc; cat /proc/device-tree/compatible | tr "\\0" " "');
    expect(stdout).toMatch(/^aarch64\n4\n.*linux,dummy-virt/);
    expect(machine.timings.sshMs).toBeGreaterThan(0);

    await machine.freeze();
    expect(await machine.status()).toBe('paused');
    // A frozen guest answers nothing: the command times out instead of running.
    await expect(machine.exec('true', { timeoutMs: 3_000 })).rejects.toBeInstanceOf(CommandFailedError);
    await machine.thaw();
    expect(await machine.status()).toBe('running');
    expect((await machine.exec('echo thawed')).stdout.trim()).toBe('thawed');

    await machine.dispose();
    expect(qemuProcesses(machine.name)).toEqual([]);
  });

  it('rpi3b boots the Raspberry Pi 3 B model with an SD card and USB network', async () => {
    const machine = await bootBoard(ctx, 'rpi3b');
    const { stdout } = await machine.exec(
      'echo "model=$(tr -d "\\0" < /proc/device-tree/model)"; echo "nics=$(ls /sys/class/net | tr "\\n" " ")"; ' +
        'echo "cpus=$(grep -c ^processor /proc/cpuinfo)"; echo "mem=$(awk "/MemTotal/ {print \\$2}" /proc/meminfo)"; echo "root=$(findmnt -no SOURCE /)"',
    );
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
    expect(value('model')).toContain('Raspberry Pi 3 Model B');
    expect(value('nics').split(' ')).toContain('usb0');
    expect(value('cpus')).toBe('4');
    expect(value('root')).toBe('/dev/mmcblk0');
    const memKiB = Number(value('mem'));
    expect(memKiB).toBeGreaterThan(800_000);
    expect(memKiB).toBeLessThan(1_048_576);
    await machine.dispose();
  });

  it('x86-vm boots to SSH', async () => {
    const machine = await bootBoard(ctx, 'x86-vm');
    const { stdout } = await machine.exec('uname -m; cat /sys/class/dmi/id/product_name 2>/dev/null || true');
    expect(stdout).toMatch(/^x86_64\n/);
    expect(stdout).toMatch(/Q35|Standard PC/);
    await machine.dispose();
  });
});
