import { execa, type Options } from 'execa';
import { CommandFailedError } from './errors.js';
import { logger } from './log.js';

const log = logger('exec');

export interface HostRunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Stream output lines as they come (long builds show progress). */
  onLine?: (line: string) => void;
  /** Shown in logs and errors instead of the command line, which may carry credentials. */
  display?: string;
}

/** Runs a command on the host; failure throws CommandFailedError with the output tails. */
export async function hostRun(file: string, args: string[], options: HostRunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const command = options.display ?? [file, ...args].join(' ');
  log('run %s', command);
  const started = Date.now();
  const execaOptions: Options = {
    reject: false,
    all: false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' }),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    // Its own process group, so an abort ends the whole tree (a build's go or mmdebstrap children too).
    ...(options.signal ? { detached: true } : {}),
    ...(options.onLine ? { lines: false } : {}),
  };
  const child = execa(file, args, execaOptions);
  const killGroup = () => {
    if (!child.pid) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000).unref();
    } catch {
      // already gone
    }
  };
  if (options.signal?.aborted) killGroup();
  options.signal?.addEventListener('abort', killGroup, { once: true });
  if (options.onLine) {
    const onData = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach(options.onLine!);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }
  const result = await child;
  options.signal?.removeEventListener('abort', killGroup);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.failed) {
    throw new CommandFailedError({
      command,
      where: 'host',
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut: result.timedOut,
      durationMs: Date.now() - started,
      stdout,
      // execa's message quotes the command line: not for a command shown by another name.
      stderr: stderr || (options.signal?.aborted ? 'cancelled' : options.display ? '' : String(result.message ?? '')),
    });
  }
  return { stdout, stderr };
}

/** True when `file` is an executable on PATH. */
export async function onPath(file: string): Promise<boolean> {
  const result = await execa('sh', ['-c', `command -v "$1"`, 'sh', file], { reject: false });
  return result.exitCode === 0;
}

/** `go version` of the host's toolchain: an input of every artifact built with it. */
export async function goVersion(): Promise<string> {
  const { stdout } = await hostRun('go', ['version']);
  return stdout.trim();
}
