import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { cacheDir as defaultCacheDir, reportsDir as defaultReportsDir, writableDirectory } from '../core/paths.js';
import { boardByName, boardCpus, boardMemory, boardNames, hostArch } from '../emulation/boards.js';
import type { Topology } from '../cluster/distribution.js';
import type { BackendFlags } from './backend-options.js';
import type { BackendName } from '../emulation/machine.js';
import type { RunOptions, ConformanceRunOptions } from '../run/run-options.js';
import { DEFAULT_SUITES, SUITE_NAMES, SUITES, type SuiteName } from '../suites/registry.js';
import { didYouMean } from '../core/suggest.js';
import { parseOutsideTarget } from '../suites/route-table.js';
import { CONFORMANCE_PRESET_NAMES } from '../suites/conformance/presets.js';

export type { ConformanceRunOptions, RunOptions } from '../run/run-options.js';

/** The suites registry's names, in its order: the CLI keeps no list of its own. */
export const suiteNames: readonly SuiteName[] = SUITE_NAMES;

/** `edgeproof run --help`'s list of suites, one line each. */
export function suitesHelp(): string {
  const width = Math.max(...suiteNames.map((name) => name.length));
  const lines = suiteNames.map((name) => `  ${name.padEnd(width)}  ${SUITES[name].help}${DEFAULT_SUITES.includes(name) ? ' (default)' : ''}`);
  return `\nSuites:\n${lines.join('\n')}`;
}

/** Defined here, not in backend-options.ts: help and usage errors must not load the drivers that module imports. */
export const backendNames = ['qemu', 'container', 'ssh', 'existing'] as const satisfies readonly BackendName[];

export const RUN_DEFAULTS = {
  board: 'rpi4',
  distro: 'upstream',
  backend: 'qemu',
  topology: '1',
  suite: DEFAULT_SUITES.join(','),
  footprintWindow: '30s',
  latencyRate: '2',
  latencyDuration: '30s',
  conformancePreset: 'quick',
} as const;

/** The flags as commander hands them over: strings, unvalidated. */
export interface RunFlags extends BackendFlags {
  board?: string;
  distro?: string;
  suite?: string;
  memory?: string;
  cpus?: string;
  timeoutScale?: string;
  budgets?: string;
  addon?: string[];
  installAddons?: boolean;
  reportsDir?: string;
  cacheDir?: string;
  footprintWindow?: string;
  latencyRate?: string;
  latencyDuration?: string;
  airgapTarget?: string;
  conformancePreset?: string;
  conformanceParallel?: string;
  conformanceImage?: string;
  conformanceRepoList?: string;
  cold?: boolean;
  keep?: boolean;
  debug?: boolean;
}

/**
 * Validates every flag up front; throws a UsageError saying what is wrong and
 * how to fix it. The distribution registry loads every driver (seconds), so it
 * is imported last, once everything cheap has been checked.
 */
