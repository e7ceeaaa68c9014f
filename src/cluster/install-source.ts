/**
 * Where installers get their files, and whether they can: a short real probe
 * of each store or URL (host side before boot, node side before install), and
 * the check of an --airgap directory. No internet means a fast, named error,
 * never a hang inside an installer.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { RunContext } from '../core/context.js';
import { InstallSourceUnreachableError, UsageError } from '../core/errors.js';
import { shellQuote, type Machine } from '../emulation/machine.js';

/** A store or URL one install step needs. */
export interface InstallSource {
  step: string;
  url: string;
}

export interface ProbeOutcome {
  url: string;
  ok: boolean;
  detail: string;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/**
 * One HTTPS request (HEAD) with a hard deadline. Any HTTP answer means
 * reachable; DNS failure, refusal, TLS failure or silence does not.
 */
export function probeUrl(url: string, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS, signal?: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ url, ok, detail });
    };
    const req = request(url, { method: 'HEAD', timeout: timeoutMs, ...(signal ? { signal } : {}) }, (res) => {
      res.resume();
      finish(true, `HTTP ${res.statusCode}`);
    });
    // The socket timeout covers silence; this covers a slow DNS answer too.
    const timer = setTimeout(() => finish(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    req.on('timeout', () => finish(false, `no answer within ${timeoutMs} ms`));
    req.on('error', (error: NodeJS.ErrnoException) => finish(false, describeNetError(error)));
    req.end();
  });
}

function describeNetError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `cannot resolve ${(error as { hostname?: string }).hostname ?? 'the host name'} (${error.code})`;
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.name === 'AbortError') return 'aborted';
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

