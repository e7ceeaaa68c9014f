import type { RunContext } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { parseAddonRequest, type AddonRequest } from '../cluster/addons/catalog.js';
import type { StartedCluster } from '../cluster/distribution.js';
import type { CheckOutcome } from './check.js';
import type { AddonGateOptions } from './addons/gate.js';
import { ADDON_SUITE_NAMES, type AddonSuiteName } from './addons/images.js';
import { ADDON_SUITES } from './registry.js';
import type { StrictOptions } from './strict.js';

export { ADDON_SUITE_NAMES, type AddonSuiteName };

/** Options every addon suite understands; each suite reads what it needs. */
export interface AddonSuiteOptions extends AddonGateOptions, Pick<StrictOptions, 'allowlist' | 'classicVerdicts'> {
  /** Power off nodes for LB-4 and STO-5 (default true where a node can be powered off). */
  faults?: boolean;
}

export type AddonSuiteRunner = (ctx: RunContext, cluster: StartedCluster, options: AddonSuiteOptions) => Promise<CheckOutcome[]>;

export function isAddonSuite(name: string): name is AddonSuiteName {
  return (ADDON_SUITE_NAMES as readonly string[]).includes(name);
}

/**
 * `lb,storage,mesh` -> the addon suites, validated (unknown names are a
 * UsageError listing the valid ones), deduplicated, with `strict` moved last:
 * its AppArmor audit and verdict comparison cover the suites before it.
 */
export function parseAddonSuiteList(text: string): AddonSuiteName[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError('No addon suite given', `valid addon suites: ${ADDON_SUITE_NAMES.join(', ')} (comma-separated)`);
  for (const name of names) {
    if (!isAddonSuite(name)) throw new UsageError(`Unknown addon suite "${name}"${didYouMean(name, ADDON_SUITE_NAMES)}`, `valid addon suites: ${ADDON_SUITE_NAMES.join(', ')}`);
  }
  return orderAddonSuites(names as AddonSuiteName[]);
}

export function orderAddonSuites(names: AddonSuiteName[]): AddonSuiteName[] {
  return [...names.filter((n) => n !== 'strict'), ...names.filter((n) => n === 'strict')];
}

/** Repeated `--addon name[:args]` values, each validated before anything is installed. */
export function parseAddonRequests(values: readonly string[]): AddonRequest[] {
  const requests = values.map(parseAddonRequest);
  const names = requests.map((r) => r.addon.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`Addon "${twice}" is requested twice`, 'give each addon once');
  return requests;
}

/** One addon suite with options of its own; a run goes through the suites registry instead. */
export async function runAddonSuite(name: AddonSuiteName, ctx: RunContext, cluster: StartedCluster, options: AddonSuiteOptions = {}): Promise<CheckOutcome[]> {
  return ADDON_SUITES[name].runWith(ctx, cluster, options);
}
