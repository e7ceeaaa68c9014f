import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { ensureArtifact, hashFiles } from '../../core/artifact-cache.js';
import { goVersion, hostRun } from '../../core/host-exec.js';
import { fixturePath, projectRoot } from '../../core/paths.js';
import { hostArch, type Arch } from '../../emulation/boards.js';
import { aptCandidate, artifactContext, type DiskPayload } from '../../emulation/images/guest-images.js';
import { cacheState, guestImageNeeds, type NeededFile, type NeedsOptions, type RunNeeds } from '../../cluster/run-needs.js';
import { e2eImageNeeds } from '../../cluster/e2e-images.js';
import type { Component } from '../../components/component.js';
import { componentArtifactDir, ensureComponent } from '../../components/component-builder.js';

const buildScript = (name: string) => fixturePath('build', name);

/** What shapes the workload images (busybox, pause) for an arch. */
export async function workloadImagesInputs(arch: Arch): Promise<Record<string, unknown>> {
  return {
    arch,
    busybox: await aptCandidate('busybox-static', arch),
    go: await goVersion(),
    sources: hashFiles(projectRoot(), ['fixtures/build/workload-images.sh', 'fixtures/build/pause']),
  };
}

/**
 * Kubernetes, etcd, containerd, runc and the CNI plugins, each built from its
 * Go module for the arch (fixtures/components.json), one after the other: a
 * build uses both cores. Each lands in its own guest directory.
 */
export async function ensureUpstreamComponents(ctx: RunContext, components: readonly Component[], arch: Arch): Promise<DiskPayload[]> {
  const payloads: DiskPayload[] = [];
  const records: ComponentUsed[] = [];
  for (const component of components) {
    const built = await ensureComponent(artifactContext(ctx), component, arch);
    payloads.push({ label: `${component.name} ${component.version}`, hostDir: built.dir, guestDir: component.packaging.guestDir!, key: built.key });
    const { module, version, goVersion, files } = built.record;
    records.push({ name: component.name, source: 'go-module', module, version, goVersion, arch, cacheKey: built.key, files });
  }
  ctx.events.emit({ type: 'environment', environment: { components: records } });
  return payloads;
}

/** What the run's result says of each component it installed: where it came from, and each binary's sha256. */
export interface ComponentUsed {
  name: string;
  /** 'go-module': built here by the component builder. */
  source: 'go-module';
  module: string;
  version: string;
  goVersion: string;
  arch: Arch;
  cacheKey: string;
  files: Record<string, string>;
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
// etcd, containerd, runc and the CNI plugins are not Debian's (too old for Kubernetes v1.35): they are built with it.
export const UPSTREAM_GUEST_PACKAGES = ['iptables', 'haproxy', 'conntrack'];
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

/** A component built here from its Go module: what it is, and whether this cache holds it. */
async function componentNeeds(component: Component, arch: Arch, options: NeedsOptions): Promise<NeededFile> {
  const dir = options.cacheDir ? await componentArtifactDir(options.cacheDir, component, arch).catch(() => undefined) : undefined;
  const state = dir ? { cacheKey: basename(dir), built: existsSync(join(dir, 'edgeproof-artifact.json')) } : {};
  return {
    what: `${component.name} ${component.version} (${Object.keys(component.packages).join(', ')})`,
    name: `${component.module}@${component.version}`,
    kind: 'built',
    source: 'built here from its Go module (fixtures/components.json; needs Go, see edgeproof doctor)',
    airgap: false,
    ...state,
  };
}

/** Upstream needs nothing at run time from outside: its components are built here from their Go modules, the rest is Debian's. */
export async function upstreamNeeds(components: readonly Component[], version: string, arch: Arch, options: NeedsOptions): Promise<RunNeeds> {
  const workload = await workloadImageNeeds(arch, options);
  const e2e = await e2eImageNeeds(arch, options);
  const files = await Promise.all(components.map((component) => componentNeeds(component, arch, options)));
  return {
    distro: 'upstream',
    version,
    arch,
    files: [...files, ...workload.files, ...e2e.files, ...guestImageNeeds(UPSTREAM_GUEST_PACKAGES, arch)],
    images: [...workload.images, ...e2e.images],
  };
}
