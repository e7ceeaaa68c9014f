import type { RunContext } from '../../core/context.js';
import { allOrFirstError } from '../../core/concurrency.js';
import { checkCacheDisk, nodeNames, variantOf, type Backend, type MachineRecipe, type MachineSpec } from '../backend.js';
import { hostArch } from '../boards.js';
import { ContainerNetwork } from './container-network.js';
import { ContainerNode, type ContainerMachine } from './container-node.js';
import { docker } from './docker-engine.js';
import { ensureNodeImage } from './node-image.js';

/** Node containers on the cluster's own internal Docker network, all started at once. */
export async function startContainerMachines(ctx: RunContext, spec: Pick<MachineSpec, 'nodes'>, recipe: MachineRecipe): Promise<ContainerMachine[]> {
  const arch = hostArch();
  const image = await ctx.phase('prepare images', 90 * 60_000, async () => {
    const payloads = await recipe.payloads(ctx, arch);
    return ensureNodeImage(ctx, { arch, packages: recipe.packages(arch), payloads, ...variantOf(recipe, arch) });
  });
  const init = recipe.variant?.(arch).init ?? 'edgeproof-init';
  const network = await ctx.phase('create network', 30_000, () => ContainerNetwork.create(ctx, `ep-${ctx.tag}`));
  return allOrFirstError(
    nodeNames(ctx.tag, spec.nodes).map((name, index) =>
      ctx.phase('start node container', ctx.scaled(30_000) + 15_000, () => new ContainerNode(image).withInit(init).withName(name).withNetwork(network, index).start(ctx), name),
    ),
  );
}

export const containerBackend: Backend = {
  name: 'container',
  machines: true,
  measuresBaseline: false,
  snapshots: false,
  guestArch: () => hostArch(),
  async describeHost() {
    const version = await (await docker()).version();
    return { label: `node containers (Docker ${version.Version}, ${hostArch()}, native)`, defaultTimeoutScale: 1, environment: { board: 'container', arch: hostArch(), dockerVersion: version.Version, accel: 'native' } };
  },
  preflight: (spec) => checkCacheDisk(spec.cacheDir),
  startMachines: startContainerMachines,
};
