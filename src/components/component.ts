import { z } from 'zod';
import { EdgeproofError, UsageError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import catalogJson from '../../fixtures/components.json' with { type: 'json' };

/**
 * A component is data: a Go module at a pinned version, the packages built
 * from it (binary name -> import path), how it is built and how it is
 * packaged. The catalog (fixtures/components.json) is the one place pins live.
 */
export const COMPONENT_ARCHS = ['amd64', 'arm64'] as const;
export type ComponentArch = (typeof COMPONENT_ARCHS)[number];

const packagesSchema = z.record(z.string().regex(/^[\w.-]+$/), z.string().min(1));

const componentSchema = z.object({
  module: z.string().min(1),
  version: z.string().regex(/^v\d+\.\d+\.\d+(-[\w.-]+)?$/, 'a module version: a tag (v1.2.3) or a pseudo-version (v0.0.0-20261201000000-abcdef123456)'),
  packages: packagesSchema.refine((p) => Object.keys(p).length > 0, 'at least one package'),
  optionalPackages: packagesSchema.default({}),
  tags: z.array(z.string()).default([]),
  cgo: z.boolean(),
  ldflags: z.array(z.string()).default([]),
  buildmode: z.string().optional(),
  /** local-paths: the module's own `=> ./dir` replaces, each repeated at `version` (its placeholders expanded). */
  replaces: z.discriminatedUnion('from', [z.object({ from: z.literal('none') }), z.object({ from: z.literal('local-paths'), version: z.string() })]),
  archs: z.array(z.enum(COMPONENT_ARCHS)).min(1),
  packaging: z.object({ guestDir: z.string().startsWith('/').optional(), image: z.string().optional() }),
});

const catalogSchema = z.object({
  goMinimum: z.string(),
  components: z.record(componentSchema),
  distros: z.record(z.object({ components: z.array(z.string()), debian: z.record(z.string()) })),
});

export type ComponentSpec = z.infer<typeof componentSchema>;
export interface Component extends ComponentSpec {
  name: string;
}

export interface ComponentCatalog {
  /** The newest `go` directive among the pinned modules: the toolchain the builder needs. */
  goMinimum: string;
  components: Component[];
  distros: Record<string, { components: string[]; debian: Record<string, string> }>;
}

export function parseCatalog(json: unknown): ComponentCatalog {
  const parsed = catalogSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EdgeproofError('INTERNAL', `fixtures/components.json is invalid at ${issue.path.join('.')}: ${issue.message}`);
  }
  const { goMinimum, components, distros } = parsed.data;
  for (const [distro, entry] of Object.entries(distros)) {
    const unknown = entry.components.filter((name) => !(name in components));
    if (unknown.length) throw new EdgeproofError('INTERNAL', `fixtures/components.json: distro ${distro} names unknown components: ${unknown.join(', ')}`);
  }
  return { goMinimum, components: Object.entries(components).map(([name, spec]) => ({ name, ...spec })), distros };
}

let loaded: ComponentCatalog | undefined;
export function componentCatalog(): ComponentCatalog {
  return (loaded ??= parseCatalog(catalogJson));
}

export function findComponent(name: string, catalog = componentCatalog()): Component {
  const component = catalog.components.find((c) => c.name === name);
  if (component) return component;
  const names = catalog.components.map((c) => c.name);
  throw new UsageError(`Unknown component "${name}"${didYouMean(name, names)}`, `known components: ${names.join(', ')}`);
}

/** The components a distribution's run builds, in catalog order; a distro without a catalog entry is a usage error. */
export function distroComponents(distro: string, catalog = componentCatalog()): { components: Component[]; debian: Record<string, string> } {
  const entry = catalog.distros[distro];
  if (!entry) {
    const known = Object.keys(catalog.distros);
    throw new UsageError(`No component catalog for distribution "${distro}"`, `components are listed for: ${known.join(', ')} (the others install their vendors' artifacts)`);
  }
  return { components: entry.components.map((name) => findComponent(name, catalog)), debian: entry.debian };
}

/** The same component at another module version (a pseudo-version of a commit, say). */
export function withVersion(component: Component, version: string): Component {
  const checked = componentSchema.shape.version.safeParse(version);
  if (!checked.success) throw new UsageError(`"${version}" is not a Go module version for ${component.module}`, checked.error.issues[0]!.message);
  return { ...component, version };
}

/** Expands {version}, {semver}, {major}, {minor}, {patch} from the component's version. */
export function expandVersion(template: string, version: string): string {
  const [, major = '', minor = '', patch = ''] = /^v(\d+)\.(\d+)\.(\d+)/.exec(version) ?? [];
  const values: Record<string, string> = { version, semver: version.replace(/^v/, ''), major, minor, patch };
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** Binary name -> import path: the default packages plus the optional ones asked for. */
export function selectedPackages(component: Component, withOptional: readonly string[] = []): Record<string, string> {
  const unknown = withOptional.filter((name) => !(name in component.optionalPackages));
  if (unknown.length) {
    const known = Object.keys(component.optionalPackages);
    throw new UsageError(`Component ${component.name} has no optional package ${unknown.join(', ')}`, known.length ? `optional packages: ${known.join(', ')}` : 'it has none');
  }
  const optional = Object.fromEntries(withOptional.map((name) => [name, component.optionalPackages[name]!]));
  return { ...component.packages, ...optional };
}
