import { describe, expect, it } from 'vitest';
import { boards } from '../boards.js';
import { macFor, qemuArgs, type QemuLaunchSpec } from './qemu-args.js';

const spec = (board: QemuLaunchSpec['board']): QemuLaunchSpec => ({
  board,
  name: 'ep-1234abcd-cp-0',
  memoryMiB: board.memoryMiB,
  accel: 'tcg',
  bootKit: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', dtbDir: '/k/dtbs' },
  disk: '/d/disk.qcow2',
  consoleLog: '/r/console.log',
  qmpSocket: '/s/qmp.sock',
  pidFile: '/s/qemu.pid',
  forwards: [{ guestPort: 22, hostPort: 40022 }, { guestPort: 6443, hostPort: 46443 }],
  mac: '52:54:00:aa:bb:cc',
  kernelParams: ['ep.hostname=ep-1234abcd-cp-0'],
});

const after = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

describe('qemuArgs', () => {
  it('restricts user networking and binds every forward to 127.0.0.1', () => {
    const [netdev] = after(qemuArgs(spec(boards.rpi4)), '-netdev');
    expect(netdev).toContain('restrict=on');
    expect(netdev).toContain('hostfwd=tcp:127.0.0.1:40022-:22');
    expect(netdev).toContain('hostfwd=tcp:127.0.0.1:46443-:6443');
    expect(netdev!.match(/hostfwd=tcp::/)).toBeNull();
  });

  it('rpi4 is virt + cortex-a72 with virtio disk and NIC', () => {
    const args = qemuArgs(spec(boards.rpi4));
    expect(after(args, '-machine')).toEqual(['virt']);
    expect(after(args, '-cpu')).toEqual(['cortex-a72']);
    expect(after(args, '-smp')).toEqual(['4']);
    expect(after(args, '-device')).toEqual(['virtio-blk-pci,drive=hd0', 'virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:cc', 'virtio-rng-pci']);
    expect(after(args, '-append')[0]).toMatch(/^console=ttyAMA0 root=\/dev\/vda rw /);
  });

  it('rpi3b is the raspi3b model with its device tree, an SD card and USB networking', () => {
    const args = qemuArgs(spec(boards.rpi3b));
    expect(after(args, '-machine')).toEqual(['raspi3b']);
    expect(after(args, '-dtb')).toEqual(['/k/dtbs/bcm2837-rpi-3-b.dtb']);
    expect(after(args, '-drive')[0]).toMatch(/^file=\/d\/disk.qcow2,if=sd,/);
    expect(after(args, '-device')).toEqual(['usb-net,netdev=n0,mac=52:54:00:aa:bb:cc']);
    expect(args).not.toContain('-smp');
    expect(after(args, '-append')[0]).toContain('root=/dev/mmcblk0');
  });

  it('uses the accelerator it is given and never a default one', () => {
    expect(after(qemuArgs({ ...spec(boards['x86-vm']), accel: 'kvm' }), '-accel')).toEqual(['kvm']);
    expect(after(qemuArgs(spec(boards['x86-vm'])), '-accel')).toEqual(['tcg,thread=multi']);
  });
});

describe('macFor', () => {
  it('gives a stable, locally administered unicast MAC per seed', () => {
    expect(macFor('run/a')).toBe(macFor('run/a'));
    expect(macFor('run/a')).not.toBe(macFor('run/b'));
    expect(macFor('x')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});
