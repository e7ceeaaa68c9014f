import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactKey } from '../../core/artifact-cache.js';
import { fixturePath } from '../../core/paths.js';
import { diskInputs, FAST_INIT_VARIANT, rootfsBuild, stageFiles, type GuestVariant } from './guest-images.js';

const SYSTEMD: GuestVariant = {
  init: 'systemd',
  size: '8G',
  kernelParams: ['ep.init=/lib/systemd/systemd'],
  files: [{ path: '/etc/systemd/system/a.service', content: '[Service]\nExecStart=/bin/true\n', mode: 0o644 }],
  customizeHooks: ['systemctl --root="$1" enable a.service'],
};

describe('rootfsBuild', () => {
  it('keeps the fast init\'s inputs as they always were (cached upstream root filesystems stay valid)', () => {
    const build = rootfsBuild('arm64', ['etcd']);
    expect(Object.keys(build.inputs).sort()).toEqual(['arch', 'mirror', 'packages', 'script', 'suite']);
    expect(build).toMatchObject({ files: [], hooks: [] });
    expect(rootfsBuild('arm64', ['etcd'], FAST_INIT_VARIANT).inputs).toEqual(build.inputs);
  });

  it('carries a variant\'s init, files and hooks into the build and its key', () => {
    const build = rootfsBuild('arm64', ['snapd'], SYSTEMD);
    expect(build.files).toEqual(SYSTEMD.files);
    expect(build.hooks).toEqual(SYSTEMD.customizeHooks);
    expect(build.inputs).toMatchObject({ init: 'systemd', files: SYSTEMD.files, hooks: SYSTEMD.customizeHooks });
    const key = artifactKey(build.inputs);
    const changed: GuestVariant[] = [
      { ...SYSTEMD, files: [{ ...SYSTEMD.files[0]!, content: '[Service]\nExecStart=/bin/false\n' }] },
      { ...SYSTEMD, files: [{ ...SYSTEMD.files[0]!, mode: 0o755 }] },
      { ...SYSTEMD, customizeHooks: [...SYSTEMD.customizeHooks, 'true'] },
      { ...SYSTEMD, init: 'edgeproof-init' },
    ];
    for (const variant of changed) expect(artifactKey(rootfsBuild('arm64', ['snapd'], variant).inputs)).not.toBe(key);
  });
});

describe('diskInputs', () => {
  it('sizes the disk by the variant, and the disk key follows the size', () => {
    const small = diskInputs('/c/rootfs.tar', '/c/kit', SYSTEMD, []);
    const large = diskInputs('/c/rootfs.tar', '/c/kit', { ...SYSTEMD, size: '16G' }, []);
    expect(small.size).toBe('8G');
    expect(artifactKey(large)).not.toBe(artifactKey(small));
    expect(diskInputs('/c/rootfs.tar', '/c/kit', FAST_INIT_VARIANT, []).size).toBe('4G');
  });
});

describe('rootfs-customize.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-customize-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('places the variant\'s files with their modes, then runs its hooks on the root, in the tarball itself', () => {
    const base = join(dir, 'base');
    mkdirSync(join(base, 'etc'), { recursive: true });
    writeFileSync(join(base, 'etc', 'machine-id'), '0123456789abcdef\n');
    const tar = join(dir, 'rootfs.tar');
    execFileSync('tar', ['-C', base, '-cf', tar, '.']);
    const files = join(dir, 'files');
    stageFiles(files, [...SYSTEMD.files, { path: '/usr/sbin/ep-tool', content: '#!/bin/sh\n', mode: 0o755 }]);

    const hooks = [': > "$1"/etc/machine-id', 'mkdir -p "$1"/etc/systemd/system/multi-user.target.wants', 'ln -s ../a.service "$1"/etc/systemd/system/multi-user.target.wants/a.service'];
    execFileSync('bash', [fixturePath('build', 'rootfs-customize.sh'), tar, files, join(dir, 'root'), ...hooks]);

    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xpf', tar]);
    expect(readFileSync(join(out, 'etc/systemd/system/a.service'), 'utf8')).toBe(SYSTEMD.files[0]!.content);
    expect(statSync(join(out, 'usr/sbin/ep-tool')).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'etc/systemd/system/a.service')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(out, 'etc/machine-id'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'etc/systemd/system/multi-user.target.wants/a.service'), 'utf8')).toBe(SYSTEMD.files[0]!.content);
    expect(() => statSync(join(dir, 'root'))).toThrow();
  });

  it('fails when a hook fails, and leaves the tarball as it was', () => {
    const tar = join(dir, 'rootfs.tar');
    mkdirSync(join(dir, 'base'));
    execFileSync('tar', ['-C', join(dir, 'base'), '-cf', tar, '.']);
    const before = readFileSync(tar);
    stageFiles(join(dir, 'files'), []);
    expect(() => execFileSync('bash', [fixturePath('build', 'rootfs-customize.sh'), tar, join(dir, 'files'), join(dir, 'root'), 'false'], { stdio: 'pipe' })).toThrow();
    expect(readFileSync(tar)).toEqual(before);
  });
});
