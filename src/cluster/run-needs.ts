/**
 * What a run needs from outside the cluster, per distribution and
 * architecture: files (installers, snaps, tarballs, the Debian packages of
 * the guest image, what edgeproof builds here) and container images, each
 * with where it comes from. Assembled from the data the drivers themselves
 * use (their air-gap file lists, guest image specs, build inputs), never a
 * second list kept by hand; `edgeproof images` prints it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { artifactDir, artifactKey } from '../core/artifact-cache.js';
import type { Arch } from '../emulation/boards.js';
import { BASE_GUEST_PACKAGES } from '../emulation/images/guest-images.js';
import versions from '../../fixtures/versions.json' with { type: 'json' };
import type { AirgapFile } from './install-source.js';

export type NeededFileKind = AirgapFile['kind'] | 'debian-package' | 'debian-source' | 'built';

export interface NeededFile {
  what: string;
  /** The file name (in --airgap DIR when `airgap`), or the Debian package, or the build product. */
  name: string;
  kind: NeededFileKind;
  /** A URL, the Debian mirror, or the script that builds it here. */
  source: string;
  /** Must be in --airgap DIR; the rest is built or fetched on the harness host before anything boots. */
  airgap: boolean;
  /** How to get it on a machine with internet. */
  fetch?: string;
  /** Only some backends need it (the kernel: emulated boards). */
  only?: string;
  /** Built here: the cache key of the build, and whether this cache holds it. */
  cacheKey?: string;
  built?: boolean;
}

export interface NeededImage {
  /** The image reference; for images named only in a manifest or tarball, what to mirror from. */
  ref: string;
  /** Registry it is pulled from, or 'local' for images edgeproof builds and imports. */
  registry: string;
  archs: Arch[];
  /** The distribution, or the suite and addon, that runs it. */
  neededBy: string;
  /** The ref is a manifest, release asset or cache listing the images (their tags are the release's). */
  listedIn?: boolean;
  note?: string;
  cacheKey?: string;
  built?: boolean;
}

export interface RunNeeds {
  distro: string;
  version: string;
  arch: Arch;
  files: NeededFile[];
  images: NeededImage[];
}

/** Cache inspection for built artifacts; without it (golden tests) no key is computed. */
export interface NeedsOptions {
  cacheDir?: string;
}

export function airgapFileNeeds(files: AirgapFile[]): NeededFile[] {
  return files.map((f) => ({ what: f.what, name: f.name, kind: f.kind, source: f.source, airgap: true, fetch: f.fetch }));
}

/** The registry part of an image reference (docker.io when none is named, as containerd resolves it). */
export function registryOf(ref: string): string {
  const first = ref.split('/')[0]!;
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

const DEBIAN = `Debian ${versions.debian.suite} (${versions.debian.mirror})`;

/**
 * The Debian packages of the guest root filesystem (the base set and the
 * distribution's, as the image builder installs them) and the boot kit of
 * emulated boards. Fetched by the harness host from the Debian mirror, cached.
 */
export function guestImageNeeds(packages: string[], arch: Arch): NeededFile[] {
  const rootfs = [...new Set([...BASE_GUEST_PACKAGES, ...packages])].sort();
  return [
    ...rootfs.map((name) => ({ what: 'guest root filesystem', name: `${name}:${arch}`, kind: 'debian-package' as const, source: DEBIAN, airgap: false })),
    ...[`linux-image-${arch}`, 'busybox-static'].map((name) => ({ what: 'boot kit (kernel, initramfs)', name: `${name}:${arch}`, kind: 'debian-package' as const, source: DEBIAN, airgap: false, only: 'qemu' })),
  ];
}

/** The key and presence of a build product in the cache, computed from its inputs as ensureArtifact does. */
export async function cacheState(options: NeedsOptions, kind: string, inputs: () => Promise<Record<string, unknown>>): Promise<Pick<NeededFile, 'cacheKey' | 'built'>> {
  if (!options.cacheDir) return {};
  const resolved = await inputs().catch(() => undefined);
  if (!resolved) return {};
  const built = existsSync(join(artifactDir(options.cacheDir, { kind, inputs: resolved }), 'edgeproof-artifact.json'));
  return { cacheKey: artifactKey(resolved), built };
}
