import type { RunContext } from '../core/context.js';
import { PrerequisiteMissingError } from '../core/errors.js';
import { sleep } from '../core/wait.js';
import { sampleFootprintInGuest, type FootprintRun, type MemoryBaseline } from '../bench/footprint.js';
import type { Summary } from '../bench/stats.js';
import type { ClusterNode, StartedCluster } from '../cluster/distribution.js';
import { fail, pass, runCheck, type CheckOutcome } from './check.js';

const SUITE = 'footprint';

export interface FootprintOptions {
  /** Guest used memory per node before the distribution was installed. */
  baselines: Record<string, MemoryBaseline>;
  settleMs: number;
  windowMs: number;
  intervalMs?: number;
  /** What the vendor claims (MB), recorded beside the figures. */
  claimsMB: Record<string, number>;
}

/**
 * BM-MEM-1: the idle footprint per node, three figures (the distribution's
 * cgroup/process set, guest used minus the pre-install baseline, per-process
 * RSS and PSS), sampled over a steady window after a settle time.
 */
export async function runFootprintSuite(ctx: RunContext, cluster: StartedCluster, options: FootprintOptions): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const node of cluster.nodes) {
    outcomes.push(await runCheck(ctx, { id: 'BM-MEM-1', suite: SUITE, name: `idle memory footprint of ${node.name}` }, () => measureNode(ctx, cluster, node, options)));
  }
  return outcomes;
}

async function measureNode(ctx: RunContext, cluster: StartedCluster, node: ClusterNode, options: FootprintOptions): Promise<CheckOutcome> {
  const machine = node.machine;
  if (!machine) throw new PrerequisiteMissingError(`a shell on node ${node.name}`, 'the existing backend has no node access: footprint needs the qemu, ssh or container backend');
  const baseline = options.baselines[node.name];
  // A node container has no memory of its own (it reads the host's meminfo): the whole-guest figure does not apply.
  const wholeGuest = machine.backend !== 'container';
  if (wholeGuest && !baseline) throw new PrerequisiteMissingError(`a pre-install memory baseline for ${node.name}`, 'the node was not measured before install');
  const targets = cluster.footprintTargets(node);
  ctx.progress.info(`settling ${Math.round(options.settleMs / 1000)}s, then sampling every ${options.intervalMs ?? 1000} ms for ${Math.round(options.windowMs / 1000)}s`);
  await sleep(options.settleMs, ctx.signal);
  const run = await sampleFootprintInGuest({
    exec: async (command) => (await machine.exec(command, { timeoutMs: options.windowMs + ctx.scaled(30_000), signal: ctx.signal })).stdout,
    processNames: targets.processNames,
    cgroupPaths: targets.cgroupPaths,
    baselineUsedBytes: baseline?.usedBytes ?? 0,
    intervalMs: options.intervalMs ?? 1000,
    durationMs: options.windowMs,
    signal: ctx.signal,
  });
  if (!wholeGuest) run.summary.guestUsedAboveBaseline = null;
  recordMeasurements(ctx, node.name, run);
  const figures = {
    servicesCgroup: run.summary.services.cgroupUsage,
    servicesPss: run.summary.services.processPss,
    ...(wholeGuest ? { guestAboveBaseline: run.summary.guestUsedAboveBaseline } : {}),
  };
  const evidence = {
    definition: targets.definition,
    settleMs: options.settleMs,
    windowMs: options.windowMs,
    samples: run.samples.length,
    intervalMs: run.intervalMs,
    probeMsMax: Math.max(...run.samples.map((sample) => sample.probeMs)),
    failedProbes: run.failedProbes,
    baselineUsedBytes: baseline?.usedBytes ?? null,
    ...(wholeGuest ? {} : { guestAboveBaseline: 'not applicable: a node container shares the host kernel and memory; only its cgroup and processes are its own' }),
    claimsMB: options.claimsMB,
    figuresMB: Object.fromEntries(Object.entries(figures).map(([k, s]) => [k, s ? { p50: toMB(s.p50), p95: toMB(s.p95) } : null])),
    missingProcesses: run.summary.missingProcesses,
  };
  const absent = Object.entries(figures).filter(([, s]) => !s).map(([k]) => k);
  if (absent.length) return fail(`no samples for ${absent.join(', ')}`, evidence);
  const essential = run.summary.missingProcesses.filter((name) => name !== 'containerd-shim-runc-v2');
  if (essential.length) return fail(`expected processes not running: ${essential.join(', ')}`, evidence);
  return pass(evidence);
}

function recordMeasurements(ctx: RunContext, node: string, run: FootprintRun): void {
  const emit = (id: string, name: string, summary: Summary | null) => {
    if (!summary) return;
    ctx.events.emit({
      type: 'measurement',
      id,
      suite: SUITE,
      name,
      unit: 'B',
      value: summary.p50,
      node,
      stats: { p50: summary.p50, p95: summary.p95, min: summary.min, max: summary.max, samples: summary.samples },
    });
  };
  const { services } = run.summary;
  emit('BM-MEM-1/services-cgroup', 'Kubernetes services (cgroup usage)', services.cgroupUsage);
  emit('BM-MEM-1/services-pss', 'Kubernetes services (sum of PSS)', services.processPss);
  emit('BM-MEM-1/services-rss', 'Kubernetes services (sum of RSS)', services.processRss);
  emit('BM-MEM-1/guest-above-baseline', 'guest used memory above pre-install baseline', run.summary.guestUsedAboveBaseline);
  for (const [name, process] of Object.entries(run.summary.processes)) {
    emit(`BM-MEM-1/process/${name}/rss`, `${name} RSS`, process.rss);
    emit(`BM-MEM-1/process/${name}/pss`, `${name} PSS`, process.pss);
  }
}

const toMB = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
