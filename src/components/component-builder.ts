import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactDir, ensureArtifact, sha256File, type ArtifactContext } from '../core/artifact-cache.js';
import { CommandFailedError, PrerequisiteMissingError, UsageError } from '../core/errors.js';
import { hostRun } from '../core/host-exec.js';
import { componentCatalog, expandVersion, selectedPackages, type Component, type ComponentArch } from './component.js';
import { ComponentBuildError, type GoFailureContext } from './go-failure.js';
import { localReplaces, renderGoMod } from './go-module.js';
import { findGoToolchains, requireGoToolchain, GO_DOWNLOAD_HINT, type GoToolchain } from './go-toolchain.js';

/** Bump when the way a component is built changes on purpose (its cache key changes with it). */
const BUILD_RECIPE = 1;
export const COMPONENT_RECORD = 'component.json';
export const COMPONENT_KIND = 'components';
const PROJECT_MODULE = 'edgeproof.local/build';

export interface ComponentContext extends ArtifactContext {
  /** Default <cacheDir>/go-mod and <cacheDir>/go-build: reused by every build and run. */
  goModCache?: string;
  goBuildCache?: string;
  /** Extra environment for go (GOPROXY, say), over the host's. */
  env?: Record<string, string>;
}

export interface ComponentOptions {
  /** Optional packages to build too (kubectl, kubeadm). */
  withOptional?: readonly string[];
}

/** What the cache keeps beside the binaries: what was built, with what, and each file's checksum. */
export interface ComponentRecord {
  component: string;
  module: string;
  version: string;
  goVersion: string;
  arch: ComponentArch;
  packages: Record<string, string>;
  tags: string[];
  cgo: boolean;
  ldflags: string;
  /** binary name -> sha256 */
  files: Record<string, string>;
}

export interface BuiltComponent {
  dir: string;
  key: string;
  built: boolean;
  record: ComponentRecord;
}

interface BuildPlan {
  component: Component;
  arch: ComponentArch;
  /** The newest toolchain found; checked against the module's go directive when the build starts. */
  toolchain: GoToolchain;
  packages: Record<string, string>;
  ldflags: string;
  cc?: { compiler: string; version: string; pkgConfigLibdir: string };
}

/**
 * The component's binaries for `arch`, built from its module with the Go
 * toolchain it needs, cached by every input (module, version, go version,
 * packages, tags, ldflags, cgo and compiler, arch), checksummed, verified,
 * rebuilt when corrupt and published atomically.
 */
export async function ensureComponent(ctx: ComponentContext, component: Component, arch: ComponentArch, options: ComponentOptions = {}): Promise<BuiltComponent> {
  const plan = await planBuild(component, arch, options);
  const artifact = await ensureArtifact(ctx, {
    kind: COMPONENT_KIND,
    label: `${component.name} ${component.version} for ${arch}`,
    inputs: buildInputs(plan),
    build: (out, work, signal) => buildComponent(ctx, plan, out, work, signal),
  });
  const record = JSON.parse(readFileSync(join(artifact.dir, COMPONENT_RECORD), 'utf8')) as ComponentRecord;
  return { dir: artifact.dir, key: artifact.key, built: artifact.built, record };
}

/** Where ensureComponent keeps (or would keep) the component; asks no network, builds nothing. */
export async function componentArtifactDir(cacheDir: string, component: Component, arch: ComponentArch, options: ComponentOptions = {}): Promise<string> {
  const plan = await planBuild(component, arch, options);
  return artifactDir(cacheDir, { kind: COMPONENT_KIND, inputs: buildInputs(plan) });
}

/** The cache key's inputs. The module's own go.mod (go directive, replaces) is a function of module@version, so it is not among them. */
function buildInputs(plan: BuildPlan): Record<string, unknown> {
  const { component, arch, toolchain, packages, ldflags, cc } = plan;
  return {
    recipe: BUILD_RECIPE,
    module: component.module,
    version: component.version,
    go: toolchain.version,
    arch,
    packages,
    tags: component.tags,
    ldflags,
    buildmode: component.buildmode ?? 'default',
    cgo: cc ? `${cc.compiler} ${cc.version}` : false,
    replaces: component.replaces,
  };
}

async function planBuild(component: Component, arch: ComponentArch, options: ComponentOptions): Promise<BuildPlan> {
  if (!component.archs.includes(arch)) throw new UsageError(`Component ${component.name} is not built for ${arch}`, `its architectures: ${component.archs.join(', ')}`);
  const packages = selectedPackages(component, options.withOptional);
  const toolchain = (await findGoToolchains())[0];
  if (!toolchain) throw new PrerequisiteMissingError(`Go >= ${componentCatalog().goMinimum} (the component builder runs go)`, GO_DOWNLOAD_HINT);
  const ldflags = component.ldflags.map((flag) => expandVersion(flag, component.version)).join(' ');
  const cc = component.cgo ? await crossCompiler(arch) : undefined;
  return { component, arch, toolchain, packages, ldflags, ...(cc ? { cc } : {}) };
}

function failureContext(ctx: ComponentContext, component: Component, arch: string, step: string): GoFailureContext {
  return { component: component.name, module: component.module, version: component.version, arch, cacheDir: ctx.cacheDir, step };
}

function goEnv(ctx: ComponentContext, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    GOTOOLCHAIN: 'local',
    GOMODCACHE: ctx.goModCache ?? join(ctx.cacheDir, 'go-mod'),
    GOCACHE: ctx.goBuildCache ?? join(ctx.cacheDir, 'go-build'),
    GOFLAGS: '-modcacherw',
    GOWORK: 'off',
    GO111MODULE: 'on',
    ...extra,
    ...ctx.env,
  };
}

