import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog } from './events.js';
import { AsyncScope } from './scope.js';
import { Session } from './session.js';
import { createProgress, silentProgress, type Progress } from './progress.js';
import { EdgeproofError, WaitTimeoutError, describeError, formatMs } from './errors.js';
import { cacheDir as defaultCacheDir, makeDirectory, newRunId, sessionTag } from './paths.js';

/** Secrets dirs of the runs in this process: removed on any exit, even one that skips dispose (a second Ctrl-C). */
const liveSecrets = new Set<string>();

function removeSecrets(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveSecrets.delete(dir);
}

let exitHookInstalled = false;

function removeOnExit(dir: string): void {
  if (!exitHookInstalled) process.on('exit', () => liveSecrets.forEach(removeSecrets));
  exitHookInstalled = true;
  liveSecrets.add(dir);
}

/**
 * Everything a run's layers share: where to write, how to report progress,
 * the abort signal (Ctrl-C), the timeout scale, and the scope that owns every
 * resource the run creates.
 */
export class RunContext implements AsyncDisposable {
  readonly runId: string;
  /** Short tag for outside-world names: ep-<tag>-cp-0. */
  readonly tag: string;
  readonly runDir: string;
  readonly cacheDir: string;
  readonly events: EventLog;
  readonly progress: Progress;
  readonly scope = new AsyncScope();
  readonly session: Session;
  readonly #abort = new AbortController();
  /** Multiplies every base timeout (checks.md: 1 native, 3 KVM, 8-10 TCG). Float, recorded in results. */
  timeoutScale: number;

  constructor(options: { runDir: string; runId?: string; cacheDir?: string; progress?: Progress | false; timeoutScale?: number }) {
    this.runId = options.runId ?? newRunId();
    this.tag = sessionTag(this.runId);
    this.runDir = options.runDir;
    makeDirectory(this.runDir);
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
    this.events = new EventLog(join(this.runDir, 'events.jsonl'));
    this.progress = options.progress === false ? silentProgress : (options.progress ?? createProgress());
    this.timeoutScale = options.timeoutScale ?? 1;
    this.session = new Session(this.cacheDir, this.runId);
    this.session.track('tempDirs', this.tempDir);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  abort(reason: unknown): void {
    this.#abort.abort(reason);
  }

  /** A base timeout scaled by this run's factor. */
  scaled(baseMs: number): number {
    return Math.round(baseMs * this.timeoutScale);
  }

  /**
   * Runs a named phase with a budget: shown as it runs, recorded in the event
   * stream, aborted (through the signal it passes) when the budget runs out.
   */
  async phase<T>(name: string, budgetMs: number, fn: (signal: AbortSignal) => Promise<T>, node?: string): Promise<T> {
    const label = node ? `${name} [${node}]` : name;
    this.events.emit({ type: 'phase-start', phase: name, budgetMs, ...(node ? { node } : {}) });
    this.progress.start(label, `<= ${formatMs(budgetMs)}`);
    const started = Date.now();
    const budget = AbortSignal.timeout(budgetMs);
    const signal = AbortSignal.any([this.signal, budget]);
    try {
      const value = await fn(signal);
      const durationMs = Date.now() - started;
      this.events.emit({ type: 'phase-end', phase: name, durationMs, outcome: 'ok', ...(node ? { node } : {}) });
      this.progress.end(label, durationMs, 'ok');
      return value;
    } catch (raw) {
      const durationMs = Date.now() - started;
      const error =
        budget.aborted && !(raw instanceof EdgeproofError)
          ? new WaitTimeoutError(`phase "${name}"`, budgetMs, describeError(raw), node ? { where: node, cause: raw } : { cause: raw })
          : raw;
      const outcome = this.signal.aborted ? 'interrupted' : 'failed';
      this.events.emit({ type: 'phase-end', phase: name, durationMs, outcome, error: describeError(error), ...(node ? { node } : {}) });
      this.progress.end(label, durationMs, 'failed', describeError(error).split('\n')[0]);
      throw error;
    }
  }

  /**
   * Disposes every resource the run made, newest first; the session record
   * goes when that succeeded. The credentials go in any case: a failed
   * teardown leaves its resources to the sweep, never its secrets.
   */
  async dispose(): Promise<void> {
    try {
      await this.scope.dispose();
    } finally {
      removeSecrets(this.#secretsPath);
    }
    rmSync(this.tempDir, { recursive: true, force: true });
    this.session.close();
  }

  /** Scratch space of this run in the cache (overlay disks); removed at dispose. */
  get tempDir(): string {
    return join(this.cacheDir, 'tmp', this.runId);
  }

  /**
   * The run's credentials (SSH key, PKI, kubeconfig), never in the run dir:
   * 0700 inside the scratch space the session tracks, so they end with the
   * run, with the process when it exits at once, and with the sweep of a
   * killed run. Created on first use.
   */
  secretsDir(): string {
    const dir = this.#secretsPath;
    mkdirSync(this.tempDir, { recursive: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    removeOnExit(dir);
    return dir;
  }

  get #secretsPath(): string {
    return join(this.tempDir, 'secrets');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
