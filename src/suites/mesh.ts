import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { hostRun, onPath } from '../core/host-exec.js';
import { addonSpec, type AddonSpec } from '../cluster/addons/catalog.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, pass, type CheckOutcome } from './check.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import { parseIstioAnalyze } from './addons/parsers/istioctl.js';
import { parseLinkerdCheck } from './addons/parsers/linkerd-check.js';
import { kube } from '../cluster/kube-access.js';
import { requestPod, runProbePod, summarizeAttempts, type ProbeRun } from './probe-pods.js';
import { createNamespace, deleteNamespace, deployWebAndWait, runNamespace, SuiteRun, type CheckRef } from './suite-kit.js';
import { clusterIpService, MANAGED_BY } from './workloads.js';

export const MESH_CHECKS = {
  istioControlPlane: { id: 'MESH-I1', name: 'istiod Ready and `istioctl analyze` reports no error' },
  istioInjection: { id: 'MESH-I2', name: 'Istio injects its sidecar and an in-mesh request answers 200' },
  istioStrict: { id: 'MESH-I3', name: 'with STRICT mTLS, a plaintext client outside the mesh is refused while the mesh client still gets 200' },
  istioGateway: { id: 'MESH-I4', name: 'a request through the Istio ingress gateway (Host header) answers 200' },
  linkerdControlPlane: { id: 'MESH-L1', name: 'the Linkerd control plane is Ready and `linkerd check -o json` succeeds' },
  linkerdInjection: { id: 'MESH-L2', name: 'Linkerd injects its proxy and an in-mesh request answers 200' },
  linkerdStrict: { id: 'MESH-L3', name: 'with all-authenticated inbound policy, a plaintext client outside the mesh is refused' },
} satisfies Record<string, CheckRef>;

const ISTIO = [MESH_CHECKS.istioControlPlane, MESH_CHECKS.istioInjection, MESH_CHECKS.istioStrict, MESH_CHECKS.istioGateway];
const LINKERD = [MESH_CHECKS.linkerdControlPlane, MESH_CHECKS.linkerdInjection, MESH_CHECKS.linkerdStrict];

export interface MeshOptions extends AddonGateOptions {
  /** Base budget for workloads and probes (scaled), default 10 min. */
  budgetMs?: number;
}

const WEB = 'ep-mesh-web';

/** Per mesh: how a namespace joins it, the sidecar's name, how inbound plaintext is refused. */
interface MeshFlavour {
  addon: AddonSpec;
  namespaceLabels: Record<string, string>;
  namespaceAnnotations: Record<string, string>;
  sidecar: string;
  /** Annotations that make an injected client wait for its proxy before running. */
  clientAnnotations: Record<string, string>;
}

