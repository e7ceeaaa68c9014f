/**
 * `edgeproof images`: every file and container image a chosen run needs,
 * with where each comes from (hydrophone's --list-images, MicroK8s' and
 * K3s' air-gap recipes), as text, JSON, or what a registry mirror needs:
 * `src -> mirror` references and the containerd / K3s / MicroK8s config.
 */
import { UsageError } from '../core/errors.js';
import type { Arch } from '../emulation/boards.js';
import type { RunNeeds } from '../cluster/run-needs.js';

export const IMAGE_FORMATS = ['text', 'json', 'mirror'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface ImagesOptions {
  distro: string;
  version?: string;
  channel?: string;
  arch: Arch;
  suites: string[];
  addons: string[];
  format: ImageFormat;
  /** --format mirror: the mirror registry, host[:port] or a URL (https unless http:// is given). */
  mirror?: string;
  cacheDir?: string;
}

/** What a run needs: the distribution's files and images, then the suites'. */
export interface ImagesListing extends RunNeeds {
  suites: string[];
  /** Suite images with no build for this arch. */
  notForArch: string[];
}

export async function imagesCommand(options: ImagesOptions): Promise<number> {
  process.stdout.write(await renderImages(options));
  return 0;
}

/** The listing in the chosen format (the command's whole output). */
export async function renderImages(options: ImagesOptions): Promise<string> {
  const { distributionByName } = await import('../distros/registry.js');
  const { suiteImageNeeds, suiteImagesWithoutArch } = await import('../suites/suite-images.js');
  const distribution = distributionByName(options.distro, { ...(options.version ? { version: options.version } : {}), ...(options.channel ? { channel: options.channel } : {}) });
  if (!distribution.needs) throw new UsageError(`${distribution.name} cannot say what it needs`);
  const needs = await distribution.needs(options.arch, options.cacheDir ? { cacheDir: options.cacheDir } : {});
  const listing: ImagesListing = {
    ...needs,
    suites: options.suites,
    images: [...needs.images, ...suiteImageNeeds(options.suites, options.arch, options.addons)],
    notForArch: suiteImagesWithoutArch(options.suites, options.arch, options.addons),
  };
  if (options.format === 'json') return `${JSON.stringify(listing, null, 2)}\n`;
  return options.format === 'mirror' ? renderMirror(listing, parseMirror(options.mirror)) : renderText(listing);
}

/** The listing for people: what goes in --airgap DIR, what the host builds or fetches, and the images. */
export function renderText(listing: ImagesListing): string {
  const lines = [`# edgeproof images: ${listing.distro} ${listing.version} on ${listing.arch}, suites ${listing.suites.join(',')}`, ''];
  const airgap = listing.files.filter((f) => f.airgap);
  lines.push(airgap.length ? `Files for --airgap DIR (${listing.distro} installs from them; fetch on a machine with internet):` : `Files for --airgap DIR: none (${listing.distro} reads nothing from it; the run proves it needs nothing from outside)`);
  for (const f of airgap) lines.push(`  ${f.name}  [${f.kind}] ${f.what}`, `    from: ${f.source}`, ...(f.fetch ? [`    fetch: ${f.fetch}`] : []));
  lines.push('', 'Built or fetched on the harness host before anything boots (cached):');
  for (const f of listing.files.filter((f) => !f.airgap && f.kind !== 'debian-package')) {
    const cache = f.cacheKey ? ` (cache key ${f.cacheKey}, ${f.built ? 'built' : 'not built yet'})` : '';
    lines.push(`  ${f.name}  [${f.kind}] ${f.what}${cache}`, `    from: ${f.source}`);
  }
  const groups = new Map<string, string[]>();
  for (const f of listing.files.filter((f) => f.kind === 'debian-package')) {
    const key = `${f.what}${f.only ? `, ${f.only} only` : ''} from ${f.source}`;
    groups.set(key, [...(groups.get(key) ?? []), f.name]);
  }
  for (const [key, names] of groups) lines.push(`  Debian packages, ${key}:`, `    ${names.join(' ')}`);
  lines.push('', 'Container images:');
  for (const image of listing.images) {
    const state = image.cacheKey ? ` (cache key ${image.cacheKey}, ${image.built ? 'built' : 'not built yet'})` : '';
    const what = image.listedIn ? `images listed in ${image.ref}` : image.ref;
    lines.push(`  ${what}  [${image.registry}] ${image.archs.join(',')}  needed by ${image.neededBy}${state}`, ...(image.note ? [`    ${image.note}`] : []));
  }
  for (const missing of listing.notForArch) lines.push(`  no ${listing.arch} build: ${missing}`);
  return `${lines.join('\n')}\n`;
}

export interface Mirror {
  /** host[:port] */
  host: string;
  scheme: 'https' | 'http';
}

export function parseMirror(text: string | undefined): Mirror {
  if (!text?.trim()) throw new UsageError('--format mirror needs --mirror HOST[:PORT]', 'e.g. --mirror registry.lan:5000 (https), or --mirror http://registry.lan:5000');
  const match = /^(?:(https?):\/\/)?([A-Za-z0-9.-]+(?::\d{1,5})?)\/?$/.exec(text.trim());
  if (!match) throw new UsageError(`--mirror "${text}" is not a registry host[:port] or URL`, 'e.g. --mirror registry.lan:5000 or --mirror http://10.0.0.5:5000');
  return { host: match[2]!, scheme: (match[1] as Mirror['scheme'] | undefined) ?? 'https' };
}

/** A reference as the mirror serves it: under the upstream registry's name, so one mirror holds several registries. */
export function mirrorRef(ref: string, registry: string, mirror: Mirror): string {
  const path = ref.startsWith(`${registry}/`) ? ref.slice(registry.length + 1) : ref;
  return `${mirror.host}/${registry}/${registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path}`;
}

const UPSTREAM_SERVER: Record<string, string> = { 'docker.io': 'https://registry-1.docker.io' };

/**
 * What a mirror needs: `src -> mirror` lines for `crane copy` / `skopeo copy
 * --all`, the images only a manifest names, and the registry configuration
 * for the chosen distribution (containerd hosts.toml, K3s registries.yaml,
 * MicroK8s' hosts.toml under its snap).
 */
export function renderMirror(listing: ImagesListing, mirror: Mirror): string {
  const pulled = listing.images.filter((i) => i.registry !== 'local' && !i.listedIn);
  const listed = listing.images.filter((i) => i.listedIn);
  const local = listing.images.filter((i) => i.registry === 'local');
  const lines = [
    `# edgeproof mirror list: ${listing.distro} ${listing.version} on ${listing.arch}, suites ${listing.suites.join(',')}; mirror ${mirror.scheme}://${mirror.host}`,
    '# src -> mirror (copy each with all its platforms: crane copy / skopeo copy --all)',
    ...pulled.map((i) => `${i.ref} -> ${mirrorRef(i.ref, i.registry, mirror)}`),
    ...listed.map((i) => `# mirror every image listed in ${i.ref} (${i.neededBy}) the same way`),
    ...local.map((i) => `# ${i.ref}: built here and imported on every node, never mirrored`),
    ...listing.notForArch.map((m) => `# no ${listing.arch} build: ${m}`),
  ];
  const registries = [...new Set([...pulled.map((i) => i.registry), ...listed.flatMap((i) => i.registry.split(', ').filter((r) => /^[a-z0-9.-]+\.[a-z]+(:\d+)?$/.test(r)))])].sort();
  lines.push('', ...registryConfig(listing.distro, registries, mirror));
  return `${lines.join('\n')}\n`;
}

function registryConfig(distro: string, registries: string[], mirror: Mirror): string[] {
  if (registries.length === 0) return [`# ${distro} pulls nothing for these suites: no registry configuration needed`];
  const endpoint = `${mirror.scheme}://${mirror.host}`;
  if (distro === 'k3s') {
    return [
      '# /etc/rancher/k3s/registries.yaml on every node (https://docs.k3s.io/installation/private-registry), then restart k3s',
      'mirrors:',
      ...registries.flatMap((r) => [`  ${r}:`, '    endpoint:', `      - "${endpoint}"`, '    rewrite:', `      "^(.*)$": "${r}/$1"`]),
    ];
  }
  const dir = distro === 'microk8s' ? '/var/snap/microk8s/current/args/certs.d' : '/etc/containerd/certs.d';
  const lines = [
    distro === 'microk8s'
      ? `# MicroK8s (https://microk8s.io/docs/registry-private): one hosts.toml per registry under ${dir}, then \`snap restart microk8s\``
      : `# containerd: one hosts.toml per registry under ${dir}; the CRI plugin needs config_path = "${dir}" (plugins."io.containerd.grpc.v1.cri".registry)`,
  ];
  for (const r of registries) {
    lines.push(`# ${dir}/${r}/hosts.toml`, `server = "${UPSTREAM_SERVER[r] ?? `https://${r}`}"`, '', `[host."${endpoint}/v2/${r}"]`, '  capabilities = ["pull", "resolve"]', '  override_path = true', '');
  }
  return lines;
}
