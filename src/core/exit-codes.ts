import { constants } from 'node:os';

/**
 * The CLI's exit codes: the contract scripts and CI rely on. `failed` is a
 * verdict (a check or a budget failed); `error` is no verdict (the run or the
 * command itself broke), so a release gate can retry one and block on the other.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  error: 3,
  interrupted: 130,
} as const;

/** 128 + signal number, as shells report it: SIGINT 130, SIGTERM 143, SIGHUP 129. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  const number = constants.signals[signal] as number | undefined;
  return number === undefined ? EXIT.interrupted : 128 + number;
}

/** Usage, input and missing prerequisites 2; a signal 128 + its number; anything else (bring-up, timeouts, bugs) 3. */
export function exitCodeForError(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'USAGE' || code === 'INPUT' || code === 'PREREQUISITE_MISSING') return EXIT.usage;
  if (code === 'INTERRUPTED') {
    const signal = (error as { signal?: NodeJS.Signals }).signal;
    return signal ? exitCodeForSignal(signal) : EXIT.interrupted;
  }
  return EXIT.error;
}

export const EXIT_CODES_HELP = `
Exit codes: (a contract: 1 is a verdict, 3 is none)
  0    ok: nothing failed (checks that were skipped or not applicable to
       this host do not fail a run)
  1    checks or budgets failed: a run's check or budget; report: the
       re-rendered run's; doctor: a required prerequisite is missing;
       diff: a new failure or a regression; merge: a merged run failed
  2    usage or input error: unknown board, distro or suite, a bad number
       or duration, an unknown option, an empty or space-padded value, a
       directory that cannot be created, a malformed budgets or matrix file
       (file:line); or a missing prerequisite (the message gives the
       command that installs it)
  3    the run or the command itself errored, so there is no verdict:
       bring-up, a timeout, the environment, an uncaught exception (a bug);
       the reports are still written and say why (result.json: outcome
       failed). report: the run did not complete; merge: a shard missing or
       corrupt, or a merged run errored; clean: something could not be
       removed (a sweep problem, or the cache in use)
  130  interrupted by Ctrl-C (SIGINT); 143 for SIGTERM, 129 for SIGHUP (the
       terminal closed). Results gathered so far are still written;
       leftovers are swept by \`edgeproof clean\`

Environment:
  EDGEPROOF_CACHE_DIR    build cache (default ~/.cache/edgeproof)
  EDGEPROOF_REPORTS_DIR  reports (default ./reports)
  EDGEPROOF_REAPER=off   do not sweep stale sessions (debugging)
  DEBUG=edgeproof:*      debug logs per layer (also enabled by --debug)`;
