import { join } from 'node:path';
import { projectRoot } from '../core/paths.js';
import { listCache, renderCacheListing, type CacheListing } from './cache-listing.js';
import { EXIT } from '../core/exit-codes.js';
import { runHostChecks, type HostCheck } from './host-checks.js';

/** `edgeproof doctor`: every host prerequisite with its fix, then what the cache holds. */
export async function doctorCommand(options: { cacheDir: string; json: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const checks = await runHostChecks(options.cacheDir);
  const cache = listCache(options.cacheDir);
  const ready = checks.every((check) => check.status !== 'missing' || !check.required);
  out.write(options.json ? `${JSON.stringify({ ready, checks, cache }, null, 2)}\n` : `${renderDoctor(checks, cache, ready)}\n`);
  return ready ? EXIT.ok : EXIT.failed;
}

/** `edgeproof cache`: only the cache listing. */
export function cacheCommand(options: { cacheDir: string; json: boolean }, out: NodeJS.WritableStream = process.stdout): number {
  const cache = listCache(options.cacheDir);
  out.write(options.json ? `${JSON.stringify(cache, null, 2)}\n` : `${renderCacheListing(cache)}\n`);
  return EXIT.ok;
}

const LABEL = { ok: 'ok     ', missing: 'MISSING', warn: 'warn   ' } as const;

function renderCheck(check: HostCheck, nameWidth: number): string {
  const line = `  ${LABEL[check.status]}  ${check.name.padEnd(nameWidth)}  ${check.detail}`;
  return check.fix && check.status !== 'ok' ? `${line}\n  ${' '.repeat(7)}  ${' '.repeat(nameWidth)}  fix: ${check.fix}` : line;
}

function renderDoctor(checks: HostCheck[], cache: CacheListing, ready: boolean): string {
  const width = Math.max(...checks.map((check) => check.name.length));
  const missingCount = checks.filter((check) => check.status === 'missing').length;
  const verdict = ready
    ? 'This host is ready.'
    : `${missingCount} required prerequisite(s) missing. As root, \`node ${join(projectRoot(), 'scripts', 'setup.mjs')}\` installs them all.`;
  return ['Host checks:', ...checks.map((check) => renderCheck(check, width)), '', verdict, '', renderCacheListing(cache)].join('\n');
}
