import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RunContext } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { cacheDir, reportsDir, writableDirectory } from '../core/paths.js';
import { installInterruptHandlers, interruptSignal, stoppedExitCode } from '../core/interrupt.js';
import { checkGivenValue } from '../core/option-values.js';

let handlersInstalled = false;

/**
 * A run context for a benchmark script that stops the way `edgeproof run`
 * does on Ctrl-C: the first SIGINT/SIGTERM/SIGHUP (or an uncaught exception)
 * aborts every context made here, so the script's `finally` blocks tear down
 * what it started (QEMU, containers, networks, temp dirs); a second signal
 * exits at once and the next start sweeps the rest. The exit code then says
 * why (130 / 143 / 129, or 1).
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

/**
 * `parseArgs`, with an unknown, malformed, empty or space-padded flag, or a
 * reports or cache dir that cannot be written, said as a usage error (exit 2)
 * before anything starts rather than a stack trace (or a hang) later.
 */
export function parseBenchArgs<T extends ParseArgsConfig>(bench: string, config: T): ReturnType<typeof parseArgs<T>> {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    return exitWithUsage(bench, error instanceof Error ? error.message.replace(/\s*\n/g, ' ') : String(error));
  }
  try {
    checkTypedValues(config);
    writableDirectory(reportsDir(), process.env.EDGEPROOF_REPORTS_DIR ? 'EDGEPROOF_REPORTS_DIR' : 'the reports dir');
    writableDirectory(cacheDir(), process.env.EDGEPROOF_CACHE_DIR ? 'EDGEPROOF_CACHE_DIR' : 'the cache dir');
  } catch (error) {
    return exitWithUsage(bench, describeError(error).replace(/\s*\n\s*/g, ' '));
  }
  return parsed;
}

/** The values typed on the command line (not the defaults), each checked like `edgeproof`'s. */
function checkTypedValues(config: ParseArgsConfig): void {
  for (const token of parseArgs({ ...config, tokens: true }).tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    const fallback = config.options?.[token.name]?.default;
    checkGivenValue(token.value, token.rawName, typeof fallback === 'string' ? `a value like its default, ${fallback}` : 'a value');
  }
}
