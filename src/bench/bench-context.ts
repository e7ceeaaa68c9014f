import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RunContext } from '../core/context.js';
import { installInterruptHandlers, interruptSignal, stoppedExitCode } from '../cli/interrupt.js';

let handlersInstalled = false;

/**
 * A run context for a benchmark script that stops the way `edgeproof run`
 * does on Ctrl-C: the first SIGINT/SIGTERM/SIGHUP (or an uncaught exception)
 * aborts every context made here, so the script's `finally` blocks tear down
 * what it started (QEMU, containers, networks, temp dirs); a second signal
 * exits at once and the next start sweeps the rest. The exit code then says why (130 / 143 / 129, or 1).
 */
export function benchContext(options: ConstructorParameters<typeof RunContext>[0]): RunContext {
  if (!handlersInstalled) {
    handlersInstalled = true;
    installInterruptHandlers({ graceful: true });
    process.on('exit', () => {
      process.exitCode = stoppedExitCode() ?? process.exitCode;
    });
  }
  const ctx = new RunContext(options);
  // A benchmark's run dir is scratch (in the system temp dir): a killed run's is swept with its session.
  ctx.session.track('tempDirs', options.runDir);
  const interrupt = interruptSignal();
  if (interrupt.aborted) ctx.abort(interrupt.reason);
  else interrupt.addEventListener('abort', () => ctx.abort(interrupt.reason), { once: true });
  return ctx;
}

/** A benchmark's bad flag: said in one line, exit code 2, before anything starts. */
export function exitWithUsage(bench: string, message: string): never {
  process.stderr.write(`${bench}: ${message}\n`);
  process.exit(2);
}

/** `parseArgs`, with an unknown or malformed flag said as a usage error (exit 2) rather than a stack trace. */
export function parseBenchArgs<T extends ParseArgsConfig>(bench: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    return exitWithUsage(bench, error instanceof Error ? error.message.replace(/\s*\n/g, ' ') : String(error));
  }
}
