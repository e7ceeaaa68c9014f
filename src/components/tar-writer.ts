import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * A minimal, deterministic ustar writer: every entry owned by 0:0 with mtime
 * 0, in the order given, so the same entries give the same bytes (and the
 * same image digest) on every machine.
 */
export type TarEntry =
  | { name: string; type: 'dir'; mode?: number }
  | { name: string; type: 'file'; mode?: number; source: string }
  | { name: string; type: 'file'; mode?: number; content: Buffer };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** ustar splits names longer than 100 bytes into prefix (155) and name (100) at a slash. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  const cut = name.lastIndexOf('/', 155);
  if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar entry name too long: ${name}`);
  return { prefix: name.slice(0, cut), name: name.slice(cut + 1) };
}

export function tarHeader(entry: { name: string; type: 'dir' | 'file'; mode: number; size: number }): Buffer {
  const header = Buffer.alloc(BLOCK, 0);
  const { prefix, name } = splitName(entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(entry.mode, 8), 100, 8, 'ascii');
  header.write(octal(0, 8), 108, 8, 'ascii');
  header.write(octal(0, 8), 116, 8, 'ascii');
  header.write(octal(entry.size, 12), 124, 12, 'ascii');
  header.write(octal(0, 12), 136, 12, 'ascii');
  header.write(' '.repeat(8), 148, 8, 'ascii');
  header.write(entry.type === 'dir' ? '5' : '0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** Writes the archive to `path`; returns its sha256 (hex) and size. */
export async function writeTar(path: string, entries: TarEntry[]): Promise<{ sha256: string; size: number }> {
  const handle = await open(path, 'w');
  const hash = createHash('sha256');
  let size = 0;
  const write = async (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
    await handle.write(chunk);
  };
  try {
    for (const entry of entries) {
      const bytes = entry.type === 'dir' ? 0 : 'content' in entry ? entry.content.length : statSync(entry.source).size;
      await write(tarHeader({ name: entry.name, type: entry.type, mode: entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644), size: bytes }));
      if (entry.type === 'dir') continue;
      if ('content' in entry) await write(entry.content);
      else for await (const chunk of createReadStream(entry.source)) await write(chunk as Buffer);
      if (bytes % BLOCK) await write(Buffer.alloc(BLOCK - (bytes % BLOCK), 0));
    }
    await write(Buffer.alloc(BLOCK * 2, 0));
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}
