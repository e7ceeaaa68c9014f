import type { Board } from '../boards.js';
import { LOOPBACK } from './ethernet-switch.js';

export interface BootKit {
  kernel: string;
  initrd: string;
  /** Directory with device trees, for boards that name one. */
  dtbDir?: string;
}

export interface QemuLaunchSpec {
  board: Board;
  name: string;
  memoryMiB: number;
  cpus?: number;
  accel: 'kvm' | 'tcg';
  bootKit: BootKit;
  disk: string;
  consoleLog: string;
  qmpSocket: string;
  pidFile: string;
  /** Guest TCP port -> host port, bound to 127.0.0.1 only. */
  forwards: { guestPort: number; hostPort: number }[];
  mac: string;
  /** A second NIC on a private segment: a `dgram` netdev between 127.0.0.1 ports. */
  privateNic?: PrivateNic;
  /** Extra kernel parameters (ep.hostname=..., ep.authkey=...). */
  kernelParams: string[];
  /** Extra arguments (private network NICs, -loadvm...). */
  extraArgs?: string[];
}

export interface PrivateNic {
  mac: string;
  /** 127.0.0.1 UDP port QEMU sends from and listens on. */
  localPort: number;
  /** 127.0.0.1 UDP port of the segment's switch. */
  hubPort: number;
}

/** QMP `set_link` names the private NIC by this device id. */
export const PRIVATE_NIC_ID = 'p0-nic';

/**
 * The QEMU command line for a board, as data. User-mode networking is
 * `restrict=on`: the guest reaches nothing off the machine, while the
 * host forwards (127.0.0.1 only) still work.
 */
export function qemuArgs(spec: QemuLaunchSpec): string[] {
  const { board } = spec;
  const forwards = spec.forwards.map((f) => `hostfwd=tcp:${LOOPBACK}:${f.hostPort}-:${f.guestPort}`).join(',');
  const netdev = `user,id=n0,restrict=on,net=10.0.2.0/24,host=10.0.2.2${forwards ? `,${forwards}` : ''}`;
  const append = [
    `console=${board.console}`,
    `root=${board.rootDevice}`,
    'rw',
    'panic=-1',
    'loglevel=4',
    ...spec.kernelParams,
  ].join(' ');
  return [
    '-name', `${spec.name},process=${spec.name}`,
    '-machine', board.machine,
    ...(board.machine === 'raspi3b' ? [] : ['-cpu', board.cpu, '-smp', String(spec.cpus ?? board.cpus)]),
    '-m', `${spec.memoryMiB}M`,
    '-accel', spec.accel === 'tcg' ? 'tcg,thread=multi' : 'kvm',
    '-nodefaults', '-no-user-config', '-display', 'none',
    // append=on: a board powered on again keeps writing the same console log (`-serial file:` truncates it).
    '-chardev', `file,id=console,path=${spec.consoleLog},append=on`,
    '-serial', 'chardev:console',
    '-qmp', `unix:${spec.qmpSocket},server=on,wait=off`,
    '-pidfile', spec.pidFile,
    '-kernel', spec.bootKit.kernel,
    '-initrd', spec.bootKit.initrd,
    '-append', append,
    ...(board.dtb ? ['-dtb', `${spec.bootKit.dtbDir}/${board.dtb}`] : []),
    ...diskArgs(board, spec.disk),
    '-netdev', netdev,
    ...nicArgs(board, 'n0', spec.mac),
    ...(spec.privateNic ? privateNicArgs(board, spec.privateNic) : []),
    ...(board.machine === 'raspi3b' ? [] : ['-device', 'virtio-rng-pci']),
    ...(spec.extraArgs ?? []),
  ];
}

function diskArgs(board: Board, disk: string): string[] {
  if (board.disk === 'sd') return ['-drive', `file=${disk},if=sd,format=qcow2`];
  return ['-drive', `file=${disk},if=none,id=hd0,format=qcow2,discard=unmap`, '-device', 'virtio-blk-pci,drive=hd0'];
}

function nicArgs(board: Board, netdev: string, mac: string, id?: string): string[] {
  const model = board.nic === 'usb-net' ? 'usb-net' : 'virtio-net-pci';
  return ['-device', `${model},netdev=${netdev}${id ? `,id=${id}` : ''},mac=${mac}`];
}

/**
 * QEMU >= 7.2 `-netdev dgram`: one Ethernet frame per UDP datagram between two
 * inet endpoints, both on 127.0.0.1 here
 * (https://www.qemu.org/docs/master/system/invocation.html, "-netdev dgram").
 * On raspi3b the second usb-net device goes behind the USB hub QEMU adds on its own.
 */
function privateNicArgs(board: Board, nic: PrivateNic): string[] {
  const local = `local.type=inet,local.host=${LOOPBACK},local.port=${nic.localPort}`;
  const remote = `remote.type=inet,remote.host=${LOOPBACK},remote.port=${nic.hubPort}`;
  return ['-netdev', `dgram,id=p0,${local},${remote}`, ...nicArgs(board, 'p0', nic.mac, PRIVATE_NIC_ID)];
}

/** Every host address a command line's netdevs bind to or send to, per netdev, to prove nothing leaves 127.0.0.1. */
export function netdevEndpoints(args: readonly string[]): { id: string; type: string; hosts: string[] }[] {
  return args
    .filter((_, i) => args[i - 1] === '-netdev')
    .map((netdev) => {
      const [type = '', ...options] = netdev.split(',');
      const hosts: string[] = [];
      let id = '';
      for (const option of options) {
        const [key = '', value = ''] = option.split(/=(.*)/s);
        if (key === 'id') id = value;
        else if (key === 'hostfwd') hosts.push(value.split(':')[1] ?? '');
        else if (key.endsWith('.host') || ['udp', 'localaddr', 'listen', 'connect', 'mcast'].includes(key)) hosts.push(value.replace(/:\d+$/, ''));
      }
      return { id, type, hosts };
    });
}

/** A locally administered unicast MAC derived from a name (unique per machine per run). */
export function macFor(seed: string): string {
  let hash = 0x811c9dc5;
  for (const ch of seed) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const bytes = [0x52, 0x54, 0x00, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
