import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrerequisiteMissingError } from '../core/errors.js';
import { hostRun } from '../core/host-exec.js';

/**
 * Builds from the Go module k8s.io/kubernetes at a tag, in a module of the
 * project's own making. Kubernetes' go.mod replaces its ~30 staging modules
 * (k8s.io/api, k8s.io/client-go, ...) with local paths, which Go ignores in a
 * dependency, so the build module repeats each replace at v0.<minor>.<patch>.
 */
export interface KubernetesModule {
  module: string;
  version: string;
}

export interface PreparedModule {
  /** The build module: run `go build` / `go test -c` here. */
  dir: string;
  /** k8s.io/kubernetes@<version> in GOMODCACHE (read-only): conformance.yaml and the like are read there. */
  sourceDir: string;
  /** `go env GOVERSION` of the toolchain that builds. */
  goVersion: string;
}

/** Module builds: caches under the edgeproof cache dir, never a toolchain download, static binaries. */
export function goBuildEnv(cacheDir: string, arch?: string): Record<string, string | undefined> {
  return {
    ...process.env,
    GOMODCACHE: join(cacheDir, 'go-mod'),
    GOCACHE: join(cacheDir, 'go-build'),
    GOFLAGS: '-modcacherw',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    ...(arch ? { GOOS: 'linux', GOARCH: arch } : {}),
  };
}

/** The version stamps Kubernetes' own build writes (hack/lib/version.sh), so `--version` and the e2e suite know it. */
export function kubernetesLdflags(version: string): string {
  const [, major = '', minor = ''] = /^v(\d+)\.(\d+)\./.exec(version) ?? [];
  const stamp = 'k8s.io/component-base/version';
  return [
    '-s', '-w',
    `-X ${stamp}.gitVersion=${version}`, `-X ${stamp}.gitMajor=${major}`, `-X ${stamp}.gitMinor=${minor}`,
    `-X ${stamp}.gitTreeState=archive`, `-X ${stamp}.buildDate=1970-01-01T00:00:00Z`,
    `-X k8s.io/client-go/pkg/version.gitVersion=${version}`,
  ].join(' ');
}

/** `k8s.io/x => ./staging/src/k8s.io/x` in Kubernetes' go.mod becomes `k8s.io/x => k8s.io/x v0.<minor>.<patch>`. */
export function stagingReplaces(kubernetesGoMod: string, version: string): string[] {
  const staging = version.replace(/^v\d+\./, 'v0.');
  const local = [...kubernetesGoMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\/\S+\s*$/gm)].map((m) => m[1]!);
  return local.map((path) => `${path} => ${path} ${staging}`);
}

/** The `go` directive of a go.mod: the oldest toolchain that may build it. */
export function goDirective(goMod: string): string | undefined {
  return /^go\s+(\d+\.\d+(?:\.\d+)?)\s*$/m.exec(goMod)?.[1];
}

/** True when `have` (go1.26.8, 1.26.8) is at least `need` (1.25.0). */
export function goAtLeast(have: string, need: string): boolean {
  const parts = (text: string) => text.replace(/^go/, '').split(/[.\s-]/).slice(0, 3).map((p) => Number.parseInt(p, 10) || 0);
  const [a, b] = [parts(have), parts(need)];
  for (let i = 0; i < 3; i += 1) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

export function buildModuleGoMod(name: string, goVersion: string, source: KubernetesModule, replaces: string[]): string {
  return [`module ${name}`, '', `go ${goVersion}`, '', `require ${source.module} ${source.version}`, '', 'replace (', ...replaces.map((r) => `\t${r}`), ')', ''].join('\n');
}

/**
 * Writes the build module in `dir` (go.mod requiring k8s.io/kubernetes with
 * the staging replaces, a tools.go importing `imports`) and resolves it with
 * `go mod tidy` through the module proxy. The toolchain is the `go` on PATH,
 * checked against Kubernetes' own go directive (Debian's golang-go 1.19 is too old).
 */
export async function prepareKubernetesBuildModule(dir: string, cacheDir: string, source: KubernetesModule, imports: string[], signal: AbortSignal): Promise<PreparedModule> {
  const env = goBuildEnv(cacheDir);
  const goVersion = await localGoVersion(env, signal);
  const download = await hostRun('go', ['mod', 'download', '-json', `${source.module}@${source.version}`], { cwd: dir, env, signal });
  const { Dir: sourceDir, GoMod: goModFile } = JSON.parse(download.stdout) as { Dir: string; GoMod: string };
  const kubernetesGoMod = readFileSync(goModFile, 'utf8');
  const needed = goDirective(kubernetesGoMod) ?? '1.0';
  if (!goAtLeast(goVersion, needed)) {
    throw new PrerequisiteMissingError(
      `Go >= ${needed} for ${source.module}@${source.version} (the go on PATH is ${goVersion})`,
      `install Go ${needed} or newer (https://go.dev/dl) and put its bin first on PATH, e.g. PATH=/usr/local/go/bin:$PATH; Debian's golang-go is too old for it`,
    );
  }
  writeFileSync(join(dir, 'go.mod'), buildModuleGoMod('edgeproof.local/build/kubernetes', needed, source, stagingReplaces(kubernetesGoMod, source.version)));
  writeFileSync(join(dir, 'tools.go'), ['//go:build tools', '', 'package tools', '', 'import (', ...imports.map((i) => `\t_ "${i}"`), ')', ''].join('\n'));
  await hostRun('go', ['mod', 'tidy'], { cwd: dir, env, signal });
  return { dir, sourceDir, goVersion };
}

async function localGoVersion(env: Record<string, string | undefined>, signal: AbortSignal): Promise<string> {
  const found = await hostRun('go', ['env', 'GOVERSION'], { env, signal }).catch((error: unknown) => {
    throw new PrerequisiteMissingError('the go command', 'install Go (https://go.dev/dl) and put its bin first on PATH, e.g. PATH=/usr/local/go/bin:$PATH', { cause: error });
  });
  return found.stdout.trim();
}
