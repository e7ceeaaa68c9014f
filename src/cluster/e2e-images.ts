import { join } from 'node:path';
import type { RunContext } from '../core/context.js';
import { ensureArtifact, hashFiles } from '../core/artifact-cache.js';
import { goVersion, hostRun } from '../core/host-exec.js';
import { fixturePath, projectRoot } from '../core/paths.js';
import type { Arch } from '../emulation/boards.js';
import { aptCandidate, artifactContext, type DiskPayload } from '../emulation/images/guest-images.js';
import { goBuildEnv, kubernetesLdflags, prepareKubernetesBuildModule, type KubernetesModule } from './kubernetes-module.js';
import { cacheState, type NeedsOptions, type RunNeeds } from './run-needs.js';
import { findComponent } from '../components/component.js';

/**
 * The images the Kubernetes e2e conformance suite runs, on every node
 * before it starts (no node here can pull). Under edgeproof's
 * KUBE_TEST_REPO_LIST (LOCAL_E2E_REGISTRIES) the suite asks for exactly
 * these names; the tags are those of test/utils/image/manifest.go at the
 * pinned Kubernetes version. agnhost is the real one, built from the same
 * module; the others are stand-ins (see fixtures/build/e2e-images.sh).
 */
/** The e2e suite and agnhost come from the same Kubernetes release as the baseline cluster. */
export const E2E_KUBERNETES: KubernetesModule = { module: 'k8s.io/kubernetes', version: findComponent('kubernetes').version };

/** The e2e registry keys (manifest.go RegistryList) edgeproof points at its local images; every other key keeps its default. */
export const LOCAL_E2E_REGISTRIES = {
  promoterE2eRegistry: 'edgeproof.local/e2e-test-images',
  gcRegistry: 'edgeproof.local/e2e-registry',
} as const;

export type E2eImageKind = 'agnhost' | 'busybox' | 'nginx' | 'pause';

export interface LocalE2eImage {
  ref: string;
  kind: E2eImageKind;
  /** False for a stand-in that plays the image's part in the specs without being it. */
  real: boolean;
}

const promoter = LOCAL_E2E_REGISTRIES.promoterE2eRegistry;
export const LOCAL_E2E_IMAGES: LocalE2eImage[] = [
  { ref: `${promoter}/agnhost:2.59`, kind: 'agnhost', real: true },
  // AgnhostPrev, which the StatefulSet update specs roll from: the same binary under the previous tag.
  { ref: `${promoter}/agnhost:2.55`, kind: 'agnhost', real: false },
  { ref: `${promoter}/busybox:1.37.0-1`, kind: 'busybox', real: false },
  { ref: `${promoter}/nginx:1.14-4`, kind: 'nginx', real: false },
  { ref: `${promoter}/nginx:1.15-4`, kind: 'nginx', real: false },
  { ref: `${LOCAL_E2E_REGISTRIES.gcRegistry}/pause:3.10.1`, kind: 'pause', real: false },
];

export const E2E_IMAGES_GUEST_DIR = '/opt/edgeproof/e2e-images';

/** What shapes the e2e images for an arch (their cache key is the hash of these). */
export async function e2eImagesInputs(arch: Arch): Promise<Record<string, unknown>> {
  return {
    arch,
    kubernetes: E2E_KUBERNETES,
    images: LOCAL_E2E_IMAGES.map((i) => `${i.kind}=${i.ref}`),
    busybox: await aptCandidate('busybox-static', arch),
    go: await goVersion(),
    ldflags: kubernetesLdflags(E2E_KUBERNETES.version),
    sources: hashFiles(projectRoot(), ['fixtures/build/e2e-images.sh', 'fixtures/build/image-tar.sh', 'fixtures/build/pause', 'src/cluster/kubernetes-module.ts']),
  };
}

/** agnhost built from k8s.io/kubernetes for `arch`, packaged with the stand-ins; cached per arch. */
export async function ensureE2eImages(ctx: RunContext, arch: Arch): Promise<DiskPayload> {
  const inputs = await e2eImagesInputs(arch);
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'e2e-images',
    label: `e2e suite images (agnhost ${E2E_KUBERNETES.version}) for ${arch}`,
    inputs,
    build: async (out, work, signal) => {
      ctx.progress.info(`building agnhost from ${E2E_KUBERNETES.module}@${E2E_KUBERNETES.version} for ${arch} (a few minutes cold, cached afterwards)`);
      const module = await prepareKubernetesBuildModule(work, ctx.cacheDir, E2E_KUBERNETES, ['k8s.io/kubernetes/test/images/agnhost'], signal);
      const agnhost = join(work, 'agnhost');
      await hostRun('go', ['build', '-trimpath', '-ldflags', kubernetesLdflags(E2E_KUBERNETES.version), '-o', agnhost, 'k8s.io/kubernetes/test/images/agnhost'], { cwd: module.dir, env: goBuildEnv(ctx.cacheDir, arch), signal });
      const agnhostSource = join(module.sourceDir, 'test', 'images', 'agnhost');
      await hostRun('bash', [fixturePath('build', 'e2e-images.sh'), arch, out, join(work, 'images'), agnhost, agnhostSource, fixturePath('build', 'pause'), ...LOCAL_E2E_IMAGES.map((i) => `${i.kind}=${i.ref}`)], {
        signal,
        env: goBuildEnv(ctx.cacheDir),
        onLine: (line) => line.startsWith('== ') && ctx.progress.info(line.slice(3)),
      });
    },
  });
  return { label: 'e2e suite images', hostDir: artifact.dir, guestDir: E2E_IMAGES_GUEST_DIR, key: artifact.key };
}

/** The e2e images as `edgeproof images` lists them: built here, imported on every upstream node, never pulled. */
export async function e2eImageNeeds(arch: Arch, options: NeedsOptions): Promise<Pick<RunNeeds, 'files' | 'images'>> {
  const state = await cacheState(options, 'e2e-images', () => e2eImagesInputs(arch));
  const { module, version } = E2E_KUBERNETES;
  return {
    files: [{ what: 'e2e suite images (agnhost real, busybox/nginx/pause stand-ins)', name: `e2e-images/${arch}`, kind: 'built', source: `built here by fixtures/build/e2e-images.sh (agnhost from ${module}@${version})`, airgap: false, ...state }],
    images: LOCAL_E2E_IMAGES.map((image) => ({
      ref: image.ref,
      registry: 'local',
      archs: [arch],
      neededBy: 'suite conformance',
      note: image.real ? `built from ${module}/test/images/agnhost@${version}; imported on every node` : 'a stand-in built here; imported on every node',
      ...state,
    })),
  };
}
