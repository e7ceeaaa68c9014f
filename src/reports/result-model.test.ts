import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventBody } from '../core/events.js';
import {
  buildResult,
  exitCodeFor,
  formatIssuePath,
  parseEventsJsonl,
  ResultInvalidError,
  runResultSchema,
  validateResult,
  type RunResult,
} from './result-model.js';

const GOLDEN = new URL('../../fixtures/golden/reports/killed-run/', import.meta.url);
const goldenText = readFileSync(new URL('events.jsonl', GOLDEN), 'utf8');

function goldenEvents(): RunEvent[] {
  return parseEventsJsonl(goldenText).events;
}

/** A stream written the way EventLog writes it: t counts from 0, ts follows t. */
function stream(...bodies: RunEventBody[]): RunEvent[] {
  return bodies.map((body, i) => ({ ts: new Date(Date.UTC(2026, 10, 24, 6, 35, i)).toISOString(), t: i * 1000, ...body }) as RunEvent);
}

const runStart: RunEventBody = { type: 'run-start', runId: 'r1', argv: ['run'], config: {} };
const runEnd = (outcome: 'completed' | 'failed' | 'interrupted'): RunEventBody => ({ type: 'run-end', outcome, durationMs: 9000 });

function corrupt(mutate: (json: Record<string, any>) => void): unknown {
  const json = JSON.parse(JSON.stringify(buildResult(goldenEvents())));
  mutate(json);
  return json;
}

function validationError(json: unknown): ResultInvalidError {
  try {
    validateResult(json);
  } catch (error) {
    if (error instanceof ResultInvalidError) return error;
    throw error;
  }
  throw new Error('expected validateResult to throw');
}

describe('parseEventsJsonl', () => {
  it('keeps every whole line of a killed run and reports the truncated last one', () => {
    const { events, badLines } = parseEventsJsonl(goldenText);
    const lineCount = goldenText.split('\n').length;
    expect(badLines).toEqual([lineCount]);
    expect(events).toHaveLength(lineCount - 1);
    expect(events[0]?.type).toBe('run-start');
    expect(events.at(-1)).toMatchObject({ type: 'phase-start', phase: 'teardown' });
  });

  it('reports corrupt lines and events of the wrong shape by line number, and ignores blank lines', () => {
    const lines = goldenText.split('\n').slice(0, 4);
    const text = [
      lines[0],
      '',
      '{"ts":"x","t":1,"type":"check","id":"A","suite":"s","name":"n","verdict":"passed","durationMs":1,"evidence":{}}',
      'not json',
      '{"ts":"x","t":2,"type":"no-such-event"}',
      lines[1],
      '',
    ].join('\n');
    const { events, badLines } = parseEventsJsonl(text);
    expect(badLines).toEqual([3, 4, 5]);
    expect(events.map((e) => e.type)).toEqual(['run-start', 'environment']);
  });
});

describe('buildResult', () => {
  it('builds the golden result of a killed run', async () => {
    const result = buildResult(goldenEvents());
    await expect(`${JSON.stringify(result, null, 2)}\n`).toMatchFileSnapshot('../../fixtures/golden/reports/killed-run/result.json');
  });

  it('marks a run without run-end incomplete and its open phase unfinished', () => {
    const result = buildResult(goldenEvents());
    expect(result.outcome).toBe('incomplete');
    expect(result.finishedAt).toBeUndefined();
    expect(result.phases.at(-1)).toEqual({ name: 'teardown', t: 897160, budgetMs: 1_200_000, outcome: 'unfinished' });
    expect(result.phases.slice(0, 4).map((p) => [p.name, p.outcome])).toEqual([
      ['boot', 'ok'],
      ['etcd', 'ok'],
      ['apiserver', 'ok'],
      ['node-ready', 'ok'],
    ]);
  });

  it('merges environment events and counts verdicts', () => {
    const result = buildResult(goldenEvents());
    expect(result.environment).toMatchObject({ board: 'rpi4', accel: 'tcg', slowdownFactor: 9.6, timeoutScale: 10 });
    expect(result.summary).toEqual({ pass: 3, fail: 2, skipped: 1, notApplicable: 1 });
  });

  it('takes the outcome, end time and error from run-end', () => {
    const result = buildResult(stream(runStart, { type: 'run-end', outcome: 'failed', error: 'boom', durationMs: 1000 }));
    expect(result).toMatchObject({ outcome: 'failed', error: 'boom', finishedAt: '2026-11-24T06:35:01.000Z', durationMs: 1000 });
  });

  it('pairs phase-end with the open phase of the same name on the same node', () => {
    const result = buildResult(
      stream(
        runStart,
        { type: 'phase-start', phase: 'boot', node: 'cp-0' },
        { type: 'phase-start', phase: 'boot', node: 'cp-1' },
        { type: 'phase-end', phase: 'boot', node: 'cp-1', durationMs: 1000, outcome: 'failed', error: 'no init on serial' },
        { type: 'phase-end', phase: 'boot', node: 'cp-0', durationMs: 2000, outcome: 'ok' },
        { type: 'phase-start', phase: 'join', node: 'cp-1' },
        runEnd('interrupted'),
      ),
    );
    expect(result.phases).toEqual([
      { name: 'boot', node: 'cp-0', t: 1000, durationMs: 2000, outcome: 'ok' },
      { name: 'boot', node: 'cp-1', t: 2000, durationMs: 1000, outcome: 'failed', error: 'no init on serial' },
      { name: 'join', node: 'cp-1', t: 5000, outcome: 'unfinished' },
    ]);
  });

  it('keeps a phase whose start line was lost, dated back by its duration', () => {
    const result = buildResult(stream(runStart, { type: 'environment', environment: {} }, { type: 'phase-end', phase: 'etcd', durationMs: 1500, outcome: 'ok' }));
    expect(result.phases).toEqual([{ name: 'etcd', t: 500, durationMs: 1500, outcome: 'ok' }]);
  });

  it('records faults relative to the run start', () => {
    const events = stream(runStart, { type: 'fault', node: 'cp-1', fault: 'power-off', detail: 'QMP quit' });
    expect(buildResult(events).faults).toEqual([{ t: 1000, node: 'cp-1', fault: 'power-off', detail: 'QMP quit' }]);
  });

  it('refuses a stream without run-start', () => {
    expect(() => buildResult(goldenEvents().slice(1))).toThrow(/no run-start event/);
  });
});

