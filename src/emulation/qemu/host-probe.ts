import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { execa } from 'execa';
import type { Board } from '../boards.js';
import { PrerequisiteMissingError } from '../../core/errors.js';
import { cacheDir } from '../../core/paths.js';

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
 * architecture matches the board, QEMU can initialise it, and a cached
 * kernel of the board's architecture starts under it (nested KVM is often
 * present but broken). Detected once per binary and process, never assumed.
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
  // Nested KVM can initialise and run firmware, yet hang every Linux guest
  // (seen with kvm-pvm: SeaBIOS runs, the kernel never prints): boot one.
  const kernel = cachedKernel(board.arch);
  if (!kernel) return { accel: 'tcg', reason: `KVM not verified: no ${board.arch} kernel cached yet to boot under it (the next run checks again)` };
  return (await linuxStartsUnderKvm(board, kernel))
    ? { accel: 'kvm', reason: 'KVM works (a Linux kernel started under it)' }
    : { accel: 'tcg', reason: `KVM present but a Linux kernel does not start under it (no console output within ${KVM_BOOT_PROBE_MS / 1000}s; nested KVM?)` };
}

const KVM_BOOT_PROBE_MS = 5_000; // a working KVM prints the banner in well under a second

/** A kernel for `arch` from the image cache (the boot kits), if one was built. */
function cachedKernel(arch: string): string | undefined {
  const root = join(cacheDir(), 'artifacts', 'kernel');
  if (!existsSync(root)) return undefined;
  for (const dir of readdirSync(root)) {
    const version = join(root, dir, 'kernel-version');
    const kernel = join(root, dir, 'vmlinuz');
    if (existsSync(version) && existsSync(kernel) && readFileSync(version, 'utf8').trim().endsWith(`-${arch}`)) return kernel;
  }
  return undefined;
}

/** Boots `kernel` under KVM with early console output; true once it prints its banner. */
async function linuxStartsUnderKvm(board: Board, kernel: string): Promise<boolean> {
  const child = execa(board.qemuBinary, [
    '-machine', board.machine, '-cpu', board.cpu, '-accel', 'kvm', '-m', '256M', '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', 'stdio', '-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1',
  ], { reject: false, timeout: KVM_BOOT_PROBE_MS, stdin: 'ignore', stderr: 'ignore' });
  return new Promise<boolean>((resolve) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Linux version')) {
        resolve(true);
        child.kill('SIGKILL');
      }
    });
    void child.then(() => resolve(false));
  });
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
