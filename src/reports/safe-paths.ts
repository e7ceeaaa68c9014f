/**
 * Names and paths that come from result files (run ids, shard names, a merged
 * manifest's run directories) are data from another machine: before one
 * touches the file system, a name must match a strict pattern and a path
 * must lie inside its root with no symlink on the way.
 */
import { lstatSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { EdgeproofError } from '../core/errors.js';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const SAFE_NAME_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128 characters';

/** Whether `name` may be one path segment: no separator, no `..`, nothing hidden. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name);
}

/** Whether `path` lies strictly inside `root` (both resolved; nothing is read). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * `root/relativePath`, required to lie inside `root` with no existing symlink
 * between them (the root itself is the caller's and may be one). Throws an
 * INPUT error naming `what` otherwise.
 */
export function pathInside(root: string, relativePath: string, what: string): string {
  const path = resolve(root, relativePath);
  if (!isInside(root, path)) throw new EdgeproofError('INPUT', `${what} ${JSON.stringify(relativePath)} lies outside ${root}: not used`);
  let current = resolve(root);
  for (const segment of relative(current, path).split(sep)) {
    current = join(current, segment);
    const kind = entryKind(current);
    if (kind === 'absent') break;
    if (kind === 'symlink') throw new EdgeproofError('INPUT', `${what} ${JSON.stringify(relativePath)} passes through the symlink ${current}: not followed`);
  }
  return path;
}

function entryKind(path: string): 'absent' | 'symlink' | 'other' {
  try {
    return lstatSync(path).isSymbolicLink() ? 'symlink' : 'other';
  } catch {
    return 'absent';
  }
}
