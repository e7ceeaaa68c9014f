import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isInside, isSafeName, pathInside } from './safe-paths.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-safe-paths-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('isSafeName', () => {
  it('takes run ids and shard names as edgeproof makes them', () => {
    for (const name of ['20261124-063500-a1b2', 'shard-02', 'results-shard-02', 'r1', 'a.b_c']) expect(isSafeName(name), name).toBe(true);
  });

  it('refuses separators, dot names, hidden names, spaces, control characters and overlong names', () => {
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\\b', '.hidden', '-flag', 'a b', 'a\nb', 'é', 'x'.repeat(129)]) expect(isSafeName(name), JSON.stringify(name)).toBe(false);
  });
});

describe('pathInside', () => {
  it('resolves a path below the root', () => {
    expect(pathInside(root, 'runs/shard-01/r1', 'the run')).toBe(join(root, 'runs', 'shard-01', 'r1'));
    expect(isInside(root, join(root, 'a'))).toBe(true);
    expect(isInside(root, root)).toBe(false);
    expect(isInside(root, `${root}-sibling`)).toBe(false);
  });

  it('refuses a path that leaves the root, or the root itself, with an INPUT error naming it', () => {
    expect(() => pathInside(root, '../x', 'the directory of run r1')).toThrow(expect.objectContaining({ code: 'INPUT', message: `the directory of run r1 "../x" lies outside ${root}: not used` }));
    expect(() => pathInside(root, '/etc', 'the run')).toThrow(/lies outside/);
    expect(() => pathInside(root, 'runs/..', 'the run')).toThrow(/lies outside/);
  });

  it('refuses a path through a symlink, even one that points back inside', () => {
    mkdirSync(join(root, 'runs', 'real'), { recursive: true });
    symlinkSync(join(root, 'runs', 'real'), join(root, 'runs', 'link'));
    expect(() => pathInside(root, 'runs/link/r1', 'the run')).toThrow(`the run "runs/link/r1" passes through the symlink ${join(root, 'runs', 'link')}: not followed`);
    expect(pathInside(root, 'runs/real/r1', 'the run')).toBe(join(root, 'runs', 'real', 'r1'));
  });
});
