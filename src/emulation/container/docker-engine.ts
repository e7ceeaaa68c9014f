import type Dockerode from 'dockerode';
import { PrerequisiteMissingError, describeError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { ContainerSweep, ContainerSweeper } from '../../core/session.js';
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

/**
 * The reaper's Docker part for a dead session: every container (with its
 * volumes) and network labelled with the session, which covers those killed
 * before they were recorded; a recorded one without that label is left alone
 * and said. Then its node cgroups (older records), which only empty once the
 * containers are gone, and last its bridge fences.
 */
export const sweepContainers: ContainerSweeper = async (sessionId, { containers, networks, cgroupDirs = [], bridgeFences = [] }) => {
  const swept: ContainerSweep = { containers: [], networks: [], errors: [] };
  try {
    const engine = await docker();
    const filters = JSON.stringify({ label: [`${SESSION_LABEL}=${sessionId}`] });
    for (const container of await engine.listContainers({ all: true, filters })) {
      const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
      if (await removed(engine.getContainer(container.Id).remove({ force: true, v: true }), `container ${name}`, swept.errors)) swept.containers.push(name);
    }
    for (const network of await engine.listNetworks({ filters })) {
      if (await removed(engine.getNetwork(network.Id).remove(), `network ${network.Name}`, swept.errors)) swept.networks.push(network.Name);
    }
    for (const id of containers) await reportUnlabelled(engine.getContainer(id).inspect(), `container ${id}`, sessionId, swept.errors);
    for (const id of networks) await reportUnlabelled(engine.getNetwork(id).inspect(), `network ${id}`, sessionId, swept.errors);
  } catch (error) {
    swept.errors.push(`session ${sessionId}: containers and networks not swept: ${describeError(error)}`);
    return swept;
  }
  // After the containers: a cgroup with processes in it cannot be removed.
  for (const dir of cgroupDirs) swept.errors.push(...removeCgroupTree(dir));
  // Last: the fence keeps the host out of reach for as long as a node may still run.
  for (const fence of bridgeFences) swept.errors.push(...(await removeFence(fence)));
  log('session %s: swept %d container(s), %d network(s), %d cgroup tree(s), %d bridge fence(s)', sessionId, swept.containers.length, swept.networks.length, cgroupDirs.length, bridgeFences.length);
  return swept;
};

/** Whether a removal succeeded (or found it already gone); otherwise its error is added. */
async function removed(removal: Promise<unknown>, what: string, errors: string[]): Promise<boolean> {
  try {
    await removal;
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return true;
    errors.push(`${what}: ${(error as Error).message}`);
    return false;
  }
}

/** A recorded container or network that outlived the label sweep is not labelled as this session's: said, not removed. */
async function reportUnlabelled(inspection: Promise<{ Labels?: Record<string, string> | null; Config?: { Labels?: Record<string, string> | null } }>, what: string, sessionId: string, errors: string[]): Promise<void> {
  try {
    const details = await inspection;
    const label = (details.Config?.Labels ?? details.Labels ?? {})[SESSION_LABEL];
    errors.push(`${what} still exists and is labelled ${SESSION_LABEL}=${label ?? '(none)'}, not ${sessionId}: left alone`);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) errors.push(`${what}: ${(error as Error).message}`);
  }
}

/** Containers and networks of the harness that still exist (labelled with a session), for tests and `doctor`. */
export async function harnessLeftovers(): Promise<{ containers: string[]; networks: string[] }> {
  const engine = await docker();
  const filters = JSON.stringify({ label: [SESSION_LABEL] });
  const containers = await engine.listContainers({ all: true, filters });
  const networks = await engine.listNetworks({ filters });
  return { containers: containers.map((c) => c.Names[0] ?? c.Id), networks: networks.map((n) => n.Name) };
}
