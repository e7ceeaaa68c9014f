import { accessSync, constants, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { execa } from 'execa';
import type { Board } from '../boards.js';
import { PrerequisiteMissingError } from '../../core/errors.js';

const apt: Record<Board['qemuBinary'], string> = {
  'qemu-system-aarch64': 'qemu-system-arm',
  'qemu-system-x86_64': 'qemu-system-x86',
};

/** QEMU's version, or a PrerequisiteMissingError naming the package to install. */
export async function qemuVersion(binary: Board['qemuBinary']): Promise<string> {
  const result = await execa(binary, ['--version'], { reject: false });
  if (result.exitCode !== 0) {
    throw new PrerequisiteMissingError(binary, `install it: apt-get install ${apt[binary]} qemu-utils`);
  }
  return /version ([\d.]+)/.exec(result.stdout)?.[1] ?? result.stdout.split('\n')[0] ?? 'unknown';
}

const kvmVerdicts = new Map<string, Promise<{ accel: 'kvm' | 'tcg'; reason: string }>>();

/**
 * KVM only when it actually works: /dev/kvm present, accessible, the host
 * architecture matches the board, and QEMU can initialise it (nested KVM is
 * often present but broken). Detected once per binary, never assumed.
 */
export function detectAccel(board: Board): Promise<{ accel: 'kvm' | 'tcg'; reason: string }> {
  const key = `${board.qemuBinary}:${board.kvmCapable}`;
  let verdict = kvmVerdicts.get(key);
  if (!verdict) {
    verdict = probeKvm(board);
    kvmVerdicts.set(key, verdict);
  }
  return verdict;
}

async function probeKvm(board: Board): Promise<{ accel: 'kvm' | 'tcg'; reason: string }> {
  if (process.env.EDGEPROOF_ACCEL === 'tcg') return { accel: 'tcg', reason: 'EDGEPROOF_ACCEL=tcg' };
  if (!board.kvmCapable) return { accel: 'tcg', reason: `host is ${process.arch}, board is ${board.arch}` };
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', reason: '/dev/kvm is absent' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is not accessible to this user' };
  }
  const probe = await execa(board.qemuBinary, ['-machine', 'none', '-accel', 'kvm', '-nodefaults', '-display', 'none', '-monitor', 'stdio'], {
    input: 'quit\n',
    reject: false,
    timeout: 10_000,
  });
  if (probe.exitCode !== 0) return { accel: 'tcg', reason: `KVM present but unusable: ${probe.stderr.trim().split('\n')[0]}` };
  return { accel: 'kvm', reason: 'KVM works' };
}

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
