import { describe, expect, it } from 'vitest';
import { boards } from '../boards.js';
import { macFor, netdevEndpoints, qemuArgs, type QemuLaunchSpec } from './qemu-args.js';

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
const onPrivateNetwork = (board: QemuLaunchSpec['board']): QemuLaunchSpec => ({
  ...spec(board),
  privateNic: { mac: '52:54:01:96:07:0a', localPort: 41001, hubPort: 41000 },
  kernelParams: ['ep.hostname=ep-1234abcd-cp-0', 'ep.ip1=10.150.7.10/24', 'ep.mac1=52:54:01:96:07:0a', 'ep.hosts=MTAuMTUwLjcuMTAgZXAtMTIzNGFiY2QtY3AtMAo='],
});
const golden = (name: string) => `../../../fixtures/golden/qemu/${name}.argv`;
const oneArgPerLine = (args: string[]) => `${args.join('\n')}\n`;

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

  it('keeps one console log across launches of the same board', () => {
    const args = qemuArgs(spec(boards.rpi4));
    expect(after(args, '-chardev')).toEqual(['file,id=console,path=/r/console.log,append=on']);
    expect(after(args, '-serial')).toEqual(['chardev:console']);
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

describe('qemuArgs on a private network', () => {
  it('rpi4: a dgram netdev between two 127.0.0.1 ports and a second virtio NIC named for set_link (golden)', async () => {
    const args = qemuArgs(onPrivateNetwork(boards.rpi4));
    expect(after(args, '-netdev')[1]).toBe(
      'dgram,id=p0,local.type=inet,local.host=127.0.0.1,local.port=41001,remote.type=inet,remote.host=127.0.0.1,remote.port=41000',
    );
    expect(after(args, '-device')).toContain('virtio-net-pci,netdev=p0,id=p0-nic,mac=52:54:01:96:07:0a');
    await expect(oneArgPerLine(args)).toMatchFileSnapshot(golden('rpi4-private-network'));
  });

  it('rpi3b: a second usb-net device (golden)', async () => {
    const args = qemuArgs(onPrivateNetwork(boards.rpi3b));
    expect(after(args, '-device')).toEqual(['usb-net,netdev=n0,mac=52:54:00:aa:bb:cc', 'usb-net,netdev=p0,id=p0-nic,mac=52:54:01:96:07:0a']);
    await expect(oneArgPerLine(args)).toMatchFileSnapshot(golden('rpi3b-private-network'));
  });

  it('without a private network there is no second NIC', () => {
    const args = qemuArgs(spec(boards.rpi4));
    expect(after(args, '-netdev')).toHaveLength(1);
    expect(args.join(' ')).not.toContain('p0');
  });
});

describe('netdevEndpoints', () => {
  it('finds only 127.0.0.1 in what the harness launches', () => {
    const endpoints = netdevEndpoints(qemuArgs(onPrivateNetwork(boards.rpi4)));
    expect(endpoints).toEqual([
      { id: 'n0', type: 'user', hosts: ['127.0.0.1', '127.0.0.1'] },
      { id: 'p0', type: 'dgram', hosts: ['127.0.0.1', '127.0.0.1'] },
    ]);
  });

  it('reports forwards on every interface and remote peers', () => {
    const args = [
      '-netdev', 'user,id=a,hostfwd=tcp::2222-:22,hostfwd=udp:0.0.0.0:53-:53',
      '-netdev', 'socket,id=b,udp=192.0.2.7:1234,localaddr=127.0.0.1:1235',
      '-netdev', 'dgram,id=c,local.type=inet,local.host=0.0.0.0,local.port=1,remote.type=inet,remote.host=198.51.100.1,remote.port=2',
      '-netdev', 'tap,id=d,ifname=tap0,script=no',
    ];
    expect(netdevEndpoints(args)).toEqual([
      { id: 'a', type: 'user', hosts: ['', '0.0.0.0'] },
      { id: 'b', type: 'socket', hosts: ['192.0.2.7', '127.0.0.1'] },
      { id: 'c', type: 'dgram', hosts: ['0.0.0.0', '198.51.100.1'] },
      { id: 'd', type: 'tap', hosts: [] },
    ]);
  });
});
