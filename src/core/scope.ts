import { CleanupError } from './errors.js';

type Disposer = () => unknown | Promise<unknown>;

/**
 * A LIFO stack of disposers (Node 20 has no AsyncDisposableStack). Disposes in
 * reverse order, runs every disposer even when one fails, and aggregates the
 * failures. Disposing twice is a no-op, so a fixture and a signal handler may
 * both call it.
 */
export class AsyncScope implements AsyncDisposable {
  #stack: { name: string; dispose: Disposer }[] = [];
  #disposing?: Promise<void>;

  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  defer(name: string, dispose: Disposer): void {
    if (this.#disposing) throw new Error(`scope already disposed; cannot defer "${name}"`);
    this.#stack.push({ name, dispose });
  }

  use<T extends AsyncDisposable>(name: string, resource: T): T {
    this.defer(name, () => resource[Symbol.asyncDispose]());
    return resource;
  }

  dispose(): Promise<void> {
    this.#disposing ??= this.#run();
    return this.#disposing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  async #run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.#stack.length > 0) {
      const { name, dispose } = this.#stack.pop()!;
      try {
        await dispose();
      } catch (error) {
        errors.push(error instanceof Error ? Object.assign(error, { message: `${name}: ${error.message}` }) : error);
      }
    }
    if (errors.length > 0) throw new CleanupError(errors);
  }
}

/** Runs `start`; if it throws, disposes the scope and rethrows the original error. */
export async function startOrDispose<T>(scope: AsyncScope, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await scope.dispose().catch(() => undefined);
    throw error;
  }
}

/** Memoises an async stop so it is idempotent and concurrent calls share one run. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
