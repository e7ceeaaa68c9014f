/**
 * The only part of reports/ that touches the disk: a run directory's
 * events.jsonl in, result.json, junit.xml, summary.md and report.html out.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeproofError } from '../core/errors.js';
import type { RunEvent } from '../core/events.js';
import { renderHtmlReport } from './html-report.js';
import { loadReportAssets, type ReportAssets } from './html-page.js';
import { renderJunit } from './junit.js';
import { buildResult, parseEventsJsonl, validateResult, type RunResult } from './result-model.js';
import { renderSummary, type SummaryOptions } from './summary-md.js';

export { exitCodeFor } from './result-model.js';

export const EVENTS_FILE = 'events.jsonl';
export const RESULT_FILE = 'result.json';
export const JUNIT_FILE = 'junit.xml';
export const SUMMARY_FILE = 'summary.md';
export const HTML_FILE = 'report.html';

export interface WriteReportsOptions extends SummaryOptions {
  /** Chart.js and friends; default: read from node_modules. */
  assets?: ReportAssets;
}

/** Builds and validates the result, then writes the four reports; each file is either old or complete, never half-written. */
export async function writeReports(runDir: string, events: RunEvent[], opts: WriteReportsOptions = {}): Promise<RunResult> {
  const result = validateResult(buildResult(events), `result of run in ${runDir}`);
  await writeFileAtomic(join(runDir, RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  await writeFileAtomic(join(runDir, JUNIT_FILE), renderJunit(result));
  await writeFileAtomic(join(runDir, SUMMARY_FILE), renderSummary(result, opts));
  await writeHtmlReport(runDir, result, opts);
  return result;
}

/** report.html alone, e.g. to re-render a run with this version's renderer. */
export async function writeHtmlReport(runDir: string, result: RunResult, opts: WriteReportsOptions = {}): Promise<void> {
  const { assets = loadReportAssets(), ...rest } = opts;
  await writeFileAtomic(join(runDir, HTML_FILE), renderHtmlReport(result, { ...rest, assets }));
}

/** Rebuilds a run's result from its events.jsonl (e.g. after a killed run, or to re-render). */
export async function readRunDir(runDir: string): Promise<{ result: RunResult; events: RunEvent[]; badLines: number[] }> {
  const path = join(runDir, EVENTS_FILE);
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new EdgeproofError('INPUT', `Cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: 'pass the directory of a run (it holds events.jsonl)',
    });
  });
  const { events, badLines } = parseEventsJsonl(text);
  return { result: validateResult(buildResult(events), path), events, badLines };
}

/** Reads and validates a result.json, e.g. from another machine or an older run. */
export async function readResultFile(path: string): Promise<RunResult> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EdgeproofError('INPUT', `${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return validateResult(json, path);
}

export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
