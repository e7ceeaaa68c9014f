import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { formatMs } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import { summarize } from '../bench/stats.js';
import { addonSpec } from '../cluster/addons/catalog.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, notApplicable, pass, type CheckOutcome } from './check.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import { parseKsvc, type KsvcStatus } from './addons/parsers/knative.js';
import { kube } from '../cluster/kube-access.js';
import { requestPod, runProbePod, summarizeAttempts } from './probe-pods.js';
import { describePods, SuiteRun, unlessTimeout, type CheckRef } from './suite-kit.js';
import { MANAGED_BY, oneShotPod } from './workloads.js';

export const SERVERLESS_CHECKS = {
  knativeReady: { id: 'FN-K1', name: 'Knative Serving and Kourier are Ready' },
  ksvcAnswers: { id: 'FN-K2', name: 'a Knative Service becomes Ready and answers through Kourier by Host header' },
  scaleToZero: { id: 'FN-K3', name: 'the idle revision scales to zero pods' },
  coldStart: { id: 'FN-K4', name: 'requests after scale-to-zero answer 200; cold-start latency p50/p95 recorded' },
  openfaasReady: { id: 'FN-O1', name: 'the OpenFaaS gateway, queue-worker and NATS are Ready, basic-auth present' },
  openfaasInvoke: { id: 'FN-O2', name: 'a function deployed through the gateway answers sync, and async with a callback' },
} satisfies Record<string, CheckRef>;

export interface ServerlessOptions extends AddonGateOptions {
  /** Base budget (scaled) for readiness and requests, default 5 min; scale-to-zero waits up to 3 min (scaled). */
  budgetMs?: number;
  scaleToZeroBudgetMs?: number;
  /** Cold starts measured for FN-K4 (each waits for a scale to zero first), default 3. */
  coldStarts?: number;
  /** The OpenFaaS function image (classic watchdog; fprocess=cat echoes the request body). */
  functionImage?: string;
}

const KSVC = 'ep-hello';

export async function runServerlessSuite(ctx: RunContext, cluster: StartedCluster, options: ServerlessOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'serverless');
  const budgetMs = ctx.scaled(options.budgetMs ?? 300_000);
  const knative = [SERVERLESS_CHECKS.knativeReady, SERVERLESS_CHECKS.ksvcAnswers, SERVERLESS_CHECKS.scaleToZero, SERVERLESS_CHECKS.coldStart];
  const gateK = await gateArea(run, [addonSpec('knative')], options);
  if (!gateK.ready) await run.notRun(knative, gateK.verdict, gateK.reason, gateK.evidence);
  else {
    await run.check(SERVERLESS_CHECKS.knativeReady, async () => pass(gateK.evidence));
    await run.withNamespace('knative', (namespace) => knativeChecks(run, namespace, budgetMs, options));
  }
  const gateO = await gateArea(run, [addonSpec('openfaas')], options);
  if (!gateO.ready) await run.notRun([SERVERLESS_CHECKS.openfaasReady, SERVERLESS_CHECKS.openfaasInvoke], gateO.verdict, gateO.reason, gateO.evidence);
  else {
    await run.check(SERVERLESS_CHECKS.openfaasReady, async () => pass(gateO.evidence));
    await run.withNamespace('openfaas', (namespace) => run.check(SERVERLESS_CHECKS.openfaasInvoke, () => openfaasInvoke(run, namespace, budgetMs, options.functionImage ?? 'ghcr.io/openfaas/alpine:latest')));
  }
  return run.outcomes;
}

/**
 * The suite's Knative Service: busybox httpd on $PORT answering the marker,
 * with the shortest stable window (6 s) so an idle revision goes to zero soon
 * (https://knative.dev/docs/serving/autoscaling/scale-to-zero/).
 */
export function helloKsvc(namespace: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: KSVC, namespace, labels: MANAGED_BY },
    spec: {
      template: {
        metadata: { annotations: { 'autoscaling.knative.dev/window': '6s', 'autoscaling.knative.dev/min-scale': '0' } },
        spec: {
          containers: [
            {
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', 'mkdir -p /tmp/www && echo "edgeproof-marker $HOSTNAME" > /tmp/www/index.html && exec httpd -f -p "$PORT" -h /tmp/www'],
              ports: [{ containerPort: 8080 }],
            },
          ],
        },
      },
    },
  };
}

