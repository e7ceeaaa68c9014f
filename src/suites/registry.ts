import type { RunContext } from '../core/context.js';
import type { MemoryBaseline } from '../bench/footprint.js';
import type { AddonRequest } from '../cluster/addons/catalog.js';
import type { AddonInstaller } from '../cluster/addons/installer.js';
import type { StartedCluster } from '../cluster/distribution.js';
import type { AddonSuiteOptions, AddonSuiteRunner } from './addon-suites.js';
import type { AddonSuiteName } from './addons/images.js';
import type { CheckOutcome } from './check.js';
import type { ConformanceOptions } from './conformance.js';
import type { OutsideTarget } from './route-table.js';

/**
 * Every suite `edgeproof run --suite` knows, in the order the CLI lists them.
 * Adding a suite is one entry here: the CLI's names, help, validation and
 * defaults, and the run's dispatch all read this record. Runners import their
 * suite when they run, so the CLI can load this file and still start fast.
 */

/** What a run hands every suite; each reads what it needs. */
export interface SuiteInputs {
  /** Guest used memory per node before the distribution was installed (footprint's baseline). */
  baselines: Record<string, MemoryBaseline>;
  footprint: { windowMs: number; claimsMB: Record<string, number> };
  latency: { ratePerSecond: number; durationMs: number };
  /** `--addon` requests, validated against the distribution. */
  addons: AddonRequest[];
  /** With --install-addons: the installer for the cluster a suite runs on (a fresh restore is another cluster). */
  installerFor?: (cluster: StartedCluster) => AddonInstaller;
  airgapTargets: OutsideTarget[];
  conformance: ConformanceOptions;
}

export interface Suite {
  /** One line for `edgeproof run --help`. */
  help: string;
  /** In the `--suite` default. */
  byDefault?: true;
  /** Faults or installs change the cluster: after a snapshot restore, such a suite starts from a fresh restore unless it runs first. */
  changesCluster: 'always' | 'when installing addons' | 'never';
  /** What the topology must give it, checked before anything boots. */
  needs?: { controlPlanes: number };
  run(ctx: RunContext, cluster: StartedCluster, inputs: SuiteInputs): Promise<CheckOutcome[]>;
}

export interface AddonSuite extends Suite {
  /** The suite with options of its own (a test's, or a run's through `run`). */
  runWith(ctx: RunContext, cluster: StartedCluster, options: AddonSuiteOptions): Promise<CheckOutcome[]>;
}

function addonSuite(help: string, load: () => Promise<AddonSuiteRunner>): AddonSuite {
  const runWith = async (ctx: RunContext, cluster: StartedCluster, options: AddonSuiteOptions) => (await load())(ctx, cluster, options);
  return {
    help,
    changesCluster: 'when installing addons',
    runWith,
    run: (ctx, cluster, inputs) => runWith(ctx, cluster, { requests: inputs.addons, ...(inputs.installerFor ? { installer: inputs.installerFor(cluster) } : {}) }),
  };
}

/** The addon suites, each gated on its addon being present (or installed with --install-addons). */
export const ADDON_SUITES = {
  lb: addonSuite('load balancer addresses answer from outside, across a node loss (LB-*)', async () => (await import('./lb.js')).runLbSuite),
  ingress: addonSuite('a host route answers through the ingress controller (ING-*)', async () => (await import('./ingress.js')).runIngressSuite),
  storage: addonSuite('the default class, and a replicated engine across a node loss (STO-*)', async () => (await import('./storage.js')).runStorageSuite),
  mesh: addonSuite('Istio and Linkerd, each gated on its own presence (MESH-*)', async () => (await import('./mesh.js')).runMeshSuite),
  serverless: addonSuite('Knative and OpenFaaS: functions, scale to zero, cold starts (FN-*)', async () => (await import('./serverless.js')).runServerlessSuite),
  kata: addonSuite('Kata Containers pods where the nodes have /dev/kvm (KATA-*)', async () => (await import('./kata.js')).runKataSuite),
  strict: addonSuite('MicroK8s strict confinement: AppArmor denials, verdicts as classic (STRICT-*); list it last', async () => (await import('./strict.js')).runStrictSuite),
} satisfies Record<AddonSuiteName, AddonSuite>;

const SUITE_TABLE = {
  smoke: {
    help: 'the cluster is up and runs workloads (BOOT-1..3, SMOKE-*)',
    byDefault: true,
    changesCluster: 'never',
    run: async (ctx, cluster) => (await import('./smoke.js')).runSmokeSuite(ctx, cluster),
  },
  footprint: {
    help: 'idle memory per node over a steady window (BM-MEM-1)',
    byDefault: true,
    changesCluster: 'never',
    run: async (ctx, cluster, inputs) => (await import('./footprint.js')).runFootprintSuite(ctx, cluster, { baselines: inputs.baselines, settleMs: ctx.scaled(2_500), ...inputs.footprint }),
  },
  'api-latency': {
    help: 'API latency percentiles under an open-model load, against the SLO (BM-API-1)',
    byDefault: true,
    changesCluster: 'never',
    run: async (ctx, cluster, inputs) => (await import('./api-latency.js')).runApiLatencySuite(ctx, cluster, inputs.latency),
  },
  cni: {
    help: 'CNI pods, connectivity between pods and nodes, DNS, NetworkPolicy (NET-*)',
    changesCluster: 'never',
    run: async (ctx, cluster) => (await import('./cni.js')).runCniSuite(ctx, cluster),
  },
  ha: {
    help: 'control-plane failover under node faults (HA-*; needs --topology 3 or 3+N)',
    changesCluster: 'always',
    needs: { controlPlanes: 3 },
    run: async (ctx, cluster) => {
      const { haBudgets, runHaSuite } = await import('./ha-failover.js');
      return runHaSuite(ctx, cluster, { budgets: haBudgets(ctx) });
    },
  },
  airgap: {
    help: 'nodes cut off from the outside keep working (BOOT-6; --airgap-target)',
    changesCluster: 'never',
    run: async (ctx, cluster, inputs) => (await import('./airgap.js')).runAirgapSuite(ctx, cluster, { targets: inputs.airgapTargets }),
  },
  conformance: {
    help: 'the Kubernetes e2e conformance specs (CONF-*; --conformance-preset)',
    changesCluster: 'never',
    run: async (ctx, cluster, inputs) => (await import('./conformance.js')).runConformanceSuite(ctx, cluster, inputs.conformance),
  },
  ...ADDON_SUITES,
} satisfies Record<string, Suite>;

export type SuiteName = keyof typeof SUITE_TABLE;

export const SUITES: Readonly<Record<SuiteName, Suite>> = SUITE_TABLE;

export const SUITE_NAMES = Object.keys(SUITES) as SuiteName[];

export const DEFAULT_SUITES: SuiteName[] = SUITE_NAMES.filter((name) => SUITES[name].byDefault);

export function suiteChangesCluster(name: SuiteName, run: { installingAddons: boolean }): boolean {
  const { changesCluster } = SUITES[name];
  return changesCluster === 'always' || (changesCluster === 'when installing addons' && run.installingAddons);
}
