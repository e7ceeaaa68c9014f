import { formatMs } from './errors.js';

/**
 * Shows long work as it runs: a task list with durations on a terminal, plain
 * timestamped lines when CI is set or stdout is not a TTY.
 */
export interface Progress {
  start(task: string, detail?: string): void;
  end(task: string, durationMs: number, outcome: 'ok' | 'failed' | 'skipped', detail?: string): void;
  info(message: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const plain = Boolean(process.env.CI) || !stream.isTTY;
  const stamp = () => (plain ? `${new Date().toISOString().slice(11, 19)} ` : '');
  const mark = { ok: plain ? 'ok  ' : '\u2713 ', failed: plain ? 'FAIL' : '\u2717 ', skipped: plain ? 'skip' : '- ' };
  return {
    start(task, detail) {
      stream.write(`${stamp()}${plain ? '... ' : '\u25b8 '}${task}${detail ? ` (${detail})` : ''}\n`);
    },
    end(task, durationMs, outcome, detail) {
      stream.write(`${stamp()}${mark[outcome]} ${task} ${formatMs(durationMs)}${detail ? `: ${detail}` : ''}\n`);
    },
    info(message) {
      stream.write(`${stamp()}    ${message}\n`);
    },
  };
}

export const silentProgress: Progress = { start() {}, end() {}, info() {} };

/** Forwards only the ends of tasks that `keep` selects: a benchmark shows each check as it finishes, not every phase. */
export function endsOnly(inner: Progress, keep: (task: string) => boolean): Progress {
  return {
    start() {},
    end(task, durationMs, outcome, detail) {
      if (keep(task)) inner.end(task, durationMs, outcome, detail);
    },
    info() {},
  };
}

/** Task names of checks (`HA-3 …`, `MESH-I3 …`, `BM-API-1/pod-get …`), as opposed to phases (lower case). */
export const isCheckTask = (task: string): boolean => /^[A-Z]+(-[A-Z0-9]+)+\b/.test(task);
