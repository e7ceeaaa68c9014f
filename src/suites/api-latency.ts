import type { RunContext } from '../core/context.js';
import { waitFor } from '../core/wait.js';
import { calibrateLoader, runOpenModel, type OperationFigures } from '../bench/open-model-loader.js';
import { kubeOperations } from '../bench/kube-operations.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, pass, runCheck, type CheckOutcome } from './check.js';
import { kube, kubeClients } from '../cluster/kube-access.js';
import { createNamespace, deleteNamespace, suiteNamespace } from './suite-kit.js';

const SUITE = 'api-latency';

export interface ApiLatencyOptions {
  ratePerSecond: number;
  durationMs: number;
  maxInFlight?: number;
}

/**
 * SIG Scalability API call latency SLOs (p99): single-object calls <= 1 s;
 * LIST <= 5 s namespace-scoped (30 s cluster-scoped). Under emulation the
 * threshold is multiplied by the run's timeout scale; both are recorded.
 */
export function sloMsFor(operation: string): number {
  return operation.endsWith('-list') ? 5_000 : 1_000;
}

/** BM-API-1: an open-model load on ConfigMaps and Pods; per operation, percentiles and the SLO verdict. */
export async function runApiLatencySuite(ctx: RunContext, cluster: StartedCluster, options: ApiLatencyOptions): Promise<CheckOutcome[]> {
  const calibration = await calibrateLoader({ ratePerSecond: options.ratePerSecond * 4, durationMs: Math.min(options.durationMs, 5_000), signal: ctx.signal });
  if (calibration.overhead) {
    ctx.events.emit({
      type: 'measurement', id: 'BM-API-1/loader-overhead', suite: 'loader', name: 'loader overhead against a local no-op server', unit: 'ms',
      value: calibration.overhead.p50Ms, stats: { p50: calibration.overhead.p50Ms, p99: calibration.overhead.p99Ms, max: calibration.overhead.maxMs, samples: calibration.count },
    });
    ctx.progress.info(`loader overhead p50 ${calibration.overhead.p50Ms.toFixed(2)} ms, p99 ${calibration.overhead.p99Ms.toFixed(2)} ms`);
  }
  const kc = cluster.kubeConfig();
  const clients = kubeClients(kc);
  const namespace = suiteNamespace(ctx, 'latency');
  await createNamespace(clients, namespace, ctx.scaled(60_000));
  const operations = kubeOperations(kc, { namespace, podImage: cluster.workloadImage, podImagePullPolicy: 'IfNotPresent' });
  try {
    await waitFor(
      async () => {
        const accounts = await kube('list service accounts', () => clients.core.listNamespacedServiceAccount({ namespace }));
        return accounts.items.some((a) => a.metadata?.name === 'default') ? { done: true, value: undefined } : { done: false, observed: 'no default service account yet' };
      },
      { what: `default service account in ${namespace}`, budgetMs: ctx.scaled(30_000), pollMs: 500, signal: ctx.signal },
    );
    await operations.prefill(3);
    ctx.progress.info(`open-model load: ${options.ratePerSecond} req/s for ${Math.round(options.durationMs / 1000)}s over ${Object.keys(operations.operations).length} operations`);
    const run = await runOpenModel({
      operations: operations.operations,
      ratePerSecond: options.ratePerSecond,
      durationMs: options.durationMs,
      maxInFlight: options.maxInFlight ?? 32,
      signal: ctx.signal,
    });
    const outcomes: CheckOutcome[] = [];
    for (const [operation, figures] of Object.entries(run.operations)) {
      recordLatency(ctx, operation, figures);
      outcomes.push(await runCheck(ctx, { id: `BM-API-1/${operation}`, suite: SUITE, name: `${operation} p99 within the SIG Scalability SLO` }, async () => judge(ctx, operation, figures, run.achievedRatePerSecond)));
    }
    return outcomes;
  } finally {
    await operations.cleanup().catch(() => undefined);
    await deleteNamespace(clients, namespace);
  }
}

function recordLatency(ctx: RunContext, operation: string, figures: OperationFigures): void {
  if (!figures.latency) return;
  const { p50Ms, p90Ms, p99Ms, maxMs } = figures.latency;
  ctx.events.emit({
    type: 'measurement', id: `BM-API-1/${operation}`, suite: SUITE, name: `${operation} latency (from intended send time)`, unit: 'ms', value: p50Ms,
    stats: { p50: p50Ms, p90: p90Ms, p99: p99Ms, max: maxMs, samples: figures.count, errors: figures.errors },
    evidence: { operation, histogramBase64Us: figures.histogram },
  });
}

function judge(ctx: RunContext, operation: string, figures: OperationFigures, achievedRate: number | null): CheckOutcome {
  const sloMs = sloMsFor(operation);
  const scaledSloMs = sloMs * ctx.timeoutScale;
  // sloMs is the threshold judged (the SLO times the run's timeout scale); rawSloMs the SIG figure itself.
  const evidence = {
    operation, sloMs: scaledSloMs, rawSloMs: sloMs, timeoutScale: ctx.timeoutScale, count: figures.count, errors: figures.errors,
    errorSamples: figures.errorSamples, p99Ms: figures.latency?.p99Ms, achievedRatePerSecond: achievedRate,
    withinRawSlo: figures.latency ? figures.latency.p99Ms <= sloMs : false,
    podsScheduled: false,
  };
  if (!figures.latency) return fail(`no successful ${operation} call (${figures.errors} errors: ${figures.errorSamples[0] ?? 'none sent'})`, evidence);
  if (figures.errors > 0) return fail(`${figures.errors} of ${figures.sent} ${operation} calls failed: ${figures.errorSamples[0]}`, evidence);
  if (figures.latency.p99Ms > scaledSloMs) {
    return fail(`p99 ${figures.latency.p99Ms.toFixed(0)} ms exceeds ${scaledSloMs} ms (SLO ${sloMs} ms x timeout scale ${ctx.timeoutScale})`, evidence);
  }
  return pass(evidence);
}
