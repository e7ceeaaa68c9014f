import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { ensureArtifact, sha256File, sha256Text, type ArtifactContext } from '../core/artifact-cache.js';
import { UsageError } from '../core/errors.js';
import type { ComponentArch } from './component.js';
import type { BuiltComponent } from './component-builder.js';
import { writeTar, type TarEntry } from './tar-writer.js';

/**
 * Container images made here from files, with no registry, no pull and no
 * `docker build`: a docker-archive (manifest.json, an image config, one
 * uncompressed layer), which both `docker load` and `ctr -n k8s.io images
 * import` read. Deterministic: the same files give the same bytes.
 */
export interface ImageFile {
  /** Absolute path inside the image. */
  path: string;
  /** The host file to copy. */
  source: string;
  mode?: number;
}

export interface ImageSpec {
  /** name[:tag]; :latest when no tag is given. */
  name: string;
  arch: ComponentArch;
  files: ImageFile[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
}

export interface PackagedImage {
  /** The archive to `docker load -i` or `ctr images import`. */
  file: string;
  /** name:tag as the runtimes will list it. */
  ref: string;
  /** sha256:<hex> of the image config: what `docker images --no-trunc` shows as the ID. */
  imageId: string;
  key: string;
}

const ARCHIVE = 'image.tar';
const IMAGE_RECORD = 'image.json';

/** Kept beside the archive: a cache hit knows the image ID without opening it. */
interface ImageRecord {
  ref: string;
  arch: ComponentArch;
  imageId: string;
  layer: string;
}
const IMAGE_RECIPE = 1;
const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** "edgeproof.local/etcd" -> "edgeproof.local/etcd:latest"; a registry port is not a tag. */
export function imageRef(name: string): string {
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?$/.test(name)) {
    throw new UsageError(`"${name}" is not an image name`, 'use lowercase name[:tag], e.g. edgeproof.local/etcd:v3.6.8');
  }
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? name : `${name}:latest`;
}

export async function packageImage(ctx: ArtifactContext, spec: ImageSpec): Promise<PackagedImage> {
  const ref = imageRef(spec.name);
  for (const file of spec.files) {
    if (!posix.isAbsolute(file.path)) throw new UsageError(`image ${ref}: "${file.path}" is not an absolute path in the image`);
  }
  const files = await Promise.all(spec.files.map(async (file) => ({ path: file.path, mode: file.mode ?? 0o755, sha256: await sha256File(file.source) })));
  const artifact = await ensureArtifact(ctx, {
    kind: 'component-images',
    label: `image ${ref} for ${spec.arch}`,
    inputs: { recipe: IMAGE_RECIPE, ref, arch: spec.arch, files, entrypoint: spec.entrypoint ?? null, cmd: spec.cmd ?? null, env: spec.env ?? DEFAULT_ENV },
    build: (out, work) => writeImageArchive(spec, ref, join(out, ARCHIVE), work),
  });
  const record = JSON.parse(readFileSync(join(artifact.dir, IMAGE_RECORD), 'utf8')) as ImageRecord;
  return { file: join(artifact.dir, ARCHIVE), ref, imageId: record.imageId, key: artifact.key };
}

/** The image of a built component: its binaries under `dir` (default: its guest dir). */
export function componentImageSpec(built: BuiltComponent, name: string, options: { dir?: string; entrypoint?: string[]; cmd?: string[] } = {}): ImageSpec {
  const dir = options.dir ?? '/usr/local/bin';
  return {
    name,
    arch: built.record.arch,
    files: Object.keys(built.record.files).map((binary) => ({ path: posix.join(dir, binary), source: join(built.dir, binary) })),
    ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
    ...(options.cmd ? { cmd: options.cmd } : {}),
  };
}

/** Every parent directory of the files, then the files, sorted: the layer's entries. */
function layerEntries(files: ImageFile[]): TarEntry[] {
  const dirs = new Set<string>();
  for (const file of files) {
    for (let dir = posix.dirname(file.path); dir !== '/'; dir = posix.dirname(dir)) dirs.add(dir.slice(1));
  }
  const entries: TarEntry[] = [...dirs].sort().map((name) => ({ name, type: 'dir' }));
  const sorted = [...files].sort((a, b) => a.path.localeCompare(b.path));
  return [...entries, ...sorted.map((file): TarEntry => ({ name: file.path.slice(1), type: 'file', mode: file.mode ?? 0o755, source: file.source }))];
}

async function writeImageArchive(spec: ImageSpec, ref: string, archive: string, work: string): Promise<void> {
  const layerPath = join(work, 'layer.tar');
  const layer = await writeTar(layerPath, layerEntries(spec.files));
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.arch,
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: { Env: spec.env ?? DEFAULT_ENV, ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}), ...(spec.cmd ? { Cmd: spec.cmd } : {}), WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layer.sha256}`] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'edgeproof packageImage' }],
    }),
  );
  const configDigest = sha256Text(config);
  const configName = `blobs/sha256/${configDigest}`;
  const layerName = `blobs/sha256/${layer.sha256}`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [ref], Layers: [layerName] }]));
  await writeTar(archive, [
    { name: 'blobs', type: 'dir' },
    { name: 'blobs/sha256', type: 'dir' },
    { name: configName, type: 'file', content: config },
    { name: layerName, type: 'file', source: layerPath },
    { name: 'manifest.json', type: 'file', content: manifest },
  ]);
  const record: ImageRecord = { ref, arch: spec.arch, imageId: `sha256:${configDigest}`, layer: `sha256:${layer.sha256}` };
  writeFileSync(join(dirname(archive), IMAGE_RECORD), `${JSON.stringify(record, null, 2)}\n`);
}