async function knativeChecks(run: SuiteRun, namespace: string, budgetMs: number, options: ServerlessOptions): Promise<void> {
  const refs = SERVERLESS_CHECKS;
  let route: { gateway: string; host: string; revision: string } | undefined;
  const answers = await run.check(refs.ksvcAnswers, async () => {
    await allowLocalImage(run, run.cluster.workloadImage);
    await kube('create ksvc', () => run.clients.custom.createNamespacedCustomObject({ group: 'serving.knative.dev', version: 'v1', namespace, plural: 'services', body: helloKsvc(namespace, run.cluster.workloadImage) }));
    const ksvc = await waitKsvcReady(run, namespace, budgetMs);
    const gateway = await kourierAddress(run);
    if (!gateway) return fail('no Kourier gateway Service (kourier-system/kourier-internal or kourier)');
    route = { gateway, host: ksvc.host!, revision: ksvc.latestReadyRevision! };
    const probe = await runProbePod(run.ctx, run.clients, namespace, requestPod('ep-ksvc-client', run.cluster.workloadImage, { address: gateway, port: 80, hostHeader: ksvc.host!, attempts: 10, timeoutSeconds: 10, pauseSeconds: 3 }), budgetMs);
    const evidence = { url: ksvc.url, gateway, revision: ksvc.latestReadyRevision, attempts: summarizeAttempts(probe.attempts) };
    return probe.attempts.some((a) => a.status === 200 && a.body.includes('edgeproof-marker')) ? pass(evidence) : fail(`the Knative Service did not answer 200 with the marker through ${gateway} for Host ${ksvc.host}`, evidence);
  });
  if (answers.verdict !== 'pass' || !route) {
    await run.notRun([refs.scaleToZero, refs.coldStart], 'skipped', `${refs.ksvcAnswers.id} did not pass: ${answers.reason}`);
    return;
  }
  const zeroBudget = run.ctx.scaled(options.scaleToZeroBudgetMs ?? 180_000);
  const zero = await run.check(refs.scaleToZero, async () => {
    const ms = await waitZeroPods(run, namespace, route!.revision, zeroBudget);
    return pass({ revision: route!.revision, zeroAfterMs: ms });
  });
  await run.check(refs.coldStart, async () => (zero.verdict !== 'pass' ? notApplicable(`${refs.scaleToZero.id} did not pass`) : coldStarts(run, namespace, route!, options.coldStarts ?? 3, zeroBudget, budgetMs)));
}

/** Knative resolves tags to digests at a registry; a locally built image needs its registry listed as skipped (knative.dev/docs/serving/configuration/deployment/). */
async function allowLocalImage(run: SuiteRun, image: string): Promise<void> {
  const registry = image.split('/')[0]!;
  if (!registry.includes('.') || !registry.endsWith('.local')) return;
  const current = await kube('read config-deployment', () => run.clients.core.readNamespacedConfigMap({ name: 'config-deployment', namespace: 'knative-serving' }));
  const skipped = (current.data?.['registries-skipping-tag-resolving'] ?? 'kind.local,ko.local,dev.local').split(',').map((s) => s.trim());
  if (skipped.includes(registry)) return;
  const data = { ...current.data, 'registries-skipping-tag-resolving': [...skipped, registry].join(',') };
  await kube('update config-deployment', () => run.clients.core.replaceNamespacedConfigMap({ name: 'config-deployment', namespace: 'knative-serving', body: { ...current, data } }));
  run.ctx.progress.info(`knative: added ${registry} to registries-skipping-tag-resolving (local image)`);
}

async function waitKsvcReady(run: SuiteRun, namespace: string, budgetMs: number): Promise<KsvcStatus> {
  return waitFor(
    async () => {
      const ksvc = parseKsvc(await kube('read ksvc', () => run.clients.custom.getNamespacedCustomObject({ group: 'serving.knative.dev', version: 'v1', namespace, plural: 'services', name: KSVC })));
      return ksvc.ready && ksvc.host ? { done: true as const, value: ksvc } : { done: false as const, observed: `Ready ${ksvc.conditions.Ready ?? 'Unknown'}${ksvc.reason ? ` (${ksvc.reason})` : ''}` };
    },
    { what: `ksvc ${namespace}/${KSVC} Ready`, budgetMs, pollMs: 3_000, signal: run.ctx.signal },
  );
}

async function kourierAddress(run: SuiteRun): Promise<string | undefined> {
  for (const name of ['kourier-internal', 'kourier']) {
    const service = await kube('read kourier service', () => run.clients.core.readNamespacedService({ name, namespace: 'kourier-system' })).catch(() => undefined);
    if (service?.spec?.clusterIP) return service.spec.clusterIP;
  }
  return undefined;
}

