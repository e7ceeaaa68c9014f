import { describe, expect, it } from 'vitest';
import { boards } from '../emulation/boards.js';
import { nodeInit } from '../emulation/container/node-image.js';
import { nodeHostSettings } from '../emulation/container/node-privileges.js';
import { stopTimeoutS } from '../emulation/container/container-node.js';
import { rootfsBuild } from '../emulation/images/guest-images.js';
import { qemuArgs, type QemuLaunchSpec } from '../emulation/qemu/qemu-args.js';
import { firstBootKernelParams } from '../emulation/qemu/qemu-board.js';
import { MASKED_UNITS, SYSTEMD_CGROUP_PARAM, SYSTEMD_INIT_PARAM } from './guest-variants.js';
import { distributionByName } from './registry.js';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEdgeproofGoldenKeyForTheKernelCommandLine0 test';

describe('systemd guest variants of K3s, MicroK8s and minikube', () => {
  it.each(['k3s', 'microk8s', 'minikube'])('%s boots systemd: init, first-boot units, hooks and size reach the root filesystem build', (name) => {
    const image = distributionByName(name).guestImage!('arm64');
    expect(image.init).toBe('systemd');
    expect(image.kernelParams).toEqual([SYSTEMD_INIT_PARAM, SYSTEMD_CGROUP_PARAM]);
    const build = rootfsBuild('arm64', image.packages, image);
    expect(build.packages).toEqual(expect.arrayContaining(['systemd', 'systemd-sysv', 'openssh-server']));
    expect(build.files.map((f) => f.path)).toEqual(['/etc/systemd/system/edgeproof-firstboot.service', '/etc/systemd/system/edgeproof-ready.service']);
    expect(build.hooks[0]).toMatch(/^systemctl --root="\$1" enable ssh\.service edgeproof-firstboot\.service edgeproof-ready\.service/);
    expect(build.hooks[1]).toBe(`systemctl --root="$1" mask ${Object.keys(MASKED_UNITS).join(' ')}`);
  });

  it('MicroK8s enables snapd by its socket on an 8 GiB disk', () => {
    const image = distributionByName('microk8s').guestImage!('amd64');
    expect(image.packages).toContain('snapd');
    expect(image.customizeHooks[0]).toContain('snapd.socket');
    expect(image.size).toBe('8G');
  });

  it('upstream keeps the fast init (no guest image variant)', () => {
    expect(distributionByName('upstream').guestImage).toBeUndefined();
  });
});

describe('a systemd board\'s kernel command line', () => {
  const launch = (kernelParams: string[]): QemuLaunchSpec => ({
    board: boards.rpi4,
    name: 'ep-1234abcd-cp-0',
    memoryMiB: boards.rpi4.memoryMiB,
    accel: 'tcg',
    bootKit: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', dtbDir: '/k/dtbs' },
    disk: '/d/disk.qcow2',
    consoleLog: '/r/console.log',
    qmpSocket: '/s/qmp.sock',
    pidFile: '/s/qemu.pid',
    forwards: [{ guestPort: 22, hostPort: 40022 }],
    mac: '52:54:00:aa:bb:cc',
    kernelParams,
  });

  it('rpi4 with the K3s image: ep.init=systemd and cgroup v2 before the first-boot parameters (golden)', async () => {
    const image = distributionByName('k3s').guestImage!('arm64');
    const args = qemuArgs(launch(firstBootKernelParams('ep-1234abcd-cp-0', PUBLIC_KEY, image.kernelParams)));
    const append = args[args.indexOf('-append') + 1]!;
    expect(append).toMatch(/ ep\.init=\/lib\/systemd\/systemd systemd\.unified_cgroup_hierarchy=1 ep\.hostname=ep-1234abcd-cp-0 ep\.authkey=/);
    await expect(`${args.join('\n')}\n`).toMatchFileSnapshot('../../fixtures/golden/qemu/rpi4-systemd.argv');
  });

  it('the fast init\'s line is unchanged: no ep.init, tini and edgeproof-init', () => {
    const args = qemuArgs(launch(firstBootKernelParams('ep-1234abcd-cp-0', PUBLIC_KEY, [])));
    expect(args[args.indexOf('-append') + 1]).not.toContain('ep.init=');
  });
});

describe('a systemd node container', () => {
  it('has systemd as PID 1 behind the container init, SIGRTMIN+3 to stop, /run/lock and time to shut down', () => {
    expect(nodeInit('systemd')).toEqual({ entrypoint: ['/usr/sbin/edgeproof-container-init', '/lib/systemd/systemd'], stopSignal: 'SIGRTMIN+3' });
    expect(nodeHostSettings('systemd').tmpfs).toHaveProperty('/run/lock');
    expect(stopTimeoutS('systemd')).toBeGreaterThan(0);
  });

  it('the fast init keeps tini, SIGTERM, no /run/lock and an immediate stop', () => {
    expect(nodeInit('edgeproof-init')).toEqual({ entrypoint: ['/usr/bin/tini', '-g', '--', '/usr/sbin/edgeproof-container-init'], stopSignal: 'SIGTERM' });
    expect(nodeHostSettings().tmpfs).not.toHaveProperty('/run/lock');
    expect(stopTimeoutS('edgeproof-init')).toBe(0);
  });
});
