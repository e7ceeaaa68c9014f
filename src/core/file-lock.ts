import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { EdgeproofError } from './errors.js';

/** flock(1)'s exit status when another holds the lock; its own failures use the sysexits codes (64 and up). */
const BUSY = 10;

/**
 * An exclusive flock(2) on a file, held through a descriptor of this process:
 * it lasts until release() or until the process ends, however it ends (the
 * kernel drops it with the descriptor). Unlike a pid in a record, the kernel
 * sees it from every PID namespace that shares the file.
 */
export class FileLock {
  #fd: number | undefined;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Takes the lock of an existing file without waiting: 'busy' when another
   * open file holds it. Throws ENOENT when the file is absent, and an
   * EdgeproofError when flock(1) cannot lock at all.
   */
  static tryAcquire(path: string): FileLock | 'busy' {
    const fd = openSync(path, 'r');
    // Node has no flock(2): flock(1) locks the open file it inherits as fd 3, which this process keeps open.
    const result = spawnSync('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(BUSY), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    if (result.status === 0) return new FileLock(fd);
    closeSync(fd);
    if (result.status === BUSY) return 'busy';
    const outcome = result.error ? result.error.message : `flock exited with ${result.status ?? result.signal}: ${String(result.stderr).trim()}`;
    throw new EdgeproofError('PREREQUISITE_MISSING', `Cannot lock ${path}: ${outcome}`, { hint: 'flock(1) comes with util-linux (apt-get install util-linux)' });
  }

  release(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
