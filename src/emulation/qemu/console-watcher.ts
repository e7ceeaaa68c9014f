import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** Reads a growing serial-console file incrementally; finds lines as they arrive. */
export class ConsoleWatcher {
  #offset = 0;
  #text = '';

  constructor(readonly path: string) {}

  /** Everything read so far (the console log is also kept on disk). */
  get text(): string {
    this.#poll();
    return this.#text;
  }

  tail(lines = 30): string {
    return this.text.trimEnd().split('\n').slice(-lines).join('\n');
  }

  lastLine(): string {
    const lines = this.text.split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.at(-1) ?? '';
  }

  /** True once a line matching `pattern` has appeared since `fromOffset`. */
  contains(pattern: RegExp, fromOffset = 0): boolean {
    return pattern.test(this.text.slice(fromOffset));
  }

  get offset(): number {
    this.#poll();
    return this.#text.length;
  }

  #poll(): void {
    if (!existsSync(this.path)) return;
    const size = statSync(this.path).size;
    if (size <= this.#offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const buffer = Buffer.alloc(size - this.#offset);
      readSync(fd, buffer, 0, buffer.length, this.#offset);
      this.#offset = size;
      this.#text += buffer.toString('utf8').replaceAll('\r', '');
    } finally {
      closeSync(fd);
    }
  }
}
