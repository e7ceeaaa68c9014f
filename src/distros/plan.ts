/**
 * Command plans as data: what a driver runs on a node is a list of steps a
 * pure function returns (argv or a shell line, environment, files), so the
 * plans are unit-tested as golden data and the executor is the only place that
 * touches a machine. Secrets (join tokens) are named per step and never reach
 * logs, events or error messages.
 */
import { readFile } from 'node:fs/promises';
import type { RunContext } from '../core/context.js';
import { CommandFailedError } from '../core/errors.js';
import { shellQuote, type ExecResult, type Machine } from '../emulation/machine.js';

export interface PlanFile {
  path: string;
  content: string;
  mode: number;
}

/** A file copied from the harness host to the node (air-gap snaps, binaries, image tarballs). */
export interface PlanUpload {
  hostPath: string;
  path: string;
  mode: number;
}

export interface PlanStep {
  /** Shown as the phase name while it runs. */
  name: string;
  /** The command as argv, each word quoted when rendered. */
  argv?: string[];
  /** A shell line, for what argv cannot say (a pipe into the installer). */
  shell?: string;
  /** Environment for the command (exported in front of it). */
  env?: Record<string, string>;
  /** Files written before the command runs. */
  files?: PlanFile[];
  /** Host files copied to the node before the command runs. */
  uploads?: PlanUpload[];
  /** Literal values redacted from every log, event and error (tokens). */
  secrets?: string[];
  /** Base budget, before the run's timeout scale. */
  timeoutMs: number;
}

export const REDACTED = '<redacted>';

/** The shell command a step runs: `env K=V ... argv` or `export K=V; shell`. */
export function renderStep(step: PlanStep): string {
  const env = Object.entries(step.env ?? {});
  if (step.argv) {
    const words = step.argv.map(shellQuote).join(' ');
    return env.length ? `env ${env.map(([k, v]) => shellQuote(`${k}=${v}`)).join(' ')} ${words}` : words;
  }
  if (step.shell === undefined) throw new Error(`plan step "${step.name}" has neither argv nor shell`);
  const exports = env.map(([k, v]) => `export ${k}=${shellQuote(v)};`).join(' ');
  return exports ? `${exports} ${step.shell}` : step.shell;
}

/** Replaces every secret of the step in `text`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  return secrets.filter(Boolean).reduce((out, secret) => out.replaceAll(secret, REDACTED), text);
}

/** The command as it may be shown: secrets replaced. */
export function displayStep(step: PlanStep): string {
  return redact(renderStep(step), step.secrets);
}

/**
 * Runs one step on a machine as a named phase: writes its files, runs its
 * command, records it (redacted) in the event stream. A non-zero exit throws
 * CommandFailedError whose command and output tails are redacted too.
 */
export async function runStep(ctx: RunContext, machine: Machine, step: PlanStep): Promise<ExecResult> {
  const budgetMs = ctx.scaled(step.timeoutMs);
  return ctx.phase(
    step.name,
    budgetMs + 5_000,
    async (signal) => {
      for (const upload of step.uploads ?? []) await machine.writeFile(upload.path, await readFile(upload.hostPath), upload.mode);
      for (const file of step.files ?? []) await machine.writeFile(file.path, file.content, file.mode);
      const result = await machine.exec(renderStep(step), { check: false, timeoutMs: budgetMs, signal });
      const shown = displayStep(step);
      ctx.events.emit({ type: 'command', node: machine.name, command: shown, exitCode: result.exitCode, durationMs: result.durationMs });
      if (result.exitCode !== 0) {
        throw new CommandFailedError({
          command: shown,
          where: machine.name,
          exitCode: result.exitCode,
          signal: result.signal ?? null,
          timedOut: result.exitCode === null && !result.signal,
          durationMs: result.durationMs,
          stdout: redact(result.stdout, step.secrets),
          stderr: redact(result.stderr, step.secrets),
        });
      }
      return result;
    },
    machine.name,
  );
}

/** Runs steps in order on one machine. */
export async function runSteps(ctx: RunContext, machine: Machine, steps: PlanStep[]): Promise<ExecResult[]> {
  const results: ExecResult[] = [];
  for (const step of steps) results.push(await runStep(ctx, machine, step));
  return results;
}
