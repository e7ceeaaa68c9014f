import type { Arch } from '../../emulation/boards.js';
import type { AddonName } from '../../cluster/addons/catalog.js';
import pins from '../../../fixtures/addon-versions.json' with { type: 'json' };

/**
 * Every image an addon suite needs, per architecture, for air-gapped mirrors
 * (hydrophone's --list-images idea). Addon images are the principal ones
 * of each pinned release (fixtures/addon-versions.json); where a release pins
 * its images by digest inside its manifests, the entry says which manifest
 * to mirror instead of guessing a tag.
 */
export type ImageEntry =
  | { ref: string; archs: Arch[]; note?: string }
  /** Images referenced by digest in a manifest: mirror that manifest's `image:` lines. */
  | { manifest: string; archs: Arch[]; note: string };

export const ADDON_SUITE_NAMES = ['lb', 'ingress', 'storage', 'mesh', 'serverless', 'kata', 'strict'] as const;
export type AddonSuiteName = (typeof ADDON_SUITE_NAMES)[number];

const BOTH: Arch[] = ['amd64', 'arm64'];
const image = (ref: string, archs: Arch[] = BOTH, note?: string): ImageEntry => ({ ref, archs, ...(note ? { note } : {}) });
const v = (name: keyof typeof pins) => (pins[name] as { version: string }).version;

/** Images of each addon (its controllers, agents, sidecars), multi-arch unless said. */
export const ADDON_IMAGES: Record<AddonName, ImageEntry[]> = {
  metallb: [image(`quay.io/metallb/controller:${v('metallb')}`), image(`quay.io/metallb/speaker:${v('metallb')}`)],
  servicelb: [image('docker.io/rancher/klipper-lb:v0.4.9', BOTH, 'bundled with K3s; its air-gap images tarball carries it')],
  'ingress-nginx': [image(`registry.k8s.io/ingress-nginx/controller:${v('ingress-nginx').replace('controller-', '')}`), image('registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.4')],
  traefik: [image('docker.io/library/traefik:v3.2.2', BOTH, 'K3s bundles rancher/mirrored-library-traefik')],
  'openebs-jiva': [image(`docker.io/openebs/jiva:${v('openebs-jiva')}`), image(`docker.io/openebs/jiva-operator:${v('openebs-jiva')}`), image(`docker.io/openebs/jiva-csi:${v('openebs-jiva')}`)],
  'openebs-mayastor': [
    image(`docker.io/openebs/mayastor-io-engine:v${v('openebs-mayastor')}`, ['amd64'], 'x86-64 with SSE4.2 only'),
    image(`docker.io/openebs/mayastor-agent-core:v${v('openebs-mayastor')}`, ['amd64']),
    image(`docker.io/openebs/mayastor-api-rest:v${v('openebs-mayastor')}`, ['amd64']),
    image(`docker.io/openebs/mayastor-csi-controller:v${v('openebs-mayastor')}`, ['amd64']),
    image(`docker.io/openebs/mayastor-csi-node:v${v('openebs-mayastor')}`, ['amd64']),
  ],
  longhorn: [
    ...['longhorn-manager', 'longhorn-engine', 'longhorn-instance-manager', 'longhorn-share-manager', 'longhorn-ui'].map((name) => image(`docker.io/longhornio/${name}:${v('longhorn')}`)),
    { manifest: pins.longhorn.manifest, archs: BOTH, note: 'the CSI sidecars (longhornio/csi-*) are listed in the manifest' },
  ],
  istio: [image(`docker.io/istio/pilot:${v('istio')}`), image(`docker.io/istio/proxyv2:${v('istio')}`, BOTH, 'the injected sidecar and the ingress gateway')],
  linkerd: ['controller', 'proxy', 'policy-controller'].map((name) => image(`cr.l5d.io/linkerd/${name}:${v('linkerd')}`)).concat(image('cr.l5d.io/linkerd/proxy-init:v2.2.3')),
  knative: pins.knative.manifests.map((manifest) => ({ manifest, archs: BOTH, note: 'Knative releases pin images by digest' })),
  openfaas: [
    { manifest: `${pins.openfaas.helmRepo} chart ${pins.openfaas.chart} ${pins.openfaas.version}`, archs: BOTH, note: 'gateway, faas-netes, queue-worker and nats: `helm template` lists them' },
    image('ghcr.io/openfaas/alpine:latest', BOTH, 'the suite\'s function (classic watchdog, fprocess=cat)'),
  ],
  kata: [image(`quay.io/kata-containers/kata-deploy:${v('kata')}`)],
  'strict-confinement': [],
};

/** Which addons each suite may use. */
export const SUITE_ADDONS: Record<AddonSuiteName, AddonName[]> = {
  lb: ['metallb', 'servicelb'],
  ingress: ['ingress-nginx', 'traefik'],
  storage: ['openebs-jiva', 'openebs-mayastor', 'longhorn'],
  mesh: ['istio', 'linkerd'],
  serverless: ['knative', 'openfaas'],
  kata: ['kata'],
  strict: ['strict-confinement'],
};

/** The suites' own workload image: built locally per architecture (fixtures/build/workload-images.sh), never pulled. */
export const WORKLOAD_IMAGE_NOTE = 'edgeproof.local/busybox:1.35 is built per architecture from Debian\'s busybox-static and imported on every node; it is not mirrored';

/** The images `suites` need on `arch`: entries whose architectures include it. */
export function suiteImages(suites: readonly AddonSuiteName[], arch: Arch): ImageEntry[] {
  const seen = new Set<string>();
  const out: ImageEntry[] = [];
  for (const suite of suites) {
    for (const addon of SUITE_ADDONS[suite]) {
      for (const entry of ADDON_IMAGES[addon]) {
        const key = 'ref' in entry ? entry.ref : entry.manifest;
        if (!entry.archs.includes(arch) || seen.has(key)) continue;
        seen.add(key);
        out.push(entry);
      }
    }
  }
  return out;
}

/**
 * The mirror list: one image reference a line (what `crane copy` / `skopeo
 * copy --all` loops over), and `#` comment lines for what must be taken from a
 * manifest and for images with no build for this architecture.
 */
export function mirrorList(suites: readonly AddonSuiteName[], arch: Arch): string {
  const lines = [`# edgeproof addon suites ${suites.join(',')} on ${arch}`, `# ${WORKLOAD_IMAGE_NOTE}`];
  for (const entry of suiteImages(suites, arch)) {
    lines.push('ref' in entry ? entry.ref : `# from ${entry.manifest}: ${entry.note}`);
  }
  const missing = suites.flatMap((s) => SUITE_ADDONS[s]).flatMap((addon) => ADDON_IMAGES[addon].filter((e) => !e.archs.includes(arch)).map((e) => `# no ${arch} build: ${'ref' in e ? e.ref : e.manifest} (${addon})`));
  return [...lines, ...new Set(missing)].join('\n') + '\n';
}
