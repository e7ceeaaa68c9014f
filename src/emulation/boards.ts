import { UsageError } from '../core/errors.js';

export type Arch = 'arm64' | 'amd64';

/** The architecture of this host: what node containers run at. */
export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

/**
 * A board is data: how QEMU emulates it and what the guest sees. The harness
 * never branches on a board name, only on these fields.
 */
export interface Board {
  name: string;
  description: string;
  arch: Arch;
  /** QEMU binary and machine model. */
  qemuBinary: 'qemu-system-aarch64' | 'qemu-system-x86_64';
  machine: string;
  cpu: string;
  cpus: number;
  /** Default memory in MiB and what the model allows. */
  memoryMiB: number;
  memoryChoicesMiB: number[];
  /** How the root disk is attached and how the kernel names it. */
  disk: 'virtio' | 'sd';
  rootDevice: string;
  /** How the NIC is attached. */
  nic: 'virtio' | 'usb-net';
  console: string;
  /** Device tree from the kernel package, for models that need one. */
  dtb?: string;
  /** True for models without PSCI power-off: the guest halts and the harness must end QEMU. */
  haltsInsteadOfPowerOff: boolean;
  /** KVM is usable only when the host architecture matches. */
  kvmCapable: boolean;
}

const rpi4 = {
  name: 'rpi4',
  description: 'Raspberry Pi 4-class: QEMU virt + Cortex-A72, 4 cores, virtio disk and NIC',
  arch: 'arm64',
  qemuBinary: 'qemu-system-aarch64',
  machine: 'virt',
  cpu: 'cortex-a72',
  cpus: 4,
  memoryMiB: 2048,
  memoryChoicesMiB: [1024, 2048, 4096, 8192],
  disk: 'virtio',
  rootDevice: '/dev/vda',
  nic: 'virtio',
  console: 'ttyAMA0',
  haltsInsteadOfPowerOff: false,
  kvmCapable: false,
} as const satisfies Board;

export const boards = {
  rpi4,
  rpi3b: {
    name: 'rpi3b',
    description: 'Raspberry Pi 3 Model B: QEMU raspi3b, 4x Cortex-A53, 1 GiB, SD card, USB network',
    arch: 'arm64',
    qemuBinary: 'qemu-system-aarch64',
    machine: 'raspi3b',
    cpu: 'cortex-a53',
    cpus: 4,
    memoryMiB: 1024,
    memoryChoicesMiB: [1024],
    disk: 'sd',
    rootDevice: '/dev/mmcblk0',
    nic: 'usb-net',
    console: 'ttyAMA0',
    dtb: 'bcm2837-rpi-3-b.dtb',
    haltsInsteadOfPowerOff: true,
    kvmCapable: false,
  },
  'arm64-virt': {
    ...rpi4,
    name: 'arm64-virt',
    description: 'Generic arm64 VM: QEMU virt + Cortex-A72, 2 cores',
    cpus: 2,
  },
  'x86-vm': {
    name: 'x86-vm',
    description: 'x86-64 VM: QEMU q35, 2 cores, KVM where it works, TCG otherwise',
    arch: 'amd64',
    qemuBinary: 'qemu-system-x86_64',
    machine: 'q35',
    cpu: 'max',
    cpus: 2,
    memoryMiB: 2048,
    memoryChoicesMiB: [1024, 2048, 4096, 8192],
    disk: 'virtio',
    rootDevice: '/dev/vda',
    nic: 'virtio',
    console: 'ttyS0',
    haltsInsteadOfPowerOff: false,
    kvmCapable: process.arch === 'x64',
  },
} as const satisfies Record<string, Board>;

export type BoardName = keyof typeof boards;
export const boardNames = Object.keys(boards) as BoardName[];

export function boardByName(name: string): Board {
  const board = (boards as Record<string, Board>)[name];
  if (!board) {
    throw new UsageError(`Unknown board "${name}"`, `valid boards: ${boardNames.join(', ')} (see \`edgeproof boards\`)`);
  }
  return board;
}

/** Parses a vCPU count: a whole number from 1 to the board's cores (fewer ease a host with few cores running several boards). */
export function boardCpus(board: Board, text?: string): number {
  if (text === undefined) return board.cpus;
  const cpus = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || cpus < 1 || cpus > board.cpus) {
    throw new UsageError(`Board ${board.name} cannot have "${text}" CPUs`, `give a whole number from 1 to ${board.cpus} (the board's cores)`);
  }
  return cpus;
}

/** Parses '2G', '2048M', '2048' (MiB) and checks it against what the board allows. */
export function boardMemory(board: Board, text?: string): number {
  if (!text) return board.memoryMiB;
  const match = /^(\d+)\s*([GM]i?B?)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`Invalid memory size "${text}"`, 'write it like "2G" or "2048M"');
  const mib = Number(match[1]) * (match[2]?.toUpperCase().startsWith('G') ? 1024 : 1);
  if (!board.memoryChoicesMiB.includes(mib)) {
    throw new UsageError(
      `Board ${board.name} cannot have ${text} of memory`,
      `choose one of ${board.memoryChoicesMiB.map((m) => (m >= 1024 ? `${m / 1024}G` : `${m}M`)).join(', ')}`,
    );
  }
  return mib;
}
