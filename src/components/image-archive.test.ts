import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256File } from '../core/artifact-cache.js';
import { silentProgress } from '../core/progress.js';
import { imageRef, packageImage, type ImageSpec } from './image-archive.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ep-image-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const context = (name: string) => ({ cacheDir: join(root, name), progress: silentProgress, signal: new AbortController().signal });

function spec(): ImageSpec {
  const tool = join(root, 'tool');
  writeFileSync(tool, '#!/bin/sh\necho hello\n');
  chmodSync(tool, 0o755);
  // A name past ustar's 100-byte field: it must go through the prefix field.
  const deep = `/opt/${'d'.repeat(60)}/${'e'.repeat(50)}/note.txt`;
  writeFileSync(join(root, 'note.txt'), 'x'.repeat(513));
  return { name: 'edgeproof.local/tool:v1', arch: 'arm64', files: [{ path: '/usr/local/bin/tool', source: tool }, { path: deep, source: join(root, 'note.txt'), mode: 0o644 }], entrypoint: ['/usr/local/bin/tool'] };
}

describe('packageImage', () => {
  it('same files, same bytes: two caches give the same archive and image ID', async () => {
    const image = spec();
    const [a, b] = [await packageImage(context('a'), image), await packageImage(context('b'), image)];
    expect(await sha256File(a.file)).toBe(await sha256File(b.file));
    expect(a.imageId).toBe(b.imageId);
    expect(a.ref).toBe('edgeproof.local/tool:v1');
  });

  it('writes a docker-archive that GNU tar reads: config, one layer, manifest.json naming the tag', async () => {
    const image = await packageImage(context('a'), spec());
    const listing = (await execa('tar', ['-tvf', image.file])).stdout.split('\n');
    expect(listing.every((line) => line.includes(' 0/0 ') && line.includes('1970-01-01 00:00'))).toBe(true);
    const out = join(root, 'out');
    await execa('mkdir', ['-p', out]);
    await execa('tar', ['-xf', image.file, '-C', out]);
    const [manifest] = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest!.RepoTags).toEqual(['edgeproof.local/tool:v1']);
    expect(`sha256:${manifest!.Config.split('/').at(-1)}`).toBe(image.imageId);
    const config = JSON.parse(readFileSync(join(out, manifest!.Config), 'utf8')) as { architecture: string; rootfs: { diff_ids: string[] }; config: { Entrypoint: string[] } };
    expect(config.architecture).toBe('arm64');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/tool']);
    const layer = join(out, manifest!.Layers[0]!);
    expect(config.rootfs.diff_ids).toEqual([`sha256:${await sha256File(layer)}`]);
    const files = (await execa('tar', ['-tvf', layer])).stdout;
    expect(files).toMatch(/^-rwxr-xr-x 0\/0 +\d+ 1970-01-01 00:00 usr\/local\/bin\/tool$/m);
    expect(files).toMatch(new RegExp(`^-rw-r--r-- 0/0 +513 .* opt/d{60}/e{50}/note\\.txt$`, 'm'));
    expect(files).toMatch(/^drwxr-xr-x 0\/0 +0 .* usr\/local\/$/m);
  });

  it('names: a tag is added when missing, a registry port is not a tag, bad names are usage errors', () => {
    expect(imageRef('edgeproof.local/etcd')).toBe('edgeproof.local/etcd:latest');
    expect(imageRef('localhost:5000/etcd')).toBe('localhost:5000/etcd:latest');
    expect(imageRef('localhost:5000/etcd:v3.6.8')).toBe('localhost:5000/etcd:v3.6.8');
    expect(() => imageRef('Edgeproof/Etcd')).toThrow(/is not an image name/);
  });
});
