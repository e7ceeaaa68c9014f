import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '../core/events.js';
import { renderJunit } from './junit.js';
import { ResultInvalidError } from './result-model.js';
import { renderSummary } from './summary-md.js';
import { exitCodeFor, readResultFile, readRunDir, writeReports } from './write-reports.js';

const GOLDEN_EVENTS = new URL('../../fixtures/golden/reports/killed-run/events.jsonl', import.meta.url);
const claims = { microk8s: 540, k3s: 512, minikube: 644 };

let runDir: string;
beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'edgeproof-reports-'));
});
afterEach(() => {
  rmSync(runDir, { recursive: true, force: true });
});

describe('writeReports and readRunDir', () => {
  it('rebuilds a killed run from its events.jsonl and writes the three reports, nothing else', async () => {
    copyFileSync(GOLDEN_EVENTS, join(runDir, 'events.jsonl'));
    const { result, events, badLines } = await readRunDir(runDir);
    expect(badLines).toHaveLength(1);
    expect(result.outcome).toBe('incomplete');

    const written = await writeReports(runDir, events, { claims });
    expect(written).toEqual(result);
    expect(readdirSync(runDir).sort()).toEqual(['events.jsonl', 'junit.xml', 'report.html', 'result.json', 'summary.md']);
    expect(readFileSync(join(runDir, 'junit.xml'), 'utf8')).toBe(renderJunit(result));
    expect(readFileSync(join(runDir, 'summary.md'), 'utf8')).toBe(renderSummary(result, { claims }));
    expect(await readResultFile(join(runDir, 'result.json'))).toEqual(result);
    expect(exitCodeFor(result)).toBe(3);
  });

  it('works on the stream EventLog writes, replacing earlier reports', async () => {
    const log = new EventLog(join(runDir, 'events.jsonl'));
    log.emit({ type: 'run-start', runId: 'r-live', argv: ['run'], config: {} });
    log.emit({ type: 'check', id: 'BOOT-1', suite: 'boot', name: 'nodes Ready', verdict: 'not-applicable', reason: 'existing backend', durationMs: 1, evidence: {} });
    await writeReports(runDir, log.events);
    log.emit({ type: 'run-end', outcome: 'completed', durationMs: 5 });

    const { result } = await readRunDir(runDir);
    await writeReports(runDir, log.events);
    expect(result.outcome).toBe('completed');
    expect(JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')).outcome).toBe('completed');
    expect(exitCodeFor(result)).toBe(0);
  });

  it('refuses to write a result that does not validate, naming the field, and leaves no file behind', async () => {
    const log = new EventLog();
    log.emit({ type: 'run-start', runId: 'r-bad', argv: [], config: {} });
    log.emit({ type: 'environment', environment: { slowdownFactor: 'about ten' } });
    const attempt = writeReports(runDir, log.events);
    await expect(attempt).rejects.toBeInstanceOf(ResultInvalidError);
    await expect(attempt).rejects.toThrow(/environment\.slowdownFactor is invalid/);
    expect(readdirSync(runDir)).toEqual([]);
  });

  it('says which result.json field is corrupt', async () => {
    copyFileSync(GOLDEN_EVENTS, join(runDir, 'events.jsonl'));
    const { events } = await readRunDir(runDir);
    await writeReports(runDir, events);
    const path = join(runDir, 'result.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.checks[3].durationMs = -5;
    writeFileSync(path, JSON.stringify(json));
    await expect(readResultFile(path)).rejects.toThrow(`Invalid ${path}: checks[3].durationMs is invalid`);
  });

  it('says when result.json is not JSON at all', async () => {
    const path = join(runDir, 'result.json');
    writeFileSync(path, '{"schemaVersion": 1, "runId": "r", "sta');
    await expect(readResultFile(path)).rejects.toThrow(/result\.json is not JSON/);
  });

  it('says when a directory is not a run directory', async () => {
    await expect(readRunDir(runDir)).rejects.toThrow(/Cannot read .*events\.jsonl/);
  });
});
