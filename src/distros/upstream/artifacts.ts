import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { ensureArtifact, hashFiles } from '../../core/artifact-cache.js';
import { goVersion, hostRun } from '../../core/host-exec.js';
import { fixturePath, projectRoot } from '../../core/paths.js';
import { hostArch, type Arch } from '../../emulation/boards.js';
import { aptCandidate, artifactContext, type DiskPayload } from '../../emulation/images/guest-images.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };
import { cacheState, guestImageNeeds, type NeedsOptions, type RunNeeds } from '../../cluster/run-needs.js';
import { e2eImageNeeds } from '../../cluster/e2e-images.js';

const buildScript = (name: string) => fixturePath('build', name);

/** What shapes the Kubernetes binaries (their cache key is the hash of these). */
export async function kubernetesBinariesInputs(arch: Arch): Promise<Record<string, unknown>> {
  const k = versions.kubernetes;
  return {
    arch,
    source: k.debianSourceVersion,
    components: k.components,
    go: await goVersion(),
    reflect2: await aptCandidate(k.jsonFix.reflect2, 'amd64').catch(() => 'unknown'),
    jsonIterator: await aptCandidate(k.jsonFix.jsonIterator, 'amd64').catch(() => 'unknown'),
    script: hashFiles(projectRoot(), ['fixtures/build/kubernetes.sh']),
  };
}

/** What shapes the workload images (busybox, pause) for an arch. */
export async function workloadImagesInputs(arch: Arch): Promise<Record<string, unknown>> {
  return {
    arch,
    busybox: await aptCandidate('busybox-static', arch),
    go: await goVersion(),
    sources: hashFiles(projectRoot(), ['fixtures/build/workload-images.sh', 'fixtures/build/pause']),
  };
}

/** Kubernetes binaries built from Debian's source package (with the reflect2/json-iterator fix), cached per arch. */
export async function ensureKubernetesBinaries(ctx: RunContext, arch: Arch): Promise<DiskPayload> {
  const k = versions.kubernetes;
  const inputs = await kubernetesBinariesInputs(arch);
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'kubernetes',
    label: `Kubernetes ${k.version} binaries for ${arch}`,
    inputs,
    build: async (out, work, signal) => {
      ctx.progress.info(`building Kubernetes ${k.version} for ${arch} from Debian source (10-18 min on 2 cores, cached afterwards)`);
      await hostRun('bash', [buildScript('kubernetes.sh'), k.debianSourceVersion, arch, out, join(ctx.cacheDir, 'src', 'kubernetes'), ...k.components], {
        signal,
        env: { ...process.env, GOCACHE: join(ctx.cacheDir, 'go-build') },
        onLine: (line) => line.startsWith('== ') && ctx.progress.info(line.slice(3)),
      });
    },
  });
  return { label: `kubernetes ${k.version}`, hostDir: artifact.dir, guestDir: '/opt/edgeproof/bin', key: artifact.key };
}

/** The images suites run (busybox, pause, the e2e suite's stand-ins), built locally for the arch. */
export async function ensureWorkloadImages(ctx: RunContext, arch: Arch): Promise<DiskPayload> {
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'images',
    label: `workload images for ${arch}`,
    inputs: await workloadImagesInputs(arch),
    build: async (out, work, signal) => {
      await hostRun('bash', [buildScript('workload-images.sh'), arch, out, work, fixturePath('build', 'pause')], {
        signal,
        env: { ...process.env, GOCACHE: join(ctx.cacheDir, 'go-build') },
      });
    },
  });
  return { label: 'workload images', hostDir: artifact.dir, guestDir: '/opt/edgeproof/images', key: artifact.key };
}

// haproxy: workers' local apiserver load balancer in HA topologies (kubeadm's HA guide).
// etcd, containerd and runc are not Debian's (too old for Kubernetes v1.35): they are built with it.
export const UPSTREAM_GUEST_PACKAGES = ['iptables', 'containernetworking-plugins', 'haproxy', 'conntrack'];
export const WORKLOAD_IMAGE = 'edgeproof.local/busybox:1.35';
export const PAUSE_IMAGE = 'edgeproof.local/pause:3.2';

/** The workload images every distribution imports on its nodes: built here, never pulled (see run-needs.ts). */
export async function workloadImageNeeds(arch: Arch, options: NeedsOptions): Promise<Pick<RunNeeds, 'files' | 'images'>> {
  const state = await cacheState(options, 'images', () => workloadImagesInputs(arch));
  const source = 'built here by fixtures/build/workload-images.sh (busybox from Debian busybox-static, pause from fixtures/build/pause)';
  return {
    files: [{ what: 'workload images (busybox, pause)', name: `images/${arch}`, kind: 'built', source, airgap: false, ...state }],
    images: [WORKLOAD_IMAGE, PAUSE_IMAGE].map((ref) => ({ ref, registry: 'local', archs: [arch], neededBy: 'edgeproof workloads', note: 'imported on every node; never pulled, never mirrored', ...state })),
  };
}

/** Upstream needs nothing at run time from outside: Debian sources and packages on the harness host, the rest built here. */
export async function upstreamNeeds(arch: Arch, options: NeedsOptions): Promise<RunNeeds> {
  const k = versions.kubernetes;
  const debian = `Debian ${versions.debian.suite} (${versions.debian.mirror})`;
  const workload = await workloadImageNeeds(arch, options);
  const e2e = await e2eImageNeeds(arch, options);
  const binaries = await cacheState(options, 'kubernetes', () => kubernetesBinariesInputs(arch));
  return {
    distro: 'upstream',
    version: k.version,
    arch,
    files: [
      { what: 'Kubernetes source (host build)', name: `${k.debianSource}=${k.debianSourceVersion}`, kind: 'debian-source', source: debian, airgap: false, fetch: `apt-get source ${k.debianSource}=${k.debianSourceVersion}` },
      ...[k.jsonFix.reflect2, k.jsonFix.jsonIterator, 'golang-go'].map((name) => ({ what: 'Kubernetes build (host)', name, kind: 'debian-package' as const, source: debian, airgap: false })),
      { what: `Kubernetes ${k.version} binaries (${k.components.join(', ')})`, name: `kubernetes/${arch}`, kind: 'built', source: 'built here by fixtures/build/kubernetes.sh', airgap: false, ...binaries },
      ...workload.files,
      ...e2e.files,
      ...guestImageNeeds(UPSTREAM_GUEST_PACKAGES, arch),
    ],
    images: [...workload.images, ...e2e.images],
  };
}