/** Probes every source from this host, in parallel; the first unreachable one (in plan order) is the error. */
export async function requireReachable(
  distribution: string,
  sources: InstallSource[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ProbeOutcome[]> {
  const outcomes = await Promise.all(sources.map((s) => probeUrl(s.url, options.timeoutMs, options.signal)));
  const failed = sources.findIndex((_, i) => !outcomes[i]!.ok);
  if (failed >= 0) throw new InstallSourceUnreachableError(distribution, sources[failed]!.step, sources[failed]!.url, outcomes[failed]!.detail);
  return outcomes;
}

const PROBE_MARK = '@@probe';

/** One shell line probing each URL from a node with curl (or wget), each bounded by `timeoutS`. */
export function nodeProbeCommand(urls: string[], timeoutS: number): string {
  const t = Math.max(1, Math.round(timeoutS));
  return urls
    .map((url) => {
      const q = shellQuote(url);
      return (
        `if command -v curl >/dev/null 2>&1; then out=$(curl -sS -o /dev/null -I -m ${t} ${q} 2>&1) && echo "${PROBE_MARK} ok ${url}" || echo "${PROBE_MARK} fail ${url} $out"; ` +
        `elif command -v wget >/dev/null 2>&1; then out=$(wget -q --spider -T ${t} -t 1 ${q} 2>&1) && echo "${PROBE_MARK} ok ${url}" || echo "${PROBE_MARK} fail ${url} $out"; ` +
        `else echo "${PROBE_MARK} fail ${url} neither curl nor wget on the node"; fi`
      );
    })
    .join('\n');
}

/** Parses the node probe's lines; a URL with no line counts as unreachable. */
export function parseNodeProbe(output: string, urls: string[]): ProbeOutcome[] {
  const seen = new Map<string, ProbeOutcome>();
  for (const line of output.split('\n')) {
    const match = new RegExp(`^${PROBE_MARK} (ok|fail) (\\S+)\\s*(.*)$`).exec(line.trim());
    if (match) seen.set(match[2]!, { url: match[2]!, ok: match[1] === 'ok', detail: match[3]?.trim() || (match[1] === 'ok' ? 'reachable' : 'unreachable') });
  }
  return urls.map((url) => seen.get(url) ?? { url, ok: false, detail: 'no probe result' });
}

/** Probes the sources from the node itself (its own DNS, routes and proxy), before the installer runs. */
export async function requireReachableFromNode(
  ctx: RunContext,
  machine: Machine,
  distribution: string,
  sources: InstallSource[],
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<ProbeOutcome[]> {
  const urls = sources.map((s) => s.url);
  const result = await machine.exec(nodeProbeCommand(urls, timeoutMs / 1000), { check: false, timeoutMs: timeoutMs * urls.length + ctx.scaled(10_000), signal: ctx.signal });
  const outcomes = parseNodeProbe(result.stdout, urls);
  const failed = outcomes.findIndex((o) => !o.ok);
  if (failed >= 0) {
    throw new InstallSourceUnreachableError(distribution, sources[failed]!.step, sources[failed]!.url, outcomes[failed]!.detail, { where: `node ${machine.name}` });
  }
  return outcomes;
}

/** A file an air-gapped install needs: matched by name pattern, with the command that fetches it. */
export interface AirgapFile {
  what: string;
  /** The name to give it in the directory (what `edgeproof images` prints). */
  name: string;
  kind: 'installer' | 'binary' | 'snap' | 'assertion' | 'tarball';
  /** Where it comes from (a URL, or the store). */
  source: string;
  pattern: RegExp;
  /** How to get it on a machine with internet. */
  fetch: string;
  optional?: boolean;
}

/**
 * Finds each required file in `dir`. A missing directory or file, or one
 * that is empty or not a regular file, is a UsageError (exit 2) naming it,
 * how to fetch it, and the `edgeproof images` command listing everything
 * (`listCommand`).
 */
export function resolveAirgapFiles(distribution: string, dir: string, files: AirgapFile[], listCommand = `edgeproof images --distro ${distribution}`): Record<string, string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`--airgap ${dir} is not a directory`, `create it and put the ${distribution} installer files in it (\`${listCommand}\` lists them)`);
  }
  const entries = readdirSync(dir).sort();
  const found: Record<string, string> = {};
  const missing: AirgapFile[] = [];
  const malformed: string[] = [];
  for (const file of files) {
    const name = entries.find((entry) => file.pattern.test(entry));
    if (!name) {
      if (!file.optional) missing.push(file);
      continue;
    }
    const stats = statSync(join(dir, name));
    if (!stats.isFile()) malformed.push(`${name} (the ${file.what}) is not a regular file`);
    else if (stats.size === 0) malformed.push(`${name} (the ${file.what}) is empty`);
    else found[file.what] = join(dir, name);
  }
  if (missing.length) {
    throw new UsageError(
      `--airgap ${dir} lacks what an offline ${distribution} install needs: ${missing.map((f) => `${f.name} (${f.what})`).join(', ')}`,
      `on a machine with internet: ${missing.map((f) => f.fetch).join('; ')}. \`${listCommand}\` lists every file and image the run needs`,
    );
  }
  if (malformed.length) {
    throw new UsageError(`--airgap ${dir} is malformed: ${malformed.join('; ')}`, `fetch it again (\`${listCommand}\` lists every file and how to get it)`);
  }
  return found;
}

/** The `edgeproof images` command that lists what a run of this distribution needs. */
export function imagesCommand(distribution: string, options: { version?: string; channel?: string; arch: string }): string {
  const quote = (v: string) => (/^[A-Za-z0-9._/:+-]+$/.test(v) ? v : `'${v}'`);
  return ['edgeproof images', `--distro ${distribution}`, ...(options.version ? [`--version ${quote(options.version)}`] : []), ...(options.channel ? [`--channel ${quote(options.channel)}`] : []), `--arch ${options.arch}`].join(' ');
}

export interface SourcePlan {
  distribution: string;
  /** The `edgeproof images` command for this distribution, version and arch (named in --airgap errors). */
  listCommand?: string;
  /** What will be installed, resolved (channel or version). */
  resolved: string;
  airgapDir?: string;
  airgapFiles: AirgapFile[];
  sources: InstallSource[];
}

/**
 * The install-source half of a preflight: with --airgap every file must be
 * there; without it every source must answer from this host.
 */
export async function checkInstallSources(plan: SourcePlan, ctx: { probeTimeoutMs?: number; signal?: AbortSignal } = {}) {
  if (plan.airgapDir) {
    resolveAirgapFiles(plan.distribution, plan.airgapDir, plan.airgapFiles, plan.listCommand);
    return { resolved: plan.resolved, source: 'airgap' as const, probed: [] };
  }
  const probed = await requireReachable(plan.distribution, plan.sources, { ...(ctx.probeTimeoutMs ? { timeoutMs: ctx.probeTimeoutMs } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
  return { resolved: plan.resolved, source: 'online' as const, probed };
}
