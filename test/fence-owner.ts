/**
 * A run that makes a fenced node network and then waits to be killed, for
 * the sweep test in test/container-boundary.integration.test.ts:
 * `node --import tsx test/fence-owner.ts CACHE_DIR RUN_DIR`. Prints one JSON
 * line ({ runId, bridge, network }) once the fence is in place.
 */
import { RunContext } from '../src/core/context.js';
import { ContainerNetwork } from '../src/emulation/container/container-network.js';

const [cacheDir, runDir] = process.argv.slice(2);
const ctx = new RunContext({ runDir: runDir!, cacheDir: cacheDir!, progress: false });
const network = await ContainerNetwork.create(ctx, `ep-${ctx.tag}`);
console.log(JSON.stringify({ runId: ctx.runId, bridge: await network.bridge(), network: network.name }));
setInterval(() => undefined, 60_000);
