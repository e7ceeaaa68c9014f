import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { distributionByName } from '../distros/registry.js';
import { UPSTREAM_GUEST_PACKAGES, PAUSE_IMAGE, WORKLOAD_IMAGE } from '../distros/upstream/artifacts.js';
import { BASE_GUEST_PACKAGES } from '../emulation/images/guest-images.js';
import { ADDON_IMAGES } from '../suites/addons/images.js';
import { mirrorRef, parseMirror, renderImages, type ImagesOptions } from './images-command.js';
import { parseImagesOptions } from './images-options.js';

const golden = (name: string) => `../../fixtures/golden/airgap/${name}`;
/** No --cache-dir: no cache keys, so the listing is the same on every machine. */
const listing = (options: Partial<ImagesOptions>) => renderImages({ distro: 'upstream', arch: 'arm64', suites: ['smoke', 'footprint', 'api-latency'], addons: [], format: 'text', ...options });

describe('edgeproof images (golden)', () => {
  it('upstream: nothing for --airgap DIR; Debian sources and packages, the built binaries and workload images', async () => {
    await expect(await listing({})).toMatchFileSnapshot(golden('images-upstream-arm64.txt'));
  });

  it('k3s with the lb suite: its air-gap files, its images tarball, the suite addons\' images', async () => {
    await expect(await listing({ distro: 'k3s', arch: 'amd64', suites: ['smoke', 'lb'] })).toMatchFileSnapshot(golden('images-k3s-amd64-lb.txt'));
  });

  it('microk8s with ingress, as a mirror: src -> mirror refs and MicroK8s hosts.toml per registry', async () => {
    await expect(await listing({ distro: 'microk8s', suites: ['smoke', 'ingress'], format: 'mirror', mirror: 'registry.lan:5000' })).toMatchFileSnapshot(golden('mirror-microk8s-arm64-ingress.txt'));
  });

  it('k3s as a mirror: registries.yaml with a rewrite per registry', async () => {
    await expect(await listing({ distro: 'k3s', suites: ['lb'], addons: ['metallb'], format: 'mirror', mirror: 'http://10.0.0.5:5000' })).toMatchFileSnapshot(golden('mirror-k3s-arm64-metallb.txt'));
  });

  it('minikube as JSON', async () => {
    await expect(await listing({ distro: 'minikube', arch: 'amd64', format: 'json' })).toMatchFileSnapshot(golden('images-minikube-amd64.json'));
  });

  it('upstream as a mirror with the storage suite on arm64: containerd hosts.toml, and the images with no arm64 build said', async () => {
    const out = await listing({ suites: ['storage'], format: 'mirror', mirror: 'registry.lan' });
    await expect(out).toMatchFileSnapshot(golden('mirror-upstream-arm64-storage.txt'));
    expect(out).toContain('# no arm64 build: docker.io/openebs/mayastor-io-engine');
  });
});

describe('the listing comes from the drivers\' own data', () => {
  it('k3s: exactly the files its preflight and install plans read from --airgap', async () => {
    const json = JSON.parse(await listing({ distro: 'k3s', format: 'json' })) as { files: { name: string; airgap: boolean }[] };
    const k3s = distributionByName('k3s');
    expect(json.files.filter((f) => f.airgap).map((f) => f.name)).toEqual(k3s.airgapFiles!('arm64').map((f) => f.name));
    for (const file of k3s.airgapFiles!('arm64')) expect(file.pattern.test(file.name), file.name).toBe(true);
  });

  it('microk8s and minikube: every listed name matches the pattern the driver looks for', () => {
    for (const name of ['microk8s', 'minikube']) for (const file of distributionByName(name).airgapFiles!('arm64')) expect(file.pattern.test(file.name), `${name} ${file.name}`).toBe(true);
  });

  it('upstream: the guest packages, the workload images, the addon images of a suite', async () => {
    const json = JSON.parse(await listing({ suites: ['mesh'], format: 'json' })) as { files: { name: string; what: string }[]; images: { ref: string }[] };
    const rootfs = json.files.filter((f) => f.what === 'guest root filesystem').map((f) => f.name.replace(/:arm64$/, ''));
    expect(rootfs).toEqual([...new Set([...BASE_GUEST_PACKAGES, ...UPSTREAM_GUEST_PACKAGES])].sort());
    const refs = json.images.map((i) => i.ref);
    expect(refs).toEqual(expect.arrayContaining([WORKLOAD_IMAGE, PAUSE_IMAGE, ...[...ADDON_IMAGES.istio, ...ADDON_IMAGES.linkerd].map((e) => ('ref' in e ? e.ref : e.manifest))]));
  });
});

describe('mirror references and flags', () => {
  it('keeps the upstream registry in the mirror path, with library/ for Docker Hub official images', () => {
    const mirror = parseMirror('registry.lan:5000');
    expect(mirror).toEqual({ host: 'registry.lan:5000', scheme: 'https' });
    expect(mirrorRef('quay.io/metallb/controller:v0.14.8', 'quay.io', mirror)).toBe('registry.lan:5000/quay.io/metallb/controller:v0.14.8');
    expect(mirrorRef('traefik:v3.2.2', 'docker.io', mirror)).toBe('registry.lan:5000/docker.io/library/traefik:v3.2.2');
    expect(parseMirror('http://10.0.0.5:5000/')).toEqual({ host: '10.0.0.5:5000', scheme: 'http' });
    expect(() => parseMirror('ftp://x')).toThrow(UsageError);
  });

  it('validates flags the way run does', () => {
    expect(parseImagesOptions({})).toMatchObject({ distro: 'upstream', arch: 'arm64', format: 'text', suites: ['smoke', 'footprint', 'api-latency'] });
    expect(parseImagesOptions({ board: 'x86-vm', addon: ['metallb:10.0.0.10-10.0.0.20'] })).toMatchObject({ arch: 'amd64', addons: ['metallb'] });
    expect(() => parseImagesOptions({ board: 'rpi4', arch: 'amd64' })).toThrow(/--board and --arch/);
    expect(() => parseImagesOptions({ arch: 'riscv64' })).toThrow(/Unknown architecture "riscv64"/);
    expect(() => parseImagesOptions({ format: 'mirror' })).toThrow(/--format mirror needs --mirror/);
    expect(() => parseImagesOptions({ mirror: 'r:5000' })).toThrow(/--mirror applies to --format mirror/);
    expect(() => parseImagesOptions({ suite: 'smoke,bogus' })).toThrow(/Unknown suite "bogus"/);
  });
});
