import type { Board } from '../boards.js';

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
  /** Extra kernel parameters (ep.hostname=..., ep.authkey=...). */
  kernelParams: string[];
  /** Extra arguments (private network NICs, -loadvm...). */
  extraArgs?: string[];
}

/**
 * The QEMU command line for a board, as data. User-mode networking is
 * `restrict=on`: the guest reaches nothing off the machine, while the
 * host forwards (127.0.0.1 only) still work.
 */
export function qemuArgs(spec: QemuLaunchSpec): string[] {
  const { board } = spec;
  const forwards = spec.forwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join(',');
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
    '-serial', `file:${spec.consoleLog}`,
    '-qmp', `unix:${spec.qmpSocket},server=on,wait=off`,
    '-pidfile', spec.pidFile,
    '-kernel', spec.bootKit.kernel,
    '-initrd', spec.bootKit.initrd,
    '-append', append,
    ...(board.dtb ? ['-dtb', `${spec.bootKit.dtbDir}/${board.dtb}`] : []),
    ...diskArgs(board, spec.disk),
    '-netdev', netdev,
    ...nicArgs(board, spec.mac),
    ...(board.machine === 'raspi3b' ? [] : ['-device', 'virtio-rng-pci']),
    ...(spec.extraArgs ?? []),
  ];
}

function diskArgs(board: Board, disk: string): string[] {
  if (board.disk === 'sd') return ['-drive', `file=${disk},if=sd,format=qcow2`];
  return ['-drive', `file=${disk},if=none,id=hd0,format=qcow2,discard=unmap`, '-device', 'virtio-blk-pci,drive=hd0'];
}

function nicArgs(board: Board, mac: string): string[] {
  if (board.nic === 'usb-net') return ['-device', `usb-net,netdev=n0,mac=${mac}`];
  return ['-device', `virtio-net-pci,netdev=n0,mac=${mac}`];
}

/** A locally administered unicast MAC derived from a name (unique per machine per run). */
export function macFor(seed: string): string {
  let hash = 0x811c9dc5;
  for (const ch of seed) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const bytes = [0x52, 0x54, 0x00, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
