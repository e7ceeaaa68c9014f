import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunContext } from '../core/context.js';
import { silentProgress } from '../core/progress.js';
import { distributionByName } from '../distros/registry.js';
import { boardByName } from '../emulation/boards.js';
import { generateSshKey } from '../emulation/guest/ssh-key.js';
import { startQemuMachines } from '../emulation/qemu/qemu-backend.js';
import type { GuestImages } from '../emulation/qemu/qemu-board.js';
import { machineRecipe } from './run-spec.js';

/**
 * The guest ports a QEMU board forwards are its distribution's own: each
 * board is launched for real (a blank kernel that never boots) and the QEMU
 * command line it was started with is read back from the run's events.
 */

const board = boardByName('rpi4');
let root: string;
let images: GuestImages;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ep-forwarded-ports-'));
  writeFileSync(join(root, 'vmlinuz'), Buffer.alloc(64 * 1024));
  writeFileSync(join(root, 'initrd.img'), Buffer.alloc(4096));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'base.qcow2'), '16M']);
  images = { bootKit: { kernel: join(root, 'vmlinuz'), initrd: join(root, 'initrd.img') }, baseDisk: join(root, 'base.qcow2'), sha256: { kernel: '0', initrd: '0', baseDisk: '0' }, kernelParams: [] };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The guest ports of the -netdev user forwards of the QEMU the run launched for `distro`. */
async function forwardedGuestPorts(distro: string): Promise<number[]> {
  const ctx = new RunContext({ runDir: join(root, distro), cacheDir: join(root, 'cache'), timeoutScale: 1, progress: silentProgress });
  let command = '';
  ctx.events.onEvent((event) => {
    if (event.type !== 'command' || !event.command.startsWith(board.qemuBinary)) return;
    command = event.command;
    // The command line is all this test needs: stop waiting for a guest that never boots.
    ctx.abort(new Error('launched'));
  });
  try {
    const spec = { board, memoryMiB: board.memoryMiB, nodes: { controlPlanes: 1, workers: 0 } };
    await expect(startQemuMachines(ctx, spec, machineRecipe(distributionByName(distro)), { images, key: generateSshKey('test') })).rejects.toThrow();
  } finally {
    await ctx.dispose();
  }
  return [...command.matchAll(/hostfwd=tcp:127\.0\.0\.1:\d+-:(\d+)/g)].map((match) => Number(match[1]));
}

describe('ports a QEMU board forwards to the harness', () => {
  it('MicroK8s: SSH and its API server on 16443', async () => {
    expect(await forwardedGuestPorts('microk8s')).toEqual([22, 16443]);
  });

  it('minikube: SSH and its API server on 8443', async () => {
    expect(await forwardedGuestPorts('minikube')).toEqual([22, 8443]);
  });

  it('K3s and upstream: SSH and 6443', async () => {
    expect(await forwardedGuestPorts('k3s')).toEqual([22, 6443]);
    expect(await forwardedGuestPorts('upstream')).toEqual([22, 6443]);
  });
});
