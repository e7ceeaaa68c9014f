import type Dockerode from 'dockerode';
import type { RunContext } from '../../core/context.js';
import { EdgeproofError } from '../../core/errors.js';
import { once } from '../../core/scope.js';
import { fencesFor, installFence, removeFence, type BridgeFence } from './bridge-fence.js';
import { docker, SESSION_LABEL } from './docker-engine.js';

/**
 * A cluster's private network on the container backend: an `--internal`
 * Docker bridge (no route off the machine, no masquerade) with its own /24,
 * so nodes get static addresses that survive a stop and start. The host
 * reaches node addresses over the bridge; nothing is published on a host port,
 * and the nodes reach nothing on the host (bridge-fence.ts).
 */
export class ContainerNetwork {
  private constructor(
    readonly name: string,
    readonly subnet: string,
    private readonly network: Dockerode.Network,
  ) {}

  /** The address of node `index` (0-based): .10, .11, ... */
  address(index: number): string {
    return this.subnet.replace(/\.0\/24$/, `.${10 + index}`);
  }

  get id(): string {
    return this.network.id;
  }

  static async create(ctx: RunContext, name: string): Promise<ContainerNetwork> {
    const network = await ContainerNetwork.#onFreeSubnet(ctx, name);
    await fenceOffHost(ctx, network);
    return network;
  }

  static async #onFreeSubnet(ctx: RunContext, name: string): Promise<ContainerNetwork> {
    const engine = await docker();
    // Recorded before it exists: the sweep of a run killed meanwhile finds it by its label.
    ctx.session.track('networks', name);
    for (const subnet of candidateSubnets(ctx.tag)) {
      try {
        const network = await engine.createNetwork({
          Name: name,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          IPAM: { Config: [{ Subnet: subnet }] },
          Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
          Labels: { [SESSION_LABEL]: ctx.runId },
        });
        const handle = new ContainerNetwork(name, subnet, network);
        ctx.scope.defer(`network ${name}`, () => handle.dispose());
        return handle;
      } catch (error) {
        // Another run (or another Docker network) owns this subnet: try the next.
        if (/overlap|in use/i.test((error as Error).message)) continue;
        throw error;
      }
    }
    throw new EdgeproofError('NETWORK_UNAVAILABLE', `No free /24 for network ${name} in 172.30.0.0/15`, {
      hint: 'remove unused Docker networks (docker network prune) or run `edgeproof clean`',
    });
  }

  /** The host side of the network: Docker's default bridge name unless one was set. */
  async bridge(): Promise<string> {
    const info = await this.network.inspect();
    return info.Options?.['com.docker.network.bridge.name'] ?? `br-${this.network.id.slice(0, 12)}`;
  }

  dispose = once(async () => {
    await this.network.remove().catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
  });
}

/**
 * Each rule is recorded before it is inserted and removed before the network
 * (and after every node container, which are made later): no node ever runs
 * unfenced. iptables commits a rule whole or not at all, so a refused one is
 * not recorded.
 */
async function fenceOffHost(ctx: RunContext, network: ContainerNetwork): Promise<void> {
  for (const fence of fencesFor(await network.bridge())) {
    const isThis = (recorded: BridgeFence) => recorded.tool === fence.tool && recorded.bridge === fence.bridge;
    ctx.session.track('bridgeFences', fence);
    try {
      await installFence(fence, ctx.runId);
    } catch (error) {
      ctx.session.untrack('bridgeFences', isThis);
      throw error;
    }
    ctx.scope.defer(`${fence.tool} fence of ${fence.bridge}`, async () => {
      const errors = await removeFence(fence);
      if (errors.length > 0) throw new EdgeproofError('CLEANUP', `Host firewall rules on ${fence.bridge} not removed: ${errors.join('; ')}`);
      ctx.session.untrack('bridgeFences', isThis);
    });
  }
}

/** /24s in 172.30.0.0/15, starting at one derived from the run tag so concurrent runs rarely collide. */
export function candidateSubnets(tag: string): string[] {
  const start = Number.parseInt(tag.replace(/[^0-9a-f]/gi, '').slice(0, 4) || '0', 16) % 512;
  return Array.from({ length: 512 }, (_, i) => {
    const n = (start + i) % 512;
    return `172.${30 + (n >> 8)}.${n & 255}.0/24`;
  });
}
