import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog, type RunEvent } from './events.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-events-test-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);

describe('EventLog', () => {
  it('creates the parent dir and appends one JSON line per event, readable right after emit', () => {
    const path = join(root, 'runs', 'r1', 'events.jsonl');
    const log = new EventLog(path);
    expect(existsSync(join(root, 'runs', 'r1'))).toBe(true);

    const first = log.emit({ type: 'run-start', runId: 'r1', argv: ['run'], config: { board: 'qemu' } });
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    expect(lines(path)).toEqual([first]);

    const second = log.emit({ type: 'fault', node: 'ep-1-cp-0', fault: 'power-cut', detail: 'line\nbreak "quoted"' });
    const onDisk = lines(path);
    expect(onDisk).toEqual([first, second]);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
    expect(onDisk[1]!.type === 'fault' && onDisk[1]!.detail).toBe('line\nbreak "quoted"');
    expect(log.events).toEqual([first, second]);
  });

  it('stamps each event with an ISO ts and a monotone t (ms since the log started)', async () => {
    const log = new EventLog(join(root, 'events.jsonl'));
    const before = Date.now();
    const a = log.emit({ type: 'artifact', name: 'a', path: '/a' });
    await new Promise((r) => setTimeout(r, 20));
    const b = log.emit({ type: 'artifact', name: 'b', path: '/b' });
    expect(a.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(a.ts)).toBeGreaterThanOrEqual(before - 1);
    expect(a.t).toBeGreaterThanOrEqual(0);
    expect(a.t).toBeLessThan(1_000);
    expect(b.t - a.t).toBeGreaterThanOrEqual(15);
    expect(Object.keys(a).slice(0, 3)).toEqual(['ts', 't', 'type']);
  });

  it('appends to an existing file rather than truncating it', () => {
    const path = join(root, 'events.jsonl');
    new EventLog(path).emit({ type: 'artifact', name: 'one', path: '/1' });
    new EventLog(path).emit({ type: 'artifact', name: 'two', path: '/2' });
    expect(lines(path).map((e) => e.type === 'artifact' && e.name)).toEqual(['one', 'two']);
  });

  it('calls every listener with the stamped event, after it is on disk', () => {
    const path = join(root, 'events.jsonl');
    const log = new EventLog(path);
    const seen: [string, RunEvent, number][] = [];
    log.onEvent((event) => seen.push(['a', event, lines(path).length]));
    log.onEvent((event) => seen.push(['b', event, lines(path).length]));
    const event = log.emit({ type: 'phase-start', phase: 'boot', budgetMs: 1000 });
    expect(seen).toEqual([
      ['a', event, 1],
      ['b', event, 1],
    ]);
  });

  it('keeps events in memory only when it has no path', () => {
    const log = new EventLog();
    const seen: RunEvent[] = [];
    log.onEvent((e) => seen.push(e));
    const event = log.emit({ type: 'run-end', outcome: 'completed', durationMs: 5 });
    expect(log.path).toBeUndefined();
    expect(log.events).toEqual([event]);
    expect(seen).toEqual([event]);
  });
});