/** Runs go; a failure becomes a ComponentBuildError with go's output, an abort stays an abort. */
async function runGo(ctx: ComponentContext, toolchain: GoToolchain, args: string[], failure: GoFailureContext, options: { cwd: string; env?: Record<string, string>; signal?: AbortSignal }): Promise<string> {
  try {
    const { stdout } = await hostRun(toolchain.path, args, { cwd: options.cwd, env: goEnv(ctx, options.env), ...(options.signal ? { signal: options.signal } : {}) });
    return stdout;
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : error;
    if (!(error instanceof CommandFailedError)) throw error;
    throw new ComponentBuildError(failure, [error.outcome.stderr, error.outcome.stdout].filter(Boolean).join('\n'), { cause: error });
  }
}

/** `go list -m -json module@version`: proves the proxy serves it and reads its go directive and go.mod. */
async function goModuleInfo(ctx: ComponentContext, toolchain: GoToolchain, component: Component, failure: GoFailureContext, cwd: string, signal: AbortSignal): Promise<{ goVersion: string; goModPath: string }> {
  const stdout = await runGo(ctx, toolchain, ['list', '-m', '-json', `${component.module}@${component.version}`], failure, { cwd, signal });
  const info = JSON.parse(stdout) as { GoVersion?: string; GoMod?: string };
  return { goVersion: info.GoVersion ?? '1.16', goModPath: info.GoMod ?? '' };
}

const HOST_ARCH: Record<string, ComponentArch> = { x64: 'amd64', arm64: 'arm64' };
const GNU_TRIPLET: Record<ComponentArch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const CROSS_PACKAGE: Record<ComponentArch, string> = { amd64: 'gcc-x86-64-linux-gnu', arm64: 'gcc-aarch64-linux-gnu' };

/** The C compiler for a cgo build: the host's gcc natively, Debian's cross gcc otherwise. */
async function crossCompiler(arch: ComponentArch): Promise<NonNullable<BuildPlan['cc']>> {
  const compiler = HOST_ARCH[process.arch] === arch ? 'gcc' : `${GNU_TRIPLET[arch]}-gcc`;
  const pkgConfigLibdir = `/usr/lib/${GNU_TRIPLET[arch]}/pkgconfig:/usr/share/pkgconfig`;
  try {
    const { stdout } = await hostRun(compiler, ['-dumpfullversion']);
    return { compiler, version: stdout.trim(), pkgConfigLibdir };
  } catch (error) {
    const pkg = compiler === 'gcc' ? 'gcc' : CROSS_PACKAGE[arch];
    throw new PrerequisiteMissingError(`${compiler} (cgo build for ${arch})`, `apt-get install -y --no-install-recommends ${pkg}`, { cause: error });
  }
}

async function buildComponent(ctx: ComponentContext, plan: BuildPlan, out: string, work: string, signal: AbortSignal): Promise<void> {
  const { component, arch, toolchain, packages, ldflags, cc } = plan;
  const moduleDir = join(work, 'module');
  mkdirSync(moduleDir, { recursive: true });
  const info = await goModuleInfo(ctx, toolchain, component, failureContext(ctx, component, arch, 'resolving the module'), moduleDir, signal);
  await requireGoToolchain(info.goVersion, `${component.module}@${component.version} declares go ${info.goVersion}`);
  const replaces = component.replaces.from === 'local-paths' ? localReplaces(readFileSync(info.goModPath, 'utf8'), expandVersion(component.replaces.version, component.version)) : new Map<string, string>();
  const goMod = renderGoMod({ module: `${PROJECT_MODULE}/${component.name}`, goVersion: info.goVersion, require: { module: component.module, version: component.version }, replaces });
  writeFileSync(join(moduleDir, 'go.mod'), goMod);

  ctx.progress.info(`go get ${component.module}@${component.version} (${Object.keys(packages).join(", ")}; go ${toolchain.version})`);
  const getFailure = failureContext(ctx, component, arch, 'go get');
  await runGo(ctx, toolchain, ['get', ...Object.values(packages).map((pkg) => `${pkg}@${component.version}`)], getFailure, { cwd: moduleDir, signal });

  const buildEnv: Record<string, string> = { GOOS: 'linux', GOARCH: arch, CGO_ENABLED: cc ? '1' : '0', ...(cc ? { CC: cc.compiler, PKG_CONFIG_LIBDIR: cc.pkgConfigLibdir } : {}) };
  const flags = ['-trimpath', ...(component.buildmode ? [`-buildmode=${component.buildmode}`] : []), ...(component.tags.length ? ['-tags', component.tags.join(',')] : []), '-ldflags', ldflags];
  const buildFailure = failureContext(ctx, component, arch, 'go build');
  for (const [binary, pkg] of Object.entries(packages)) {
    ctx.progress.info(`go build ${binary} for ${arch}`);
    await runGo(ctx, toolchain, ['build', ...flags, '-o', join(out, binary), pkg], buildFailure, { cwd: moduleDir, env: buildEnv, signal });
  }
  const record: ComponentRecord = {
    component: component.name,
    module: component.module,
    version: component.version,
    goVersion: toolchain.version,
    arch,
    packages,
    tags: component.tags,
    cgo: Boolean(cc),
    ldflags,
    files: Object.fromEntries(await Promise.all(Object.keys(packages).map(async (binary) => [binary, await sha256File(join(out, binary))] as const))),
  };
  writeFileSync(join(out, COMPONENT_RECORD), `${JSON.stringify(record, null, 2)}\n`);
}
