import { stringify as toYaml } from 'yaml';
import { UsageError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';
import { LOCAL_E2E_REGISTRIES } from '../../cluster/e2e-images.js';

/**
 * Where the e2e suite takes its images from. Kubernetes v1.35's suite reads
 * the registries of test/utils/image/manifest.go (RegistryList) from the
 * YAML file named by KUBE_TEST_REPO_LIST (keys below, with their defaults);
 * an image is `<registry>/<name>:<tag>`.
 */
export const E2E_REGISTRY_DEFAULTS = {
  promoterE2eRegistry: 'registry.k8s.io/e2e-test-images',
  buildImageRegistry: 'registry.k8s.io/build-image',
  invalidRegistry: 'invalid.registry.k8s.io/invalid',
  gcEtcdRegistry: 'registry.k8s.io',
  gcRegistry: 'registry.k8s.io',
  sigStorageRegistry: 'registry.k8s.io/sig-storage',
  privateRegistry: 'gcr.io/k8s-authenticated-test',
  dockerLibraryRegistry: 'docker.io/library',
  cloudProviderGcpRegistry: 'registry.k8s.io/cloud-provider-gcp',
} as const;

/**
 * On this project's own nodes: the e2e images come from the ones built here
 * and imported on every node (cluster/e2e-images.ts: agnhost from the
 * Kubernetes module, stand-ins for busybox, nginx and pause). Every other
 * registry stays as it is: a spec that needs one of its images fails on the
 * pull, which is the truth about this cluster.
 */
export function localRepoList(): string {
  return toYaml({ ...LOCAL_E2E_REGISTRIES });
}

/** The release team's image of the version: e2e.test, ginkgo and the go-runner (hydrophone's default --image). */
export function conformanceImage(version: string, registry = 'registry.k8s.io'): string {
  return `${registry}/conformance:${version}`;
}

/** `e2e.test --list-images`: every image the suite may run, as it would pull them. */
export async function listE2eImages(e2eTest: string, signal?: AbortSignal): Promise<string[]> {
  const { stdout } = await hostRun(e2eTest, ['--list-images'], { env: { ...process.env, KUBE_TEST_REPO_LIST: '' }, ...(signal ? { signal } : {}) });
  return parseImageList(stdout);
}

export function parseImageList(text: string): string[] {
  return [...new Set(text.split('\n').map((l) => l.trim()).filter((l) => /^[a-z0-9.-]+(:\d+)?\/\S+:\S+$/i.test(l)))].sort();
}

/**
 * The image the suite pulls for a name `--list-images` prints under a repo
 * list. Images of manifest.go are printed with the list's registries already;
 * the CSI drivers' manifests are printed as written and mapped only when
 * deployed (ReplaceRegistryInImageURL: a registry that is exactly one of the
 * defaults becomes the list's value for that key).
 */
export function pulledAs(listed: string, repoList: Partial<Record<keyof typeof E2E_REGISTRY_DEFAULTS, string>>): string {
  const slash = listed.lastIndexOf('/');
  const registry = listed.slice(0, slash);
  const key = (Object.keys(E2E_REGISTRY_DEFAULTS) as (keyof typeof E2E_REGISTRY_DEFAULTS)[]).find((k) => k !== 'gcEtcdRegistry' && E2E_REGISTRY_DEFAULTS[k] === registry);
  const mapped = key ? repoList[key] : undefined;
  return mapped ? `${mapped}${listed.slice(slash)}` : listed;
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
