import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { artifactFileSha256, ensureArtifact, hashFiles, type Artifact, type ArtifactContext } from '../../core/artifact-cache.js';
import { PrerequisiteMissingError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { fixturePath, projectRoot } from '../../core/paths.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };
import type { Arch } from '../boards.js';
import type { GuestImages } from '../qemu/qemu-board.js';

/** What every guest needs for the harness to reach it: init, SSH, modules, iproute2. */
export const BASE_GUEST_PACKAGES = ['tini', 'openssh-server', 'kmod', 'iproute2', 'procps', 'mount'];

/** A directory of files baked into the disk at `guestDir` (binaries, images); `key` names its content. */
export interface DiskPayload {
  label: string;
  hostDir: string;
  guestDir: string;
  key: string;
}

export interface DiskRequest {
  arch: Arch;
  /** Debian packages beyond the base set (the distribution's runtime: containerd, etcd...). */
  packages: string[];
  payloads: DiskPayload[];
  /** Virtual size; a power of two so it also fits an SD card. */
  size?: string;
}

export function artifactContext(ctx: RunContext): ArtifactContext {
  return {
    cacheDir: ctx.cacheDir,
    progress: ctx.progress,
    signal: ctx.signal,
    trackTempDir: (dir) => ctx.session.track('tempDirs', dir),
    untrackTempDir: (dir) => ctx.session.untrack('tempDirs', (d) => d === dir),
  };
}

/** Candidate version of a Debian package for an architecture (part of artifact keys). */
export async function aptCandidate(pkg: string, arch: Arch): Promise<string> {
  const { stdout } = await hostRun('apt-cache', ['policy', `${pkg}:${arch}`]);
  const candidate = /Candidate:\s*(\S+)/.exec(stdout)?.[1];
  if (!candidate || candidate === '(none)') {
    throw new PrerequisiteMissingError(
      `Debian package ${pkg} for ${arch}`,
      `enable the architecture and refresh the lists: dpkg --add-architecture ${arch} && apt-get update`,
    );
  }
  return candidate;
}

const build = (script: string) => join(projectRoot(), 'fixtures', 'build', script);

function streamTo(ctx: RunContext) {
  return (line: string) => {
    if (line.startsWith('== ')) ctx.progress.info(line.slice(3));
  };
}

export async function ensureBootKit(ctx: RunContext, arch: Arch): Promise<{ artifact: Artifact; kernelVersion: string }> {
  const kernelPackage = await aptCandidate(`linux-image-${arch}`, arch);
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'kernel',
    label: `Debian kernel ${kernelPackage} and initramfs for ${arch}`,
    inputs: {
      arch,
      kernelPackage,
      busybox: await aptCandidate('busybox-static', arch),
      scripts: hashFiles(projectRoot(), ['fixtures/build/kernel.sh', 'fixtures/guest/initramfs-init', 'fixtures/guest/initramfs-modules']),
    },
    build: async (out, work, signal) => {
      await hostRun('bash', [build('kernel.sh'), arch, out, work, fixturePath('guest', 'initramfs-init'), fixturePath('guest', 'initramfs-modules')], {
        signal,
        onLine: streamTo(ctx),
      });
    },
  });
  return { artifact, kernelVersion: kernelPackage };
}

export async function ensureRootfs(ctx: RunContext, arch: Arch, packages: string[]): Promise<string> {
  const all = [...new Set([...BASE_GUEST_PACKAGES, ...packages])].sort();
  const { suite, mirror } = versions.debian;
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'rootfs',
    label: `Debian ${suite} root filesystem for ${arch}`,
    inputs: { arch, suite, mirror, packages: all, script: hashFiles(projectRoot(), ['fixtures/build/rootfs.sh']) },
    build: async (out, _work, signal) => {
      await hostRun('bash', [build('rootfs.sh'), arch, suite, mirror, join(out, 'rootfs.tar'), ...all], { signal, onLine: streamTo(ctx) });
    },
  });
  return join(artifact.dir, 'rootfs.tar');
}

/** Boot kit plus a base disk with the packages and payloads baked in, all cached by their inputs. */
export async function ensureGuestImages(ctx: RunContext, request: DiskRequest): Promise<GuestImages & { kernelVersion: string }> {
  const { artifact: kit, kernelVersion } = await ensureBootKit(ctx, request.arch);
  const rootfsTar = await ensureRootfs(ctx, request.arch, request.packages);
  const size = request.size ?? '4G';
  const disk = await ensureArtifact(artifactContext(ctx), {
    kind: 'disk',
    label: `root disk for ${request.arch} (${request.payloads.map((p) => p.label).join(', ') || 'base'})`,
    inputs: {
      rootfs: rootfsTar,
      kernel: kit.dir,
      size,
      payloads: request.payloads.map((p) => ({ key: p.key, guestDir: p.guestDir })),
      guestFiles: hashFiles(projectRoot(), ['fixtures/guest/rootfs', 'fixtures/build/disk.sh']),
    },
    build: async (out, work, signal) => {
      const payloadArgs = request.payloads.map((p) => `${p.hostDir}:${p.guestDir}`);
      await hostRun(
        'bash',
        [build('disk.sh'), rootfsTar, join(kit.dir, 'modules.tar'), fixturePath('guest', 'rootfs'), size, join(out, 'disk.qcow2'), work, ...payloadArgs],
        { signal, onLine: streamTo(ctx) },
      );
    },
  });
  return { ...guestImages(kit, disk), kernelVersion };
}

/** The files a board boots from a boot kit artifact and a disk artifact, with the checksums their manifests hold. */
export function guestImages(kit: Artifact, disk: Artifact): GuestImages {
  return {
    bootKit: { kernel: join(kit.dir, 'vmlinuz'), initrd: join(kit.dir, 'initrd.img'), dtbDir: join(kit.dir, 'dtbs') },
    baseDisk: join(disk.dir, 'disk.qcow2'),
    sha256: { kernel: artifactFileSha256(kit, 'vmlinuz'), initrd: artifactFileSha256(kit, 'initrd.img'), baseDisk: artifactFileSha256(disk, 'disk.qcow2') },
  };
}
