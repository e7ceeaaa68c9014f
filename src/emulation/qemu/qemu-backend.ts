import type { RunContext } from '../../core/context.js';
import { allOrFirstError } from '../../core/concurrency.js';
import { checkCacheDisk, checkFreeMemory, nodeNames, variantOf, type Backend, type HostDescription, type MachineRecipe, type MachineSpec } from '../backend.js';
import type { Board } from '../boards.js';
import { runSshKey, type SshKeyPair } from '../guest/ssh-key.js';
import { ensureGuestImages } from '../images/guest-images.js';
import { detectAccel, qemuVersion } from './host-probe.js';
import { PrivateNetwork } from './private-network.js';
import { QemuBoard, type GuestImages, type QemuMachine } from './qemu-board.js';

/** Timeout scale when the user gives none (checks.md): native 1, KVM 3, TCG of a foreign architecture 8. */
export function defaultTimeoutScale(board: Board, accel: 'kvm' | 'tcg'): number {
  if (accel === 'kvm') return 3;
  return board.kvmCapable ? 4 : 8;
}

/** The boot kit and base disk of the recipe for the board's architecture, built or verified. */
export function prepareQemuImages(ctx: RunContext, board: Board, recipe: MachineRecipe): Promise<GuestImages> {
  return ctx.phase('prepare images', 90 * 60_000, async () => {
    const payloads = await recipe.payloads(ctx, board.arch);
    return ensureGuestImages(ctx, { arch: board.arch, packages: recipe.packages(board.arch), payloads, ...variantOf(recipe, board.arch) });
  });
}

/** A board of the spec's size that forwards SSH and the recipe's ports to 127.0.0.1. */
export function qemuBoardFor(spec: MachineSpec, recipe: Pick<MachineRecipe, 'ports'>, name: string, images: GuestImages, key: SshKeyPair): QemuBoard {
  return new QemuBoard(spec.board)
    .withName(name)
    .withMemory(`${spec.memoryMiB}M`)
    .withCpus(spec.cpus)
    .withImages(images)
    .withSshKey(key)
    .withForwardedPorts(...recipe.ports);
}

/**
 * Emulated boards: images built or verified (unless `prepared`), then one
 * board per node, all booting at once; several boards share a private
 * segment on 127.0.0.1.
 */
export async function startQemuMachines(ctx: RunContext, spec: MachineSpec, recipe: MachineRecipe, prepared?: { images: GuestImages; key: SshKeyPair }): Promise<QemuMachine[]> {
  const images = prepared?.images ?? (await prepareQemuImages(ctx, spec.board, recipe));
  const key = prepared?.key ?? runSshKey(ctx);
  const names = nodeNames(ctx.tag, spec.nodes);
  const network = names.length > 1 ? await PrivateNetwork.start(ctx, names) : undefined;
  return allOrFirstError(
    names.map((name, index) =>
      ctx.phase('boot', ctx.scaled(30_000) + 15_000, () => {
        const builder = qemuBoardFor(spec, recipe, name, images, key);
        return (network ? builder.withPrivateNetwork(network, index) : builder).start(ctx);
      }, name),
    ),
  );
}

async function describeQemuHost(spec: MachineSpec): Promise<HostDescription> {
  const { board } = spec;
  const qemu = await qemuVersion(board.qemuBinary);
  const accel = await detectAccel(board);
  return {
    label: `${board.name} (${accel.accel}: ${accel.reason})`,
    defaultTimeoutScale: defaultTimeoutScale(board, accel.accel),
    environment: { qemuVersion: qemu, accel: accel.accel, accelReason: accel.reason, board: board.name, boardMemoryMiB: spec.memoryMiB, arch: board.arch },
  };
}

export const qemuBackend: Backend = {
  name: 'qemu',
  machines: true,
  measuresBaseline: true,
  snapshots: true,
  guestArch: (spec) => spec.board.arch,
  describeHost: describeQemuHost,
  preflight(spec) {
    checkFreeMemory(spec);
    checkCacheDisk(spec.cacheDir);
  },
  startMachines: (ctx, spec, recipe) => startQemuMachines(ctx, spec, recipe),
};
