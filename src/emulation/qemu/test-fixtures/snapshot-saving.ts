import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { projectRoot } from '../../../core/paths.js';
import { sleep } from '../../../core/wait.js';
import { SNAPSHOT_TAG } from '../machine-snapshot.js';

/** A real qcow2 overlay of `base` holding an internal snapshot with `tag` (disk-only: qemu-img snapshot -c). */
export function overlayWithSnapshot(base: string, path: string, tag = SNAPSHOT_TAG): void {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, path]);
  execFileSync('qemu-io', ['-c', `write -P 0x5a 0 1M`, path], { stdio: 'ignore' });
  execFileSync('qemu-img', ['snapshot', '-c', tag, path]);
}

/** Another process saving snapshot `key` into `cacheDir`, holding the store until `release()` (files in `dir`). */
export async function otherProcessSaving(dir: string, base: string, cacheDir: string, key: string) {
  const saver = fileURLToPath(new URL('./snapshot-saver-child.ts', import.meta.url));
  const source = join(dir, `${key}-other.qcow2`);
  overlayWithSnapshot(base, source);
  const holding = join(dir, `${key}.holding`);
  const release = join(dir, `${key}.release`);
  const child = execa(process.execPath, ['--import', 'tsx', saver, JSON.stringify({ cacheDir, key, source, base, holding, release })], { reject: false, cwd: projectRoot() });
  for (let waited = 0; !existsSync(holding); waited += 50) {
    if (waited > 20_000 || child.exitCode !== null) throw new Error(`the saving process did not start its save: ${(await child).stderr}`);
    await sleep(50);
  }
  return { child, release: () => writeFileSync(release, '') };
}

/** Each operation's name once it has finished. */
export function finishing() {
  const finished: string[] = [];
  return { finished, track: <T>(name: string, operation: T | Promise<T>) => Promise.resolve(operation).finally(() => finished.push(name)) };
}
