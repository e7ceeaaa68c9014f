import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../core/context.js';
import { allOrFirstError } from '../core/concurrency.js';
import { hostArch, type Board } from '../emulation/boards.js';
import { ContainerNetwork } from '../emulation/container/container-network.js';
import { ContainerNode, type ContainerMachine } from '../emulation/container/container-node.js';
import { ensureNodeImage } from '../emulation/container/node-image.js';
import { generateSshKey, type SshKeyPair } from '../emulation/guest/ssh-connection.js';
import { ensureGuestImages } from '../emulation/images/guest-images.js';
import { PrivateNetwork } from '../emulation/qemu/private-network.js';
import { QemuBoard, type GuestImages, type QemuMachine } from '../emulation/qemu/qemu-board.js';
import type { Distribution, Topology } from '../distros/distribution.js';
import { API_PORT } from '../distros/upstream/upstream-distribution.js';

/** Node names in the outside world: ep-<tag>-cp-0, ep-<tag>-w-0 (unique per run, found by the reaper). */
export function nodeNames(tag: string, topology: Topology): string[] {
  return [
    ...Array.from({ length: topology.controlPlanes }, (_, i) => `ep-${tag}-cp-${i}`),
    ...Array.from({ length: topology.workers }, (_, i) => `ep-${tag}-w-${i}`),
  ];
}

/** Per-board size when not the board's own: memory as typed ('2G'), vCPUs. */
export interface MachineSizing {
  memory?: string | undefined;
  cpus?: number | undefined;
}

/**
 * Emulated boards: images built or verified, then one board per node, all
 * booting at once; several boards share a private segment on 127.0.0.1.
 */
export async function startQemuMachines(ctx: RunContext, board: Board, distribution: Distribution, topology: Topology, sizing: MachineSizing = {}, prepared?: GuestImages, sshKey?: SshKeyPair): Promise<QemuMachine[]> {
  const images = prepared ?? (await prepareQemuImages(ctx, board, distribution));
  const key = sshKey ?? runSshKey(ctx);
  const names = nodeNames(ctx.tag, topology);
  const network = names.length > 1 ? await PrivateNetwork.start(ctx, names) : undefined;
  return allOrFirstError(
    names.map((name, index) =>
      ctx.phase('boot', ctx.scaled(30_000) + 15_000, () => {
        const builder = new QemuBoard(board).withName(name).withMemory(sizing.memory).withCpus(sizing.cpus).withImages(images).withSshKey(key).withForwardedPorts(API_PORT);
        return (network ? builder.withPrivateNetwork(network, index) : builder).start(ctx);
      }, name),
    ),
  );
}

/** The boot kit and base disk of the distribution for the board's architecture, built or verified. */
export function prepareQemuImages(ctx: RunContext, board: Board, distribution: Distribution): Promise<GuestImages> {
  return ctx.phase('prepare images', 90 * 60_000, async () => {
    const payloads = await distribution.diskPayloads(ctx, board.arch);
    return ensureGuestImages(ctx, { arch: board.arch, packages: distribution.guestPackages(board.arch), payloads });
  });
}

/** The run's own SSH key, kept 0600 in its secrets while it runs (a snapshot's guests are moved over to it). */
export function runSshKey(ctx: RunContext): SshKeyPair {
  const key = generateSshKey(`edgeproof-${ctx.runId}`);
  writeFileSync(join(ctx.secretsDir(), 'ssh_key'), key.privateKey, { mode: 0o600 });
  return key;
}

/** Node containers on the cluster's own internal Docker network, all started at once. */
export async function startContainerMachines(ctx: RunContext, distribution: Distribution, topology: Topology): Promise<ContainerMachine[]> {
  const arch = hostArch();
  const image = await ctx.phase('prepare images', 90 * 60_000, async () => {
    const payloads = await distribution.diskPayloads(ctx, arch);
    return ensureNodeImage(ctx, { arch, packages: distribution.guestPackages(arch), payloads });
  });
  const network = await ctx.phase('create network', 30_000, () => ContainerNetwork.create(ctx, `ep-${ctx.tag}`));
  return allOrFirstError(
    nodeNames(ctx.tag, topology).map((name, index) =>
      ctx.phase('start node container', ctx.scaled(30_000) + 15_000, () => new ContainerNode(image).withName(name).withNetwork(network, index).start(ctx), name),
    ),
  );
}