const FLAVOURS = {
  // https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/ ; holdApplicationUntilProxyStarts: istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/
  istio: { addon: addonSpec('istio'), namespaceLabels: { 'istio-injection': 'enabled' }, namespaceAnnotations: {}, sidecar: 'istio-proxy', clientAnnotations: { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' } },
  // https://linkerd.io/2/features/proxy-injection/ ; default inbound policy: linkerd.io/2/reference/authorization-policy/
  linkerd: { addon: addonSpec('linkerd'), namespaceLabels: {}, namespaceAnnotations: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/default-inbound-policy': 'all-authenticated' }, sidecar: 'linkerd-proxy', clientAnnotations: { 'config.linkerd.io/proxy-await': 'enabled' } },
} satisfies Record<string, MeshFlavour>;

/** Service mesh suite: Istio and Linkerd, each gated on its own presence. */
export async function runMeshSuite(ctx: RunContext, cluster: StartedCluster, options: MeshOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'mesh');
  const budgetMs = ctx.scaled(options.budgetMs ?? 600_000);
  for (const [flavour, checks] of [[FLAVOURS.istio, ISTIO], [FLAVOURS.linkerd, LINKERD]] as const) {
    const gate = await gateArea(run, [flavour.addon], options);
    if (!gate.ready) {
      await run.notRun(checks, gate.verdict, gate.reason, gate.evidence);
      continue;
    }
    await run.check(checks[0]!, () => (flavour === FLAVOURS.istio ? istioAnalyze(gate.evidence) : linkerdCheck(run, gate.evidence)));
    await meshChecks(run, flavour, checks, budgetMs);
  }
  return run.outcomes;
}

async function meshChecks(run: SuiteRun, flavour: MeshFlavour, checks: readonly CheckRef[], budgetMs: number): Promise<void> {
  const meshNs = runNamespace(run.ctx, `mesh-${flavour.addon.name}`);
  const outsideNs = runNamespace(run.ctx, `mesh-${flavour.addon.name}-outside`);
  await createNamespace(run.clients, outsideNs, run.ctx.scaled(60_000));
  await kube('create mesh namespace', () => run.clients.core.createNamespace({ body: { metadata: { name: meshNs, labels: { ...MANAGED_BY, ...flavour.namespaceLabels }, annotations: flavour.namespaceAnnotations } } }));
  try {
    if (flavour.addon.name === 'istio') await applyIstioStrict(run, meshNs);
    const serviceIp = await meshServer(run, meshNs, budgetMs);
    const injection = await run.check(checks[1]!, () => injectedAndAnswering(run, meshNs, flavour, serviceIp, budgetMs));
    await run.check(checks[2]!, async () =>
      injection.verdict !== 'pass' ? fail(`${checks[1]!.id} did not pass, so the mesh client cannot be compared: ${injection.reason}`) : plaintextRefused(run, outsideNs, serviceIp, 80, budgetMs, 'mesh'));
    if (flavour.addon.name === 'istio') await run.check(MESH_CHECKS.istioGateway, () => throughIstioGateway(run, meshNs, outsideNs, budgetMs));
  } finally {
    await deleteNamespace(run.clients, meshNs);
    await deleteNamespace(run.clients, outsideNs);
  }
}

/** The server: the busybox web Deployment and its ClusterIP Service; returns the Service IP. */
export async function meshServer(run: SuiteRun, namespace: string, budgetMs: number): Promise<string> {
  // An HTTP readiness probe: both meshes let kubelet HTTP probes through (Istio rewrites them, Linkerd
  // authorizes probe paths) where a TCP probe would be refused under all-authenticated.
  await deployWebAndWait(run, namespace, WEB, 1, budgetMs, (d) => {
    d.spec!.template.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/', port: 8080 }, periodSeconds: 2 };
  });
  const service = await kube('create service', () => run.clients.core.createNamespacedService({ namespace, body: clusterIpService(WEB, WEB) }));
  return service.spec!.clusterIP!;
}

async function injectedAndAnswering(run: SuiteRun, namespace: string, flavour: MeshFlavour, serviceIp: string, budgetMs: number): Promise<CheckOutcome> {
  const pods = (await kube('list pods', () => run.clients.core.listNamespacedPod({ namespace, labelSelector: `app=${WEB}` }))).items;
  const containers = pods.map((p) => `${p.metadata?.name}: ${containerNames(p).join(',')}`);
  if (!pods.some((p) => containerNames(p).includes(flavour.sidecar))) return fail(`no ${flavour.sidecar} sidecar was injected into the server pods (${containers.join('; ')})`, { containers });
  const client = await runProbePod(run.ctx, run.clients, namespace, requestPod('ep-mesh-client', run.cluster.workloadImage, { address: serviceIp, port: 80, attempts: 10, timeoutSeconds: 5, pauseSeconds: 3 }, { annotations: flavour.clientAnnotations }), budgetMs);
  const clientPod = await kube('read client', () => run.clients.core.readNamespacedPod({ name: 'ep-mesh-client', namespace }));
  const evidence = { containers, clientContainers: containerNames(clientPod), attempts: summarizeAttempts(client.attempts) };
  if (!containerNames(clientPod).includes(flavour.sidecar)) return fail(`the client pod was not injected (${containerNames(clientPod).join(',')})`, evidence);
  return answered(client) ? pass(evidence) : fail(`the in-mesh request to ${serviceIp} got no 200 with the marker: ${evidence.attempts.slice(-2).join('; ')}`, evidence);
}

function containerNames(pod: V1Pod): string[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
}

const answered = (probe: ProbeRun) => probe.attempts.some((a) => a.status === 200 && a.body.includes('edgeproof-marker'));

/**
 * MESH-I3 / MESH-L3 core: a client in a namespace outside the mesh sends
 * plaintext HTTP to a server inside it, several times. Refused means no attempt
 * got a 200 with the server's marker (a reset, a timeout, a 403 from the proxy).
 * Where no mesh enforces mTLS the request is answered, and the check fails:
 * the negative control on a bare cluster.
 */
export async function plaintextRefused(run: SuiteRun, outsideNamespace: string, address: string, port: number, budgetMs: number, podSuffix: string): Promise<CheckOutcome> {
  const probe = await runProbePod(run.ctx, run.clients, outsideNamespace, requestPod(`ep-plaintext-${podSuffix}`, run.cluster.workloadImage, { address, port, attempts: 5, timeoutSeconds: 5, pauseSeconds: 2 }), budgetMs);
  const evidence = { client: `${outsideNamespace}/${probe.pod}`, clientNode: probe.node, target: `${address}:${port}`, attempts: summarizeAttempts(probe.attempts) };
  if (probe.attempts.length === 0) return fail(`the plaintext client produced no attempts (log: ${probe.log.slice(0, 200)})`, evidence);
  const leaked = probe.attempts.filter((a) => a.status === 200 && a.body.includes('edgeproof-marker'));
  if (leaked.length) return fail(`plaintext from outside the mesh was not refused: ${leaked.length}/${probe.attempts.length} attempts answered "${leaked[0]!.statusLine}" with ${leaked[0]!.body.slice(0, 60)}`, evidence);
  return pass(evidence);
}

// https://istio.io/latest/docs/reference/config/security/peer_authentication/
async function applyIstioStrict(run: SuiteRun, namespace: string): Promise<void> {
  const body = { apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace, labels: MANAGED_BY }, spec: { mtls: { mode: 'STRICT' } } };
  await kube('create PeerAuthentication', () => run.clients.custom.createNamespacedCustomObject({ group: 'security.istio.io', version: 'v1beta1', namespace, plural: 'peerauthentications', body }));
}

/** Gateway + VirtualService for a .test host (istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/). */
export function istioGatewayObjects(namespace: string, host: string, service: string): { gateway: Record<string, unknown>; virtualService: Record<string, unknown> } {
  return {
    gateway: { apiVersion: 'networking.istio.io/v1beta1', kind: 'Gateway', metadata: { name: 'ep-gateway', namespace, labels: MANAGED_BY }, spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [host] }] } },
    virtualService: {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'ep-route', namespace, labels: MANAGED_BY },
      spec: { hosts: [host], gateways: ['ep-gateway'], http: [{ route: [{ destination: { host: `${service}.${namespace}.svc.cluster.local`, port: { number: 80 } } }] }] },
    },
  };
}

