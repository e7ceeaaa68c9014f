import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** A file a guest variant places in the root filesystem. */
export interface GuestFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * How a guest boots and what its image holds beyond its packages: edgeproof's
 * fast init (tini, edgeproof-init), or systemd as PID 1 with the variant's
 * files, hooks and units (what snapd and the K3s and minikube installers need).
 */
export interface GuestVariant {
  init: 'edgeproof-init' | 'systemd';
  /** Virtual disk size; a power of two so it also fits an SD card. */
  size: string;
  /** Kernel parameters of every boot (the initramfs execs the init ep.init= names). */
  kernelParams: string[];
  /** Placed in the root filesystem before the hooks run. */
  files: GuestFile[];
  /** mmdebstrap --customize-hook lines, run on the host ("$1" is the root directory). */
  customizeHooks: string[];
}

/** The image every upstream guest boots: today's fast init, no files or hooks beyond fixtures/guest. */
export const FAST_INIT_VARIANT: GuestVariant = { init: 'edgeproof-init', size: '4G', kernelParams: [], files: [], customizeHooks: [] };

export interface DiskRequest {
  arch: Arch;
  /** Debian packages beyond the base set (the distribution's runtime: containerd, etcd...). */
  packages: string[];
  payloads: DiskPayload[];
  /** Absent: FAST_INIT_VARIANT. */
  variant?: GuestVariant;
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

/** What a root filesystem is built from: the artifact's inputs, and the files and hooks applied after mmdebstrap. */
export interface RootfsBuild {
  packages: string[];
  files: GuestFile[];
  hooks: string[];
  inputs: Record<string, unknown>;
}

/**
 * The build of a root filesystem. Without files or hooks (the fast init) the
 * inputs are what they always were, so the cached upstream root filesystems
 * stay valid; a variant's init, files and hooks join its key.
 */
export function rootfsBuild(arch: Arch, packages: string[], variant: GuestVariant = FAST_INIT_VARIANT): RootfsBuild {
  const all = [...new Set([...BASE_GUEST_PACKAGES, ...packages])].sort();
  const { suite, mirror } = versions.debian;
  const base = { arch, suite, mirror, packages: all, script: hashFiles(projectRoot(), ['fixtures/build/rootfs.sh']) };
  const { files, customizeHooks: hooks } = variant;
  if (files.length === 0 && hooks.length === 0) return { packages: all, files, hooks, inputs: base };
  const customize = hashFiles(projectRoot(), ['fixtures/build/rootfs-customize.sh']);
  return { packages: all, files, hooks, inputs: { ...base, init: variant.init, files, hooks, customize } };
}

export async function ensureRootfs(ctx: RunContext, arch: Arch, packages: string[], variant?: GuestVariant): Promise<string> {
  const rootfs = rootfsBuild(arch, packages, variant);
  const { suite, mirror } = versions.debian;
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'rootfs',
    label: `Debian ${suite} root filesystem for ${arch}${variant?.init === 'systemd' ? ' (systemd)' : ''}`,
    inputs: rootfs.inputs,
    build: async (out, work, signal) => {
      const tar = join(out, 'rootfs.tar');
      await hostRun('bash', [build('rootfs.sh'), arch, suite, mirror, tar, ...rootfs.packages], { signal, onLine: streamTo(ctx) });
      if (rootfs.files.length === 0 && rootfs.hooks.length === 0) return;
      const filesDir = join(work, 'files');
      stageFiles(filesDir, rootfs.files);
      await hostRun('bash', [build('rootfs-customize.sh'), tar, filesDir, join(work, 'root'), ...rootfs.hooks], { signal, onLine: streamTo(ctx) });
    },
  });
  return join(artifact.dir, 'rootfs.tar');
}

/** The variant's files as a tree under `dir`, with their modes (rootfs-customize.sh copies it into the root). */
export function stageFiles(dir: string, files: GuestFile[]): void {
  mkdirSync(dir, { recursive: true });
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
    chmodSync(path, file.mode);
  }
}

/** Boot kit plus a base disk with the packages and payloads baked in, all cached by their inputs. */
export async function ensureGuestImages(ctx: RunContext, request: DiskRequest): Promise<GuestImages & { kernelVersion: string }> {
  const { artifact: kit, kernelVersion } = await ensureBootKit(ctx, request.arch);
  const variant = request.variant ?? FAST_INIT_VARIANT;
  const rootfsTar = await ensureRootfs(ctx, request.arch, request.packages, variant);
  const { size } = variant;
  const disk = await ensureArtifact(artifactContext(ctx), {
    kind: 'disk',
    label: `root disk for ${request.arch} (${request.payloads.map((p) => p.label).join(', ') || 'base'})`,
    inputs: diskInputs(rootfsTar, kit.dir, variant, request.payloads),
    build: async (out, work, signal) => {
      const payloadArgs = request.payloads.map((p) => `${p.hostDir}:${p.guestDir}`);
      await hostRun(
        'bash',
        [build('disk.sh'), rootfsTar, join(kit.dir, 'modules.tar'), fixturePath('guest', 'rootfs'), size, join(out, 'disk.qcow2'), work, ...payloadArgs],
        { signal, onLine: streamTo(ctx) },
      );
    },
  });
  return { ...guestImages(kit, disk, variant.kernelParams), kernelVersion };
}

/** The disk artifact's inputs: the root filesystem (which holds the variant's init, files and hooks), the boot kit, the variant's size, the payloads. */
export function diskInputs(rootfsTar: string, kitDir: string, variant: GuestVariant, payloads: DiskPayload[]): Record<string, unknown> {
  return {
    rootfs: rootfsTar,
    kernel: kitDir,
    size: variant.size,
    payloads: payloads.map((p) => ({ key: p.key, guestDir: p.guestDir })),
    guestFiles: hashFiles(projectRoot(), ['fixtures/guest/rootfs', 'fixtures/build/disk.sh']),
  };
}

/** The files a board boots from a boot kit artifact and a disk artifact, with the checksums their manifests hold. */
export function guestImages(kit: Artifact, disk: Artifact, kernelParams: string[] = []): GuestImages {
  return {
    kernelParams,
    bootKit: { kernel: join(kit.dir, 'vmlinuz'), initrd: join(kit.dir, 'initrd.img'), dtbDir: join(kit.dir, 'dtbs') },
    baseDisk: join(disk.dir, 'disk.qcow2'),
    sha256: { kernel: artifactFileSha256(kit, 'vmlinuz'), initrd: artifactFileSha256(kit, 'initrd.img'), baseDisk: artifactFileSha256(disk, 'disk.qcow2') },
  };
}