async function revisionPods(run: SuiteRun, namespace: string, revision: string): Promise<V1Pod[]> {
  return (await kube('list revision pods', () => run.clients.core.listNamespacedPod({ namespace, labelSelector: `serving.knative.dev/revision=${revision}` }))).items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function waitZeroPods(run: SuiteRun, namespace: string, revision: string, budgetMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      const pods = await revisionPods(run, namespace, revision);
      return pods.length === 0 ? { done: true as const, value: true } : { done: false as const, observed: describePods(pods) };
    },
    { what: `revision ${revision} at zero pods`, budgetMs, pollMs: 2_000, signal: run.ctx.signal },
  );
  return Date.now() - started;
}

/** FN-K4: each cycle waits for zero pods, then times one request inside a client pod (from /proc/uptime). */
async function coldStarts(run: SuiteRun, namespace: string, route: { gateway: string; host: string; revision: string }, cycles: number, zeroBudget: number, budgetMs: number): Promise<CheckOutcome> {
  const latencies: number[] = [];
  const failures: string[] = [];
  for (let i = 1; i <= cycles; i++) {
    await waitZeroPods(run, namespace, route.revision, zeroBudget);
    const probe = await runProbePod(run.ctx, run.clients, namespace, requestPod(`ep-cold-${i}`, run.cluster.workloadImage, { address: route.gateway, port: 80, hostHeader: route.host, attempts: 1, timeoutSeconds: Math.max(30, run.ctx.scaled(30_000) / 1000) }), budgetMs);
    const attempt = probe.attempts[0];
    if (attempt?.status === 200 && attempt.body.includes('edgeproof-marker')) latencies.push(attempt.elapsedMs);
    else failures.push(`cycle ${i}: ${summarizeAttempts(probe.attempts).join(' ') || probe.log.slice(0, 100)}`);
  }
  if (latencies.length) {
    const stats = summarize(latencies);
    run.ctx.events.emit({ type: 'measurement', id: 'FN-K4/cold-start', suite: 'serverless', name: 'Knative request latency from zero pods', unit: 'ms', value: stats.p50, stats: { p50: stats.p50, p95: stats.p95, max: stats.max, samples: stats.samples } });
  }
  const evidence = { coldStartsMs: latencies, failures };
  return failures.length ? fail(`${failures.length}/${cycles} request(s) after scale-to-zero got no 200: ${failures[0]}`, evidence) : pass(evidence);
}

/**
 * FN-O2 (https://docs.openfaas.com/reference/rest-api/): deploy through
 * POST /system/functions (basic auth from the basic-auth Secret, copied into
 * this namespace and never logged), invoke POST /function/<name> and expect
 * the body echoed, then POST /async-function/<name> with an X-Callback-Url to a
 * one-shot receiver pod and expect the echoed body in its log.
 */