async function throughIstioGateway(run: SuiteRun, meshNs: string, outsideNs: string, budgetMs: number): Promise<CheckOutcome> {
  const services = (await kube('list istio services', () => run.clients.core.listNamespacedService({ namespace: 'istio-system' }))).items;
  const gateway = services.find((s) => s.spec?.selector?.istio === 'ingressgateway' || s.metadata?.name === 'istio-ingressgateway');
  if (!gateway?.spec?.clusterIP) return fail('no Istio ingress gateway Service in istio-system', { services: services.map((s) => s.metadata?.name) });
  const host = `${meshNs}.edgeproof.test`;
  const { gateway: gw, virtualService } = istioGatewayObjects(meshNs, host, WEB);
  for (const [plural, body] of [['gateways', gw], ['virtualservices', virtualService]] as const) {
    await kube(`create ${plural}`, () => run.clients.custom.createNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1beta1', namespace: meshNs, plural, body }));
  }
  const probe = await runProbePod(run.ctx, run.clients, outsideNs, requestPod('ep-gateway-client', run.cluster.workloadImage, { address: gateway.spec.clusterIP, port: 80, hostHeader: host, attempts: 15, timeoutSeconds: 5, pauseSeconds: 3 }), budgetMs);
  const evidence = { gateway: `istio-system/${gateway.metadata?.name} ${gateway.spec.clusterIP}:80`, host, attempts: summarizeAttempts(probe.attempts) };
  return answered(probe) ? pass(evidence) : fail(`no 200 with the marker through the gateway for Host ${host}: ${evidence.attempts.slice(-2).join('; ')}`, evidence);
}

/** MESH-I1: readiness came from the gate; `istioctl analyze` runs when the host has istioctl (verify-install is gone upstream). */
async function istioAnalyze(readiness: Record<string, unknown>): Promise<CheckOutcome> {
  if (!(await onPath('istioctl'))) return pass({ ...readiness, analyze: 'istioctl is not on the host PATH: readiness from the API only' });
  try {
    const { stdout } = await hostRun('istioctl', ['analyze', '--all-namespaces', '-o', 'json'], { timeoutMs: 120_000 });
    const analysis = parseIstioAnalyze(stdout);
    return analysis.errors.length ? fail(`istioctl analyze reports ${analysis.errors.length} error(s): ${analysis.errors.slice(0, 3).join('; ')}`, { ...readiness, analysis }) : pass({ ...readiness, analysis });
  } catch (error) {
    return fail(`istioctl analyze failed: ${describeError(error)}`, readiness);
  }
}

/** MESH-L1: `linkerd check -o json` when the CLI is on the host (with the run's kubeconfig), else API readiness. */
async function linkerdCheck(run: SuiteRun, readiness: Record<string, unknown>): Promise<CheckOutcome> {
  if (!(await onPath('linkerd'))) return pass({ ...readiness, linkerdCheck: 'the linkerd CLI is not on the host PATH: readiness from the API only' });
  const context = run.cluster.kubeContext ? ['--context', run.cluster.kubeContext] : [];
  const { stdout } = await hostRun('sh', ['-c', 'linkerd check -o json --kubeconfig "$@"; exit 0', 'sh', run.cluster.kubeconfigPath, ...context], { timeoutMs: 300_000 });
  try {
    const check = parseLinkerdCheck(stdout);
    const evidence = { ...readiness, checks: check.total, warnings: check.warnings.map((w) => w.description), errors: check.errors };
    return check.success ? pass(evidence) : fail(`linkerd check failed ${check.errors.length} check(s): ${check.errors.slice(0, 3).map((e) => `${e.description}: ${e.error ?? ''}`).join('; ')}`, evidence);
  } catch (error) {
    return fail(`linkerd check output unreadable: ${describeError(error)}`, readiness);
  }
}
