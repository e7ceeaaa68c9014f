import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeCgroupTree } from './cgroup-tree.js';

// A directory tree shaped like /sys/fs/cgroup (cgroup v1): the real one is the host's, not a test's to change.
let root: string;
let cgroupRoot: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-cgroup-test-'));
  cgroupRoot = join(root, 'sys-fs-cgroup');
  for (const controller of ['memory', 'pids']) {
    mkdirSync(join(cgroupRoot, controller), { recursive: true });
    writeFileSync(join(cgroupRoot, controller, 'cgroup.procs'), '');
  }
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('removeCgroupTree', () => {
  it("removes a node's subtree deepest first in every controller, then the run's and edgeproof's empty parents", () => {
    for (const controller of ['memory', 'pids']) mkdirSync(join(cgroupRoot, controller, 'edgeproof', '1234abcd', 'ep-1234abcd-cp-0', 'kubepods', 'burstable'), { recursive: true });
    expect(removeCgroupTree('edgeproof/1234abcd/ep-1234abcd-cp-0', cgroupRoot)).toEqual([]);
    expect(readdirSync(join(cgroupRoot, 'memory'))).toEqual(['cgroup.procs']);
    expect(readdirSync(join(cgroupRoot, 'pids'))).toEqual(['cgroup.procs']);
  });

  it('refuses what is not an edgeproof cgroup (a crafted session record), and removes nothing', () => {
    const outside = join(root, 'outside', 'empty');
    mkdirSync(outside, { recursive: true });
    mkdirSync(join(cgroupRoot, 'memory', 'system.slice', 'empty'), { recursive: true });
    for (const crafted of ['../../outside', 'edgeproof/../../../outside', 'edgeproof/..', 'system.slice', 'edgeproof']) {
      expect(removeCgroupTree(crafted, cgroupRoot)).toEqual([`cgroup ${JSON.stringify(crafted)} not removed: not an edgeproof cgroup (edgeproof/<tag>[/<node>])`]);
    }
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(join(cgroupRoot, 'memory', 'system.slice', 'empty'))).toBe(true);
  });
});
