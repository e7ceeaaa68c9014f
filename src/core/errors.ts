/**
 * The error family. Every error has a stable `code` (for tables, JUnit and
 * exit-code decisions) and a message that reads: what, outcome, after how
 * long, where, and the last thing seen. `detail()` is the long tier with
 * output tails, for logs.
 */
export type ErrorCode =
  | 'USAGE'
  | 'INPUT'
  | 'COMMAND_FAILED'
  | 'WAIT_TIMEOUT'
  | 'KUBE_API'
  | 'PREREQUISITE_MISSING'
  | 'CLEANUP'
  | 'INTERRUPTED'
  | 'BOOT_FAILED'
  | 'CACHE_CORRUPT'
  | 'CACHE_BUSY'
  | 'NETWORK_UNAVAILABLE'
  | 'NODE_JOIN_FAILED'
  | 'INSTALL_SOURCE_UNREACHABLE'
  | 'INTERNAL';

export class EdgeproofError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it, when known. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.hint) this.hint = options.hint;
  }

  /** Long form: message, hint, and whatever context subclasses add. */
  detail(): string {
    return [this.message, this.hint ? `hint: ${this.hint}` : ''].filter(Boolean).join('\n');
  }
}

/** Bad flag, config, board name...: the CLI exits 2. */
export class UsageError extends EdgeproofError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, hint ? { hint } : {});
  }
}

/** Something needed on this host or guest is absent; suites turn it into skip / not-applicable. */
export class PrerequisiteMissingError extends EdgeproofError {
  constructor(
    readonly what: string,
    hint: string,
    options: { cause?: unknown } = {},
  ) {
    super('PREREQUISITE_MISSING', `${what} is missing`, { ...options, hint });
  }
}

export interface CommandOutcome {
  command: string;
  where: string;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
}

const TAIL_LINES = 20;
export function tail(text: string, lines = TAIL_LINES): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

export class CommandFailedError extends EdgeproofError {
  readonly outcome: CommandOutcome;
  constructor(outcome: CommandOutcome, options: { cause?: unknown } = {}) {
    const how = outcome.timedOut
      ? `timed out after ${formatMs(outcome.durationMs)}`
      : outcome.signal
        ? `was killed by ${outcome.signal}`
        : `exited with code ${outcome.exitCode}`;
    const last = lastLine(outcome.stderr) || lastLine(outcome.stdout);
    super(
      'COMMAND_FAILED',
      `Command \`${shorten(outcome.command)}\` on ${outcome.where} ${how}` + (last ? `: ${last}` : ''),
      options,
    );
    this.outcome = outcome;
  }
  override detail(): string {
    const { stdout, stderr } = this.outcome;
    return [
      super.detail(),
      stdout.trim() ? `--- stdout (tail)\n${tail(stdout)}` : '',
      stderr.trim() ? `--- stderr (tail)\n${tail(stderr)}` : '',
    ]
      .filter(Boolean)
      .join('\n');
  }
}

export class WaitTimeoutError extends EdgeproofError {
  constructor(
    readonly what: string,
    readonly budgetMs: number,
    readonly lastObservation: string,
    options: { cause?: unknown; where?: string; hint?: string } = {},
  ) {
    const where = options.where ? ` on ${options.where}` : '';
    super(
      'WAIT_TIMEOUT',
      `${what}${where}: not reached after ${formatMs(budgetMs)}; last seen: ${lastObservation || '(nothing)'}`,
      options,
    );
  }
}

export class BootFailedError extends EdgeproofError {
  constructor(
    readonly machine: string,
    message: string,
    readonly consoleTail: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super('BOOT_FAILED', `Machine "${machine}" ${message}`, options);
  }
  override detail(): string {
    return `${super.detail()}\n--- console (tail)\n${tail(this.consoleTail, 30)}`;
  }
}

export class KubeApiError extends EdgeproofError {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super('KUBE_API', `Kubernetes API ${operation} failed` + (status ? ` (HTTP ${status})` : '') + `: ${reason}`, options);
  }
}

export class CacheCorruptError extends EdgeproofError {
  constructor(what: string, reason: string) {
    super('CACHE_CORRUPT', `Cached ${what} is corrupt: ${reason}`, { hint: 'it will be rebuilt' });
  }
}

/**
 * A distribution's installer needs a store or URL this machine cannot reach
 * (no internet): said before anything boots, with the air-gap way out.
 */
export class InstallSourceUnreachableError extends EdgeproofError {
  constructor(
    readonly distribution: string,
    readonly step: string,
    readonly source: string,
    readonly reason: string,
    options: { where?: string; hint?: string } = {},
  ) {
    super(
      'INSTALL_SOURCE_UNREACHABLE',
      `${distribution}: step "${step}" needs ${source}, which is unreachable from ${options.where ?? 'this host'} (${reason})`,
      { hint: options.hint ?? `give the installer's files with --airgap DIR (see \`edgeproof run --help\`), or run where ${source} is reachable` },
    );
  }
}

export class InterruptedError extends EdgeproofError {
  constructor(readonly signal: string) {
    super('INTERRUPTED', `Interrupted by ${signal}`);
  }
}

export class CleanupError extends AggregateError {
  readonly code = 'CLEANUP' as const;
  constructor(errors: unknown[], message = 'Cleanup failed') {
    super(errors, `${message}: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
    this.name = 'CleanupError';
  }
}

export function formatMs(ms: number): string {
  // Round at the precision shown before choosing the unit, so 59.6s reads 1m00s, never "60s" or "1m60s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 100) return `${(tenths / 10).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim());
  return (lines.at(-1) ?? '').slice(0, 300);
}

function shorten(command: string): string {
  return command.length > 120 ? `${command.slice(0, 117)}...` : command;
}

/** Message for humans: short, never a stack. */
export function describeError(error: unknown): string {
  if (error instanceof EdgeproofError) return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  if (error instanceof AggregateError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function errorDetail(error: unknown): string {
  if (error instanceof EdgeproofError) return error.detail();
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
