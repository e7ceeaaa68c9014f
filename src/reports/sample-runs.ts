/**
 * Tests only: the real runs under fixtures/samples/runs (see its README),
 * rebuilt through the same code path `edgeproof report` uses.
 */
import { readFileSync } from 'node:fs';
import { fixturePath } from '../core/paths.js';
import type { RunEvent } from '../core/events.js';
import { buildResult, parseEventsJsonl, validateResult, type RunResult } from './result-model.js';

export const SAMPLE_RUNS = {
  /** completed, BOOT-3, SMOKE-2/3 and four API SLO checks failed; latency 5/s. */
  failing: '20261124-070856-5ac8',
  /** interrupted, smoke only. */
  interrupted: '20261124-073627-8a9c',
  /** completed, all checks passed; latency 2/s. */
  passing: '20261124-085953-2470',
} as const;

export function sampleEventsPath(runId: string): string {
  return fixturePath('samples', 'runs', runId, 'events.jsonl');
}

export function sampleEvents(runId: string): RunEvent[] {
  return parseEventsJsonl(readFileSync(sampleEventsPath(runId), 'utf8')).events;
}

export function sampleResult(runId: string): RunResult {
  return validateResult(buildResult(sampleEvents(runId)), runId);
}
