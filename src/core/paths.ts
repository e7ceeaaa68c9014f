import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

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
