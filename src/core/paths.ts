import { existsSync, mkdirSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from './errors.js';

/** Cache for expensive builds (kernels, root filesystems, Kubernetes binaries), outside any clone. */
export function cacheDir(): string {
  if (process.env.EDGEPROOF_CACHE_DIR) return resolve(process.env.EDGEPROOF_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'edgeproof');
}

export function reportsDir(): string {
  return resolve(process.env.EDGEPROOF_REPORTS_DIR || 'reports');
}

/** Run ids sort by time: 20261124-063500-a1b2. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** The short session tag used in outside-world names: ep-<session8>-<role>-<i>. */
export function sessionTag(runId: string): string {
  return runId.replace(/\D/g, '').slice(-4) + runId.slice(-4);
}

/** The project's root (where fixtures/ lives), wherever the clone is. */
export function projectRoot(): string {
  return resolve(new URL('../..', import.meta.url).pathname);
}

export function fixturePath(...parts: string[]): string {
  return join(projectRoot(), 'fixtures', ...parts);
}

/** Whether `path` lies strictly inside `root` (lexically: resolve symlinks first where they matter). */
export function isStrictlyInside(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * `mkdir -p` that fails instead of hanging: Node's recursive mkdir retries
 * forever (100% CPU, deaf to signals) where a parent exists but refuses new
 * entries with ENOENT, as /proc does. Creates each missing directory in turn;
 * the first refusal is thrown as it is.
 */
export function makeDirectory(path: string, mode?: number): void {
  const missing: string[] = [];
  for (let dir = resolve(path); !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      mkdirSync(dir, mode === undefined ? undefined : { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * A directory the user chose (`name`: the flag or variable), checked before
 * anything is written: it is a directory that takes new entries, or it can
 * be created. Returns it absolute; a UsageError says what is in the way.
 */
export function writableDirectory(path: string, name: string): string {
  const absolute = resolve(path);
  let existing = absolute;
  while (!existsSync(existing)) existing = dirname(existing);
  const creating = existing !== absolute;
  if (!statSync(existing).isDirectory()) {
    throw new UsageError(creating ? `${name} ${path} cannot be created: ${existing} is not a directory` : `${name} ${path} is not a directory`, 'pass a directory (it is created when missing)');
  }
  let probe: string;
  try {
    probe = mkdtempSync(join(existing, '.edgeproof-probe-'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`${name} ${path} cannot be ${creating ? 'created' : 'written'}: ${existing} takes no new entries (${code})`, `choose a directory on a writable file system, e.g. under ${homedir()} or /tmp`);
  }
  rmdirSync(probe);
  return absolute;
}
