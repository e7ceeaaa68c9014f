import { stringify as toYaml } from 'yaml';
import { UsageError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';

/**
 * Where the e2e suite takes its images from. Kubernetes v1.20's suite reads
 * the registries of test/utils/image/manifest.go from the YAML file named by
 * KUBE_TEST_REPO_LIST (keys below, with their defaults); an image is
 * `<registry>/<name>:<tag>`.
 */
export const E2E_REGISTRY_DEFAULTS = {
  gcAuthenticatedRegistry: 'gcr.io/authenticated-image-pulling',
  dockerLibraryRegistry: 'docker.io/library',
  dockerGluster: 'docker.io/gluster',
  e2eRegistry: 'gcr.io/kubernetes-e2e-test-images',
  e2eVolumeRegistry: 'gcr.io/kubernetes-e2e-test-images/volume',
  promoterE2eRegistry: 'k8s.gcr.io/e2e-test-images',
  buildImageRegistry: 'k8s.gcr.io/build-image',
  invalidRegistry: 'invalid.com/invalid',
  gcRegistry: 'k8s.gcr.io',
  sigStorageRegistry: 'k8s.gcr.io/sig-storage',
  gcrReleaseRegistry: 'gcr.io/gke-release',
  privateRegistry: 'gcr.io/k8s-authenticated-test',
  sampleRegistry: 'gcr.io/google-samples',
} as const;

/**
 * On this project's own nodes: the Docker library images come from the
 * locally built stand-ins (fixtures/build/workload-images.sh imports
 * edgeproof.local/e2e-library/{nginx:1.14-alpine,busybox:1.29} on every node).
 * Every other registry stays as it is: a spec that needs one of its images
 * fails on the pull, which is the truth about this cluster.
 */
export const LOCAL_E2E_LIBRARY = 'edgeproof.local/e2e-library';
export const LOCAL_E2E_IMAGES = [`${LOCAL_E2E_LIBRARY}/nginx:1.14-alpine`, `${LOCAL_E2E_LIBRARY}/busybox:1.29`];

export function localRepoList(): string {
  return toYaml({ dockerLibraryRegistry: LOCAL_E2E_LIBRARY });
}

/** The release team's image of the version: e2e.test, ginkgo and the go-runner (hydrophone's default --image). */
export function conformanceImage(version: string, registry = 'k8s.gcr.io'): string {
  return `${registry}/conformance:${version}`;
}

/** `e2e.test --list-images` (v1.20 has the flag): every image the suite may run, as it would pull them. */
export async function listE2eImages(e2eTest: string, signal?: AbortSignal): Promise<string[]> {
  const { stdout } = await hostRun(e2eTest, ['--list-images'], { env: { ...process.env, KUBE_TEST_REPO_LIST: '' }, ...(signal ? { signal } : {}) });
  return parseImageList(stdout);
}

export function parseImageList(text: string): string[] {
  return [...new Set(text.split('\n').map((l) => l.trim()).filter((l) => /^[a-z0-9.-]+(:\d+)?\/\S+:\S+$/i.test(l)))].sort();
}

const MIRROR = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9._-]+)*$/;

/** A mirror registry as given to --mirror: host[:port][/path], no scheme. */
export function parseMirror(text: string): string {
  const mirror = text.trim().replace(/\/+$/, '');
  if (!MIRROR.test(mirror)) {
    throw new UsageError(`Invalid mirror registry "${text}"`, 'give host[:port][/path] without a scheme, e.g. registry.lan:5000 or registry.lan/k8s');
  }
  return mirror;
}

/**
 * For an air-gapped mirror (CONF-5): each image copied to `<mirror>/<image>`
 * (its registry host becomes a path segment, so nothing collides), and the
 * repo list that makes the suite pull exactly those names.
 */
export interface MirrorPlan {
  /** "source target" lines: `while read s t; do skopeo copy docker://$s docker://$t; done`. */
  copies: { source: string; target: string }[];
  repoListYaml: string;
  conformanceImage: { source: string; target: string };
}

export function mirrorPlan(images: string[], mirror: string, version: string): MirrorPlan {
  const to = (source: string) => ({ source, target: `${mirror}/${source}` });
  // The invalid registry is there to fail (image-pull error specs): it stays as it is, never copied.
  const invalid = `${E2E_REGISTRY_DEFAULTS.invalidRegistry}/`;
  const repoList = Object.fromEntries(Object.entries(E2E_REGISTRY_DEFAULTS).map(([key, registry]) => [key, key === 'invalidRegistry' ? registry : `${mirror}/${registry}`]));
  const conformance = to(conformanceImage(version));
  return { copies: [...images.filter((i) => !i.startsWith(invalid)).map(to), conformance], repoListYaml: toYaml(repoList), conformanceImage: conformance };
}
