import type { RunContext } from '../core/context.js';
import { addonInstaller } from '../distros/addons/install.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { VENDOR_MEMORY_CLAIMS_MB } from '../distros/registry.js';
import type { MemoryBaseline } from '../bench/footprint.js';
import { SUITES, suiteChangesCluster, type SuiteInputs, type SuiteName } from '../suites/registry.js';
import type { RunOptions } from './run-options.js';

/** Suites that change the cluster (faults, installs): with snapshots, each starts from a fresh restore. */
export function changesCluster(suite: SuiteName, options: Pick<RunOptions, 'installAddons'>): boolean {
  return suiteChangesCluster(suite, { installingAddons: options.installAddons });
}

/** The asked-for suites in order, from the registry; `fresh` restores a clean cluster before one that changes it. */
export async function runSuites(
  ctx: RunContext,
  options: RunOptions,
  initial: StartedCluster,
  baselines: Record<string, MemoryBaseline>,
  fresh?: (suite: string) => Promise<StartedCluster>,
): Promise<void> {
  let cluster = initial;
  if (options.backend !== 'existing') ctx.progress.info(`kubeconfig while the run lives: ${cluster.kubeconfigPath} (removed when it ends; --keep holds the cluster)`);
  const inputs: SuiteInputs = {
    baselines,
    footprint: { windowMs: options.footprintWindowMs, claimsMB: VENDOR_MEMORY_CLAIMS_MB },
    latency: { ratePerSecond: options.latencyRate, durationMs: options.latencyDurationMs },
    addons: options.addons,
    ...(options.installAddons ? { installerFor: (target: StartedCluster) => addonInstaller({ distro: target.distro }, target) } : {}),
    airgapTargets: options.airgapTargets,
    conformance: options.conformance,
  };
  for (const [index, suite] of options.suites.entries()) {
    ctx.signal.throwIfAborted();
    if (fresh && index > 0 && changesCluster(suite, options)) cluster = await fresh(suite);
    ctx.progress.info(`suite ${suite}`);
    await SUITES[suite].run(ctx, cluster, inputs);
  }
}
