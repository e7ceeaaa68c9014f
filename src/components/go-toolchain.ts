import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { PrerequisiteMissingError } from '../core/errors.js';
import { hostRun } from '../core/host-exec.js';

/**
 * The Go toolchain the builder runs. Several may be installed (Go 1.26 in
 * /usr/local/go, Debian's golang-go 1.19 in /usr/bin): the builder names the
 * one it uses, never lets it switch itself (GOTOOLCHAIN=local), and checks it
 * against the `go` directive of the module it builds.
 */
export interface GoToolchain {
  /** Absolute path of the go binary. */
  path: string;
  /** "1.26.8" */
  version: string;
}

export const GO_DOWNLOAD_HINT = 'install Go from https://go.dev/dl/ (tar -C /usr/local -xzf go<version>.linux-amd64.tar.gz puts it in /usr/local/go/bin/go), or point EDGEPROOF_GO at a go binary that new';

const WELL_KNOWN_GO = '/usr/local/go/bin/go';

/** The go binaries to consider: EDGEPROOF_GO alone when set, else /usr/local/go and every `go` on PATH. */
export function goCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.EDGEPROOF_GO) return [env.EDGEPROOF_GO];
  const onPath = (env.PATH ?? '').split(':').filter(Boolean).map((dir) => join(dir, 'go'));
  // /bin/go and /usr/bin/go are one Debian go behind two links: list it once.
  return [...new Set([WELL_KNOWN_GO, ...onPath].filter((path) => existsSync(path)).map((path) => realpathSync(path)))];
}

/** "go1.26.8" -> "1.26.8"; "go1.19.8" -> "1.19.8". */
export function parseGoVersion(goversion: string): string | undefined {
  return /^go(\d+(?:\.\d+){1,2})/.exec(goversion.trim())?.[1];
}

/** Dotted numeric comparison: compareGoVersions('1.26.8', '1.25.0') > 0. */
export function compareGoVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

async function probeToolchain(path: string): Promise<GoToolchain | undefined> {
  try {
    const { stdout } = await hostRun(path, ['env', 'GOVERSION'], { env: { ...process.env, GOTOOLCHAIN: 'local' }, timeoutMs: 15_000 });
    const version = parseGoVersion(stdout);
    return version ? { path, version } : undefined;
  } catch {
    return undefined;
  }
}

/** Every usable toolchain found, newest first. */
export async function findGoToolchains(env: NodeJS.ProcessEnv = process.env): Promise<GoToolchain[]> {
  const found = await Promise.all(goCandidates(env).map(probeToolchain));
  const usable = found.filter((t): t is GoToolchain => t !== undefined);
  const unique = [...new Map(usable.map((t) => [`${t.version} ${t.path}`, t])).values()];
  return unique.sort((a, b) => compareGoVersions(b.version, a.version));
}

/**
 * The newest toolchain found, if it is at least `needed` (a go.mod `go`
 * directive); otherwise a missing prerequisite naming what was found, what is
 * needed and how to get it.
 */
export async function requireGoToolchain(needed: string, why: string, env: NodeJS.ProcessEnv = process.env): Promise<GoToolchain> {
  const toolchains = await findGoToolchains(env);
  const newest = toolchains[0];
  if (newest && compareGoVersions(newest.version, needed) >= 0) return newest;
  const found = toolchains.length ? `found ${toolchains.map((t) => `go ${t.version} (${t.path})`).join(', ')}` : 'no go binary found';
  throw new PrerequisiteMissingError(`Go >= ${needed} (${why}; ${found})`, GO_DOWNLOAD_HINT);
}
