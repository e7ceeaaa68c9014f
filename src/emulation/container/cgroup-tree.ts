import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** The harness's own subtrees: edgeproof/<tag> and edgeproof/<tag>/<node>; nothing that climbs out (a session record may be crafted). */
const HARNESS_CGROUP = /^edgeproof(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+){1,2}$/;

/**
 * Removes a node's cgroup subtree from every v1 controller, deepest first
 * (the kernel refuses to remove a cgroup that still has children). Cgroups
 * the kubelet made under it are empty once the container is gone.
 */
export function removeCgroupTree(relative: string, root = CGROUP_ROOT): string[] {
  const failed: string[] = [];
  if (!HARNESS_CGROUP.test(relative)) return [`cgroup ${JSON.stringify(relative)} not removed: not an edgeproof cgroup (edgeproof/<tag>[/<node>])`];
  if (!existsSync(root)) return failed;
  for (const controller of readdirSync(root)) {
    // Only mounted hierarchies (their root has cgroup.procs); symlinks name one twice, harmlessly.
    if (!existsSync(join(root, controller, 'cgroup.procs'))) continue;
    const top = join(root, controller, relative);
    if (existsSync(top)) removeDepthFirst(top, failed);
    pruneEmptyParents(join(root, controller), relative);
  }
  return failed;
}

/** Removes the now-empty parents of `relative` (a run's edgeproof/<tag>, then edgeproof itself), never the controller root. */
function pruneEmptyParents(controllerRoot: string, relative: string): void {
  const parts = relative.split('/');
  for (let depth = parts.length - 1; depth > 0; depth--) {
    try {
      rmdirSync(join(controllerRoot, ...parts.slice(0, depth)));
    } catch {
      return; // not empty (another node or run still uses it) or already gone
    }
  }
}

function removeDepthFirst(dir: string, failed: string[]): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const entry of entries) removeDepthFirst(join(dir, entry), failed);
  try {
    rmdirSync(dir);
  } catch (error) {
    failed.push(`${dir}: ${(error as Error).message}`);
  }
}
