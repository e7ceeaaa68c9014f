import type Dockerode from 'dockerode';
import { PrerequisiteMissingError, describeError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { ContainerSweeper } from '../../core/session.js';
import { removeFence } from './bridge-fence.js';
import { removeCgroupTree } from './cgroup-tree.js';

const log = logger('docker');

/** Every container and network the harness makes carries this label (value: the run id), for the reaper. */
export const SESSION_LABEL = 'dev.edgeproof/session';

// testcontainers' own reaper (Ryuk) is an image from Docker Hub, which these
// machines cannot pull; edgeproof's session records do the reaping instead.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

let client: Promise<Dockerode> | undefined;

/** The Docker engine through testcontainers' runtime client; a clear prerequisite error when there is none. */
export function docker(): Promise<Dockerode> {
  client ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      const runtime = await getContainerRuntimeClient();
      return runtime.container.dockerode;
    } catch (error) {
      client = undefined;
      throw new PrerequisiteMissingError(
        `a running Docker engine (${describeError(error)})`,
        'install Debian\'s docker.io and start it: `node scripts/setup.mjs` does both when run as root (or: apt-get install -y docker.io && dockerd &)',
      );
    }
  })();
  return client;
}

/** The reaper's Docker part: a stale session's containers (with their volumes), networks, node cgroups and bridge fences. */
export const sweepContainers: ContainerSweeper = async ({ containers, networks, cgroupDirs = [], bridgeFences = [] }) => {
  const errors: string[] = [];
  let engine: Dockerode | undefined;
  if (containers.length || networks.length) {
    try {
      engine = await docker();
    } catch (error) {
      return [`containers ${containers.join(', ')} not swept: ${describeError(error)}`];
    }
  }
  for (const id of containers) {
    await engine!.getContainer(id).remove({ force: true, v: true }).catch((error: { statusCode?: number; message: string }) => {
      if (error.statusCode !== 404) errors.push(`container ${id}: ${error.message}`);
    });
  }
  for (const id of networks) {
    await engine!.getNetwork(id).remove().catch((error: { statusCode?: number; message: string }) => {
      if (error.statusCode !== 404) errors.push(`network ${id}: ${error.message}`);
    });
  }
  // After the containers: a cgroup with processes in it cannot be removed.
  for (const dir of cgroupDirs) errors.push(...removeCgroupTree(dir));
  // Last: the fence keeps the host out of reach for as long as a node may still run.
  for (const fence of bridgeFences) errors.push(...(await removeFence(fence)));
  log('swept %d container(s), %d network(s), %d cgroup tree(s), %d bridge fence(s)', containers.length, networks.length, cgroupDirs.length, bridgeFences.length);
  return errors;
};

/** Containers and networks of the harness that still exist (labelled with a session), for tests and `doctor`. */
export async function harnessLeftovers(): Promise<{ containers: string[]; networks: string[] }> {
  const engine = await docker();
  const filters = JSON.stringify({ label: [SESSION_LABEL] });
  const containers = await engine.listContainers({ all: true, filters });
  const networks = await engine.listNetworks({ filters });
  return { containers: containers.map((c) => c.Names[0] ?? c.Id), networks: networks.map((n) => n.Name) };
}
