import { appendFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirectory } from './paths.js';
import { redactDeep } from './redact.js';

/** Verdicts of a check (see checks.md): never "pass" for something that did not run. */
export type Verdict = 'pass' | 'fail' | 'skipped' | 'not-applicable';

export interface Evidence {
  [key: string]: unknown;
}

/** The run's event stream. Every report is rendered from these events; they are on disk as they happen. */
export type RunEventBody =
  | { type: 'run-start'; runId: string; argv: string[]; config: Record<string, unknown> }
  | { type: 'environment'; environment: Record<string, unknown> }
  | { type: 'phase-start'; phase: string; node?: string; budgetMs?: number }
  | { type: 'phase-end'; phase: string; node?: string; durationMs: number; outcome: 'ok' | 'failed' | 'interrupted'; error?: string }
  | { type: 'command'; node: string; command: string; exitCode: number | null; durationMs: number }
  | { type: 'wait'; what: string; budgetMs: number; durationMs: number; outcome: 'ok' | 'timeout' }
  | { type: 'fault'; node: string; fault: string; detail?: string }
  | {
      type: 'check';
      id: string;
      suite: string;
      name: string;
      verdict: Verdict;
      reason?: string;
      durationMs: number;
      evidence: Evidence;
    }
  | {
      type: 'measurement';
      id: string;
      suite: string;
      name: string;
      unit: string;
      value: number;
      stats?: Record<string, number>;
      node?: string;
      evidence?: Evidence;
    }
  | { type: 'artifact'; name: string; path: string }
  | { type: 'run-end'; outcome: 'completed' | 'failed' | 'interrupted'; error?: string; durationMs: number };

export type RunEvent = RunEventBody & { ts: string; t: number };

/** Appends events to a JSONL file synchronously so that a killed run keeps what it had. */
export class EventLog {
  readonly #started = Date.now();
  readonly #listeners: ((event: RunEvent) => void)[] = [];
  readonly events: RunEvent[] = [];

  constructor(readonly path?: string) {
    if (path) makeDirectory(dirname(path));
  }

  emit(body: RunEventBody): RunEvent {
    // Redacted before it is kept: results and reports are built from these events.
    const event = redactDeep({ ts: new Date().toISOString(), t: Date.now() - this.#started, ...body }) as RunEvent;
    this.events.push(event);
    if (this.path) appendFileSync(this.path, `${JSON.stringify(event)}\n`);
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  onEvent(listener: (event: RunEvent) => void): void {
    this.#listeners.push(listener);
  }
}