describe('validateResult', () => {
  it('accepts the golden result.json as written', () => {
    const json = JSON.parse(readFileSync(new URL('result.json', GOLDEN), 'utf8'));
    expect(validateResult(json)).toEqual(json);
  });

  it.each([
    ['checks[2].verdict', (r: any) => (r.checks[2].verdict = 'passed'), /checks\[2\]\.verdict is invalid: Invalid enum value/],
    ['runId', (r: any) => delete r.runId, /runId is missing/],
    ['schemaVersion', (r: any) => (r.schemaVersion = 2), /schemaVersion is invalid/],
    ['environment.slowdownFactor', (r: any) => (r.environment.slowdownFactor = 'fast'), /environment\.slowdownFactor is invalid: Expected number/],
    ['phases[6].outcome', (r: any) => (r.phases[6].outcome = 'running'), /phases\[6\]\.outcome/],
    ['measurements[0].stats.p95', (r: any) => (r.measurements[0].stats.p95 = '431'), /measurements\[0\]\.stats\.p95/],
    ['startedAt', (r: any) => (r.startedAt = 'yesterday'), /startedAt is invalid/],
    ['summary.fail', (r: any) => (r.summary.fail = 0), /summary\.fail is 0 but the checks give 2/],
  ])('names the first invalid field: %s', (path, mutate, message) => {
    const error = validationError(corrupt(mutate));
    expect(error.path).toBe(path);
    expect(error.code).toBe('INPUT');
    expect(error.message).toMatch(message);
  });

  it('keeps environment keys it does not know', () => {
    const result = validateResult(corrupt((r) => (r.environment.cni = 'bridge')));
    expect(result.environment.cni).toBe('bridge');
  });

  it('formats nested paths', () => {
    expect(formatIssuePath(['checks', 2, 'evidence', 'nodes', 0])).toBe('checks[2].evidence.nodes[0]');
    expect(formatIssuePath([])).toBe('');
  });

  it('is the same schema that is exported', () => {
    expect(runResultSchema.safeParse(buildResult(goldenEvents())).success).toBe(true);
  });
});

describe('exitCodeFor', () => {
  const withChecks = (outcome: RunResult['outcome'], verdicts: RunResult['checks'][number]['verdict'][]) => {
    const checks = verdicts.map((verdict, i) => ({ id: `C-${i}`, suite: 's', name: 'n', verdict, durationMs: 0, evidence: {} }));
    return { ...buildResult(stream(runStart)), outcome, checks };
  };

  it.each([
    ['completed', ['pass', 'skipped', 'not-applicable'], 0],
    ['completed', [], 0],
    ['completed', ['pass', 'fail'], 1],
    ['failed', ['pass'], 3],
    ['failed', ['pass', 'fail'], 3],
    ['interrupted', ['pass'], 3],
    ['incomplete', ['pass'], 3],
  ] as const)('outcome %s with verdicts %j exits %i', (outcome, verdicts, code) => {
    expect(exitCodeFor(withChecks(outcome, [...verdicts]))).toBe(code);
  });

  it('errors the killed golden run: it never ended, so it has no verdict', () => {
    expect(exitCodeFor(buildResult(goldenEvents()))).toBe(3);
  });
});