export async function parseRunOptions(flags: RunFlags): Promise<RunOptions> {
  const board = requireChoice(flags.board ?? RUN_DEFAULTS.board, boardNames, 'board', '--board', 'see `edgeproof boards`');
  const boardProfile = boardByName(board);
  if (flags.backend !== undefined && flags.backend !== 'qemu' && (flags.board !== undefined || flags.memory !== undefined || flags.cpus !== undefined)) {
    throw new UsageError(`--board, --memory and --cpus apply to emulated boards (--backend qemu), not --backend ${flags.backend}`, 'drop --board/--memory/--cpus, or use --backend qemu');
  }
  // The distribution registry and the backends load every driver (seconds): imported once the cheap checks passed.
  const { parseBackendOptions } = await import('./backend-options.js');
  const clusterSource = parseBackendOptions(flags, { arch: (flags.backend ?? 'qemu') === 'qemu' ? boardProfile.arch : hostArch() });
  const options: RunOptions = {
    board,
    backend: clusterSource.backend,
    topology: clusterSource.topology,
    distro: clusterSource.distro,
    clusterSource,
    addons: [],
    installAddons: Boolean(flags.installAddons),
    suites: parseSuiteList(flags.suite ?? RUN_DEFAULTS.suite),
    reportsDir: outputDirectoryOption(flags.reportsDir ?? defaultReportsDir(), '--reports-dir'),
    footprintWindowMs: parseWindow(flags.footprintWindow ?? RUN_DEFAULTS.footprintWindow, '--footprint-window'),
    latencyRate: parsePositiveNumber(flags.latencyRate ?? RUN_DEFAULTS.latencyRate, '--latency-rate', 'requests per second, e.g. 5 or 0.5'),
    latencyDurationMs: parseWindow(flags.latencyDuration ?? RUN_DEFAULTS.latencyDuration, '--latency-duration'),
    airgapTargets: (flags.airgapTarget ?? '').split(',').filter((t) => t.trim()).map(parseOutsideTarget),
    conformance: parseConformanceOptions(flags),
    cold: Boolean(flags.cold),
    keep: Boolean(flags.keep),
    debug: Boolean(flags.debug),
  };
  if (flags.memory !== undefined) {
    boardMemory(boardProfile, flags.memory);
    options.memory = flags.memory.trim();
  }
  if (flags.cpus !== undefined) options.cpus = boardCpus(boardProfile, flags.cpus);
  if (flags.timeoutScale !== undefined) {
    options.timeoutScale = parsePositiveNumber(flags.timeoutScale, '--timeout-scale', 'a factor such as 1, 2.5 or 10 (TCG is about 10)');
  }
  if (flags.cacheDir !== undefined) options.cacheDir = outputDirectoryOption(flags.cacheDir, '--cache-dir');
  else writableDirectory(defaultCacheDir(), process.env.EDGEPROOF_CACHE_DIR ? 'EDGEPROOF_CACHE_DIR' : 'the cache dir');
  if (flags.budgets !== undefined) {
    options.budgetsFile = resolve(flags.budgets);
    // A malformed file is a usage error (file:line) before anything boots.
    const { loadBudgets } = await import('../reports/budgets.js');
    await loadBudgets(options.budgetsFile);
  }
  // A run with --airgap proves it: the air-gap check runs after the other suites.
  if (flags.airgap !== undefined && !options.suites.includes('airgap')) options.suites.push('airgap');
  if (options.airgapTargets.length > 0 && !options.suites.includes('airgap')) {
    throw new UsageError('--airgap-target applies to the airgap suite', 'add --suite airgap (or --airgap DIR, which adds it)');
  }
  requireTopologyForSuites(options.suites, options.topology);
  // An unknown addon or a malformed argument (a MetalLB range) is refused before anything is installed.
  const [{ parseAddonRequests }, { assertPlannable }] = await Promise.all([import('../suites/addon-suites.js'), import('../distros/addons/enable-plans.js')]);
  options.addons = parseAddonRequests(flags.addon ?? []);
  assertPlannable({ distro: options.distro }, options.addons);
  return options;
}

export function requireChoice<T extends string>(value: string, choices: readonly T[], noun: string, flag: string, seeAlso?: string): T {
  const trimmed = value.trim();
  if ((choices as readonly string[]).includes(trimmed)) return trimmed as T;
  const hint = `valid ${noun === 'distribution' ? 'distributions' : `${noun}s`}: ${choices.join(', ')}` + (seeAlso ? ` (${seeAlso})` : '');
  throw new UsageError(`Unknown ${noun} "${trimmed}" for ${flag}${didYouMean(trimmed, choices)}`, hint);
}

/** 'smoke,footprint' -> ['smoke', 'footprint']: trimmed, deduplicated, each one known. */
export function parseSuiteList(text: string): SuiteName[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) {
    throw new UsageError('--suite needs at least one suite', `valid suites: ${suiteNames.join(', ')} (comma-separated)`);
  }
  return names.map((name) => requireChoice(name, suiteNames, 'suite', '--suite'));
}

