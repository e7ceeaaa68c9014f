import type { RunContext } from '../core/context.js';
import { EdgeproofError } from '../core/errors.js';
import { addonInstaller } from '../distros/addons/install.js';
import type { StartedCluster } from '../distros/distribution.js';
import { VENDOR_MEMORY_CLAIMS_MB } from '../distros/registry.js';
import { isAddonSuite, runAddonSuite } from '../scenarios/addon-suites.js';
import { runApiLatencySuite } from '../scenarios/api-latency.js';
import { runFootprintSuite } from '../scenarios/footprint.js';
import { runSmokeSuite } from '../scenarios/smoke.js';
import type { RunOptions } from './run-options.js';

/** Suites that change the cluster (faults, installs): with snapshots, each starts from a fresh restore. */
export function changesCluster(suite: string, options: Pick<RunOptions, 'installAddons'>): boolean {
  return suite === 'ha' || (isAddonSuite(suite) && options.installAddons);
}

export async function runSuites(
  ctx: RunContext,
  options: RunOptions,
  initial: StartedCluster,
  baselines: Parameters<typeof runFootprintSuite>[2]['baselines'],
  fresh?: (suite: string) => Promise<StartedCluster>,
): Promise<void> {
  let cluster = initial;
  if (options.backend !== 'existing') ctx.progress.info(`kubeconfig while the run lives: ${cluster.kubeconfigPath} (removed when it ends; --keep holds the cluster)`);
  for (const [index, suite] of options.suites.entries()) {
    ctx.signal.throwIfAborted();
    if (fresh && index > 0 && changesCluster(suite, options)) cluster = await fresh(suite);
    ctx.progress.info(`suite ${suite}`);
    if (suite === 'smoke') await runSmokeSuite(ctx, cluster);
    else if (suite === 'footprint') {
      await runFootprintSuite(ctx, cluster, { baselines, settleMs: ctx.scaled(2_500), windowMs: options.footprintWindowMs, claimsMB: VENDOR_MEMORY_CLAIMS_MB });
    } else if (suite === 'api-latency') {
      await runApiLatencySuite(ctx, cluster, { ratePerSecond: options.latencyRate, durationMs: options.latencyDurationMs });
    } else if (suite === 'cni') {
      const { runCniSuite } = await import('../scenarios/cni.js');
      await runCniSuite(ctx, cluster);
    } else if (isAddonSuite(suite)) {
      const installer = options.installAddons ? addonInstaller({ distro: cluster.distro }, cluster) : undefined;
      await runAddonSuite(suite, ctx, cluster, { requests: options.addons, ...(installer ? { installer } : {}) });
    } else if (suite === 'airgap') {
      const { runAirgapSuite } = await import('../scenarios/airgap.js');
      await runAirgapSuite(ctx, cluster, { targets: options.airgapTargets });
    } else if (suite === 'conformance') {
      const { runConformanceSuite } = await import('../scenarios/conformance.js');
      await runConformanceSuite(ctx, cluster, options.conformance);
    } else if (suite === 'ha') {
      const { haBudgets, runHaSuite } = await import('../scenarios/ha-failover.js');
      await runHaSuite(ctx, cluster, { budgets: haBudgets(ctx) });
    } else throw new EdgeproofError('INTERNAL', `suite ${suite} has no runner`);
  }
}
