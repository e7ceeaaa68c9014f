import { inspectArtifact, type ArtifactState } from '../core/artifact-cache.js';
import { describeError } from '../core/errors.js';
import { EXIT } from '../core/exit-codes.js';
import { componentCatalog, distroComponents, selectedPackages, type Component, type ComponentArch } from '../components/component.js';
import { componentArtifactDir } from '../components/component-builder.js';
import { findGoToolchains, type GoToolchain } from '../components/go-toolchain.js';
import { formatBytes, renderTable } from './format.js';

/**
 * `edgeproof components`: what a run of a distribution is built from. Each
 * Go-module component with its pinned version and, per architecture, whether
 * this cache holds a whole build of it; then what still comes from Debian.
 * Builds nothing and asks no network.
 */
export interface ComponentsOptions {
  distro: string;
  archs: ComponentArch[];
  cacheDir: string;
  json: boolean;
}

/** 'unknown': the cache key cannot be computed here (no Go toolchain, or no C compiler for a cgo build). */
export type ComponentCacheState = ArtifactState | 'unknown';

export interface ComponentBuildState {
  arch: ComponentArch;
  state: ComponentCacheState;
  sizeBytes: number;
  dir?: string;
  reason?: string;
}

export interface ComponentsListing {
  distro: string;
  cacheDir: string;
  go: { needed: string; found: GoToolchain | null };
  components: { name: string; module: string; version: string; binaries: string[]; builds: ComponentBuildState[] }[];
  debian: { package: string; why: string; archs: ComponentArch[] }[];
}

export async function componentsCommand(options: ComponentsOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const listing = await listComponents(options);
  out.write(options.json ? `${JSON.stringify(listing, null, 2)}\n` : `${renderComponents(listing)}\n`);
  return EXIT.ok;
}

export async function listComponents(options: Omit<ComponentsOptions, 'json'>): Promise<ComponentsListing> {
  const { components, debian } = distroComponents(options.distro);
  const found = (await findGoToolchains())[0] ?? null;
  const entries = await Promise.all(
    components.map(async (component) => ({
      name: component.name,
      module: component.module,
      version: component.version,
      binaries: Object.keys(selectedPackages(component)),
      builds: await Promise.all(options.archs.filter((arch) => component.archs.includes(arch)).map((arch) => buildState(options.cacheDir, component, arch))),
    })),
  );
  return {
    distro: options.distro,
    cacheDir: options.cacheDir,
    go: { needed: componentCatalog().goMinimum, found },
    components: entries,
    debian: Object.entries(debian).map(([name, why]) => ({ package: name, why, archs: options.archs })),
  };
}

async function buildState(cacheDir: string, component: Component, arch: ComponentArch): Promise<ComponentBuildState> {
  try {
    const dir = await componentArtifactDir(cacheDir, component, arch);
    return { arch, dir, ...(await inspectArtifact(dir)) };
  } catch (error) {
    return { arch, state: 'unknown', sizeBytes: 0, reason: describeError(error).split('\n')[0]! };
  }
}

function renderComponents(listing: ComponentsListing): string {
  const rows = listing.components.flatMap((component) =>
    component.builds.map((build) => [component.name, `${component.module}@${component.version}`, build.arch, build.state, build.state === 'built' ? formatBytes(build.sizeBytes) : (build.reason ?? '')]),
  );
  const debianRows = listing.debian.map((entry) => [entry.package, entry.why]);
  const go = listing.go.found ? `go ${listing.go.found.version} (${listing.go.found.path})` : 'no go found';
  return [
    `Components of ${listing.distro} runs, built from their Go modules (cache: ${listing.cacheDir}; needs Go >= ${listing.go.needed}, ${go}):`,
    renderTable(['name', 'module@version', 'arch', 'cache', 'size'], rows, '  '),
    '',
    'From Debian packages:',
    renderTable(['package', 'what for'], debianRows, '  '),
  ].join('\n');
}