/** Suites that need more than one node say so before anything boots. */
export function requireTopologyForSuites(suites: readonly SuiteName[], topology: Topology): void {
  for (const name of suites) {
    const needed = SUITES[name].needs?.controlPlanes ?? 1;
    if (topology.controlPlanes < needed) {
      throw new UsageError(`The ${name} suite needs ${inWords(needed)} control planes (asked for --topology ${topology.controlPlanes}${topology.workers ? `+${topology.workers}` : ''})`, `use --topology ${needed} or ${needed}+1`);
    }
  }
}

const inWords = (count: number) => ['zero', 'one', 'two', 'three', 'four', 'five'][count] ?? String(count);

/** --conformance-preset, --conformance-parallel, --conformance-image. */
export function parseConformanceOptions(flags: Pick<RunFlags, 'conformancePreset' | 'conformanceParallel' | 'conformanceImage' | 'conformanceRepoList'>): ConformanceRunOptions {
  const preset = requireChoice(flags.conformancePreset ?? RUN_DEFAULTS.conformancePreset, CONFORMANCE_PRESET_NAMES, 'conformance preset', '--conformance-preset');
  const options: ConformanceRunOptions = { preset };
  if (flags.conformanceParallel !== undefined) {
    const nodes = flags.conformanceParallel.trim();
    if (!/^[1-9]\d{0,2}$/.test(nodes)) throw new UsageError(`Invalid --conformance-parallel "${flags.conformanceParallel}": it must be a whole number of Ginkgo nodes from 1 to 999`, 'write e.g. 2 (default: half the host\'s CPUs; the serial and quick presets always use 1)');
    options.parallel = Number(nodes);
  }
  if (flags.conformanceImage !== undefined) {
    const image = flags.conformanceImage.trim();
    if (!/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:[\w.-]+|@sha256:[a-f0-9]{64})$/.test(image)) {
      throw new UsageError(`Invalid --conformance-image "${flags.conformanceImage}"`, 'give a full image reference with a tag, e.g. registry.k8s.io/conformance:v1.35.4 or registry.lan:5000/registry.k8s.io/conformance:v1.35.4');
    }
    options.image = image;
  }
  if (flags.conformanceRepoList !== undefined) {
    const file = resolve(flags.conformanceRepoList);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new UsageError(`--conformance-repo-list ${flags.conformanceRepoList} is not a file`, 'give a KUBE_TEST_REPO_LIST YAML, e.g. the repo-list.yaml of `edgeproof conformance-images --mirror <registry> --out <dir>`, or an empty file for the upstream registries');
    }
    options.repoList = file;
  }
  return options;
}

const DECIMAL = /^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A positive, finite decimal number; never truncated to an integer. */
export function parsePositiveNumber(text: string, flag: string, example: string): number {
  const trimmed = text.trim();
  const value = DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`Invalid ${flag} "${text}": it must be a positive number`, `write ${example}`);
  }
  return value;
}

const MIN_WINDOW_MS = 1000;

/** A measurement window: a duration of at least a second (samples are taken once a second). */
export function parseWindow(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms < MIN_WINDOW_MS) {
    throw new UsageError(
      `${flag} ${text} is too short: it must be at least 1s`,
      'write it with a unit, like "30s" or "2m" (a bare number means milliseconds)',
    );
  }
  return ms;
}

/** A directory a command writes to, absolute: one that takes new entries, or one that can be created. */
export function outputDirectoryOption(path: string, flag: string): string {
  if (!path.trim()) throw new UsageError(`${flag} needs a directory path`);
  return writableDirectory(path, flag);
}

/** An absolute path that is a directory or does not exist yet (a command that only reads or deletes there). */
export function directoryOption(path: string, flag: string): string {
  if (!path.trim()) throw new UsageError(`${flag} needs a directory path`);
  const absolute = resolve(path);
  if (existsSync(absolute) && !statSync(absolute).isDirectory()) {
    throw new UsageError(`${flag} ${path} is not a directory`, 'pass a directory (it is created when missing)');
  }
  return absolute;
}
