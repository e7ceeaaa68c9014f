import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { artifactKey, ensureArtifact, hashFiles } from '../../core/artifact-cache.js';
import { hostRun } from '../../core/host-exec.js';
import { fixturePath, projectRoot } from '../../core/paths.js';
import { artifactContext, ensureRootfs, FAST_INIT_VARIANT, type DiskPayload, type GuestVariant } from '../images/guest-images.js';
import type { Arch } from '../boards.js';
import { docker } from './docker-engine.js';

export const CONTAINER_INIT = '/usr/sbin/edgeproof-container-init';
const KEY_LABEL = 'dev.edgeproof/image-key';

export interface NodeImageRequest {
  arch: Arch;
  packages: string[];
  payloads: DiskPayload[];
  /** Absent: FAST_INIT_VARIANT. Its size does not apply (a container's disk is the host's). */
  variant?: GuestVariant;
}

/** How a node container starts and stops, by its init. */
export interface NodeInit {
  entrypoint: string[];
  /** systemd shuts down on SIGRTMIN+3 (what `docker stop` sends it; set on the container, `docker import` cannot); tini passes SIGTERM on. */
  stopSignal: 'SIGTERM' | 'SIGRTMIN+3';
}

/**
 * The fast init runs under tini; with systemd, edgeproof-container-init is
 * PID 1 and execs systemd once the node is set up (systemd must be PID 1).
 */
export function nodeInit(init: GuestVariant['init']): NodeInit {
  return init === 'systemd'
    ? { entrypoint: [CONTAINER_INIT, '/lib/systemd/systemd'], stopSignal: 'SIGRTMIN+3' }
    : { entrypoint: ['/usr/bin/tini', '-g', '--', CONTAINER_INIT], stopSignal: 'SIGTERM' };
}

/**
 * The node image for the container backend: the same Debian root filesystem
 * and payloads as the emulated boards' disks, imported into the local Docker
 * engine (nothing is pulled). The artifact records the image id; the image
 * is checked in Docker before use and re-imported when it is gone or differs.
 */
export async function ensureNodeImage(ctx: RunContext, request: NodeImageRequest): Promise<string> {
  const variant = request.variant ?? FAST_INIT_VARIANT;
  const rootfsTar = await ensureRootfs(ctx, request.arch, request.packages, variant);
  const init = nodeInit(variant.init);
  const inputs = {
    rootfs: rootfsTar,
    ...(variant.init === 'systemd' ? { init } : {}),
    payloads: request.payloads.map((p) => ({ key: p.key, guestDir: p.guestDir })),
    guestFiles: hashFiles(projectRoot(), ['fixtures/guest/rootfs', 'fixtures/guest/container', 'fixtures/build/node-image.sh']),
  };
  const tag = `edgeproof/node:${artifactKey(inputs)}`;
  const spec = {
    kind: 'node-image',
    label: `node container image for ${request.arch} (${request.payloads.map((p) => p.label).join(', ')})`,
    inputs,
    build: async (out: string, work: string, signal: AbortSignal) => {
      const imageId = await importImage(rootfsTar, request.payloads, init, tag, work, signal);
      writeFileSync(join(out, 'image.json'), JSON.stringify({ tag, imageId }));
    },
  };
  for (let attempt = 0; ; attempt++) {
    const artifact = await ensureArtifact(artifactContext(ctx), spec);
    const { imageId } = JSON.parse(readFileSync(join(artifact.dir, 'image.json'), 'utf8')) as { imageId: string };
    const present = await (await docker()).getImage(tag).inspect().catch(() => undefined);
    if (present?.Id === imageId && present.Config?.Labels?.[KEY_LABEL] === artifact.key) return tag;
    if (attempt > 0) throw new Error(`node image ${tag} is not in Docker after importing it`);
    ctx.progress.info(`node image ${tag} is missing from Docker or differs from the cache record: importing it again`);
    rmSync(artifact.dir, { recursive: true, force: true });
  }
}

/** The root filesystem, guest files and payloads as one filesystem, imported with its entrypoint; resolves to the image id. */
async function importImage(rootfsTar: string, payloads: DiskPayload[], init: NodeInit, tag: string, work: string, signal: AbortSignal): Promise<string> {
  const key = tag.split(':')[1]!;
  const entrypoint = JSON.stringify(init.entrypoint);
  await hostRun(
    'bash',
    [
      join(projectRoot(), 'fixtures', 'build', 'node-image.sh'), rootfsTar, work, tag, entrypoint, `${KEY_LABEL}=${key}`,
      fixturePath('guest', 'rootfs'), fixturePath('guest', 'container'), '--', ...payloads.map((p) => `${p.hostDir}:${p.guestDir}`),
    ],
    { signal },
  );
  const { stdout } = await hostRun('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], { signal });
  return stdout.trim();
}
