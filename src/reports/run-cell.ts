/**
 * Which matrix cell a run belongs to, and what its inputs were: the keys the
 * comparison, the diff and the merge line runs up by. A run's cell and inputs
 * are read from its own result (environment and config), so results from any
 * machine line up without a side file.
 */
import type { RunResult } from './result-model.js';

export interface RunCell {
  distro: string;
  board: string;
  topology: string;
  /** Suites, sorted and comma-joined: `api-latency,footprint,smoke`. */
  suites: string;
}

/** `upstream/rpi4/1/api-latency,footprint,smoke`: also the id `edgeproof matrix plan` gives a cell. */
export function cellId(cell: RunCell): string {
  return `${cell.distro}/${cell.board}/${cell.topology}/${cell.suites}`;
}

export function canonicalSuites(suites: readonly string[]): string {
  return [...new Set(suites.map((s) => s.trim()).filter(Boolean))].sort().join(',');
}

export function cellOf(result: RunResult): RunCell {
  const env = result.environment;
  const config = result.config;
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const suites = Array.isArray(config.suites) ? config.suites.filter((s): s is string => typeof s === 'string') : [];
  return {
    distro: text(env.distro) ?? text(config.distro) ?? 'unknown',
    board: text(env.board) ?? text(config.board) ?? 'unknown',
    topology: text(env.topology) ?? text(config.topology) ?? '1',
    suites: suites.length ? canonicalSuites(suites) : 'unknown',
  };
}

export function cellIdOf(result: RunResult): string {
  return cellId(cellOf(result));
}

/** What shapes a run's outcome. A verdict that changes while these stay equal is flaky. */
const ENVIRONMENT_INPUTS = [
  'distro', 'distroVersion', 'k8sVersion', 'board', 'boardMemoryMiB', 'arch', 'accel', 'qemuVersion', 'backend',
  'topology', 'nodeCount', 'addons', 'timeoutScale', 'edgeproofVersion', 'gitCommit',
] as const;
/** Config keys that say where output goes or how it is shown, not what is tested. */
const VOLATILE_CONFIG = new Set(['reportsDir', 'cacheDir', 'debug', 'keep']);

export function runInputs(result: RunResult): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const key of ENVIRONMENT_INPUTS) {
    const value = result.environment[key];
    if (value !== undefined) inputs[`environment.${key}`] = JSON.stringify(value);
  }
  for (const [key, value] of Object.entries(result.config)) {
    if (!VOLATILE_CONFIG.has(key) && value !== undefined) inputs[`config.${key}`] = JSON.stringify(value);
  }
  return inputs;
}

export interface InputChange {
  key: string;
  old?: string;
  new?: string;
}

export function inputChanges(older: RunResult, newer: RunResult): InputChange[] {
  const a = runInputs(older);
  const b = runInputs(newer);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .filter((key) => a[key] !== b[key])
    .map((key) => ({ key, ...(a[key] !== undefined ? { old: a[key] } : {}), ...(b[key] !== undefined ? { new: b[key] } : {}) }));
}

/** Node names carry the run's session tag (`ep-24702470-cp-0`); across runs the role is what matches (`cp-0`). */
export function nodeRole(node: string | undefined): string {
  return node ? node.replace(/^ep-[0-9a-z]{8}-/, '') : '-';
}

/** Check names may name a node too. */
export function withoutSessionTags(text: string): string {
  return text.replace(/\bep-[0-9a-z]{8}-/g, 'ep-*-');
}