async function openfaasInvoke(run: SuiteRun, namespace: string, budgetMs: number, image: string): Promise<CheckOutcome> {
  const auth = await kube('read basic-auth', () => run.clients.core.readNamespacedSecret({ name: 'basic-auth', namespace: 'openfaas' }));
  const user = Buffer.from(auth.data?.['basic-auth-user'] ?? '', 'base64').toString();
  const password = Buffer.from(auth.data?.['basic-auth-password'] ?? '', 'base64').toString();
  const header = `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}\\r\\nContent-Type: application/json\\r\\n`;
  await kube('create auth secret', () => run.clients.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'ep-gateway-auth', labels: MANAGED_BY }, stringData: { headers: header } } }));
  const gateway = (await kube('read gateway', () => run.clients.core.readNamespacedService({ name: 'gateway', namespace: 'openfaas' }))).spec?.clusterIP;
  if (!gateway) return fail('the OpenFaaS gateway Service has no ClusterIP');
  const fn = 'ep-echo';
  const deploy = JSON.stringify({ service: fn, image, envProcess: 'cat', namespace: 'openfaas-fn', labels: MANAGED_BY });
  const deployed = await runProbePod(run.ctx, run.clients, namespace, requestPod('ep-faas-deploy', run.cluster.workloadImage, { address: gateway, port: 8080, path: '/system/functions', method: 'POST', body: deploy, attempts: 1, timeoutSeconds: 30 }, { headersSecret: { name: 'ep-gateway-auth', key: 'headers' } }), budgetMs);
  const status = deployed.attempts[0]?.status;
  if (status !== 200 && status !== 202) return fail(`deploying ${fn} through the gateway answered ${deployed.attempts[0]?.statusLine ?? 'nothing'}`, { attempts: summarizeAttempts(deployed.attempts) });
  run.ctx.scope.defer(`OpenFaaS function ${fn}`, () => kube('delete function', () => run.clients.apps.deleteNamespacedDeployment({ name: fn, namespace: 'openfaas-fn' })).then(() => undefined, () => undefined));
  const notReady = await unlessTimeout(
    waitFor(
      async () => {
        const d = await kube('read function deployment', () => run.clients.apps.readNamespacedDeployment({ name: fn, namespace: 'openfaas-fn' })).catch(() => undefined);
        return (d?.status?.readyReplicas ?? 0) > 0 ? { done: true as const, value: undefined } : { done: false as const, observed: `deployment openfaas-fn/${fn} ${d?.status?.readyReplicas ?? 0} ready` };
      },
      { what: `function ${fn} ready`, budgetMs, pollMs: 3_000, signal: run.ctx.signal },
    ),
    (error) => error,
  );
  if (notReady) return fail(notReady.message);
  const marker = `edgeproof-marker ${run.ctx.tag}`;
  const sync = await runProbePod(run.ctx, run.clients, namespace, requestPod('ep-faas-sync', run.cluster.workloadImage, { address: gateway, port: 8080, path: `/function/${fn}`, method: 'POST', body: marker, attempts: 5, timeoutSeconds: 30, pauseSeconds: 3 }), budgetMs);
  const syncOk = sync.attempts.some((a) => a.status === 200 && a.body.includes(marker));
  const receiver = await startCallbackReceiver(run, namespace, budgetMs);
  const asyncCall = await runProbePod(run.ctx, run.clients, namespace, requestPod('ep-faas-async', run.cluster.workloadImage, { address: gateway, port: 8080, path: `/async-function/${fn}`, method: 'POST', body: marker, headers: [`X-Callback-Url: http://${receiver.ip}:8080/`], attempts: 1, timeoutSeconds: 30 }), budgetMs);
  const accepted = asyncCall.attempts[0]?.status === 202;
  const callback = await receiver.result();
  const evidence = { sync: summarizeAttempts(sync.attempts), async: summarizeAttempts(asyncCall.attempts), callback: callback.slice(0, 300) };
  if (!syncOk) return fail(`POST /function/${fn} did not echo the marker`, evidence);
  if (!accepted) return fail(`POST /async-function/${fn} was not accepted (202): ${asyncCall.attempts[0]?.statusLine ?? 'no answer'}`, evidence);
  if (!callback.includes(marker)) return fail(`the async invocation's callback never brought the marker back within ${formatMs(budgetMs)}`, evidence);
  return pass(evidence);
}

/** A pod that accepts one HTTP request on 8080, answers 200, and prints what it received. */
async function startCallbackReceiver(run: SuiteRun, namespace: string, budgetMs: number): Promise<{ ip: string; result: () => Promise<string> }> {
  const name = 'ep-faas-callback';
  const pod = oneShotPod(name, { image: run.cluster.workloadImage, command: ['sh', '-c', '(printf "HTTP/1.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"; sleep 5) | nc -l -p 8080'] });
  await kube('create callback receiver', () => run.clients.core.createNamespacedPod({ namespace, body: pod }));
  const ip = await waitFor(
    async () => {
      const current = await kube('read receiver', () => run.clients.core.readNamespacedPod({ name, namespace }));
      return current.status?.phase === 'Running' && current.status.podIP ? { done: true as const, value: current.status.podIP } : { done: false as const, observed: describePods([current]) };
    },
    { what: 'callback receiver Running', budgetMs, pollMs: 1_000, signal: run.ctx.signal },
  );
  const result = async () => {
    const waited = waitFor(
      async () => {
        const current = await kube('read receiver', () => run.clients.core.readNamespacedPod({ name, namespace }));
        return current.status?.containerStatuses?.[0]?.state?.terminated ? { done: true as const, value: true } : { done: false as const, observed: describePods([current]) };
      },
      { what: 'the callback', budgetMs, pollMs: 2_000, signal: run.ctx.signal },
    );
    await unlessTimeout(waited, () => undefined);
    return String(await kube('read receiver log', () => run.clients.core.readNamespacedPodLog({ name, namespace })).catch(() => ''));
  };
  return { ip, result };
}
