/**
 * The CNI suite as data: which pods go where, which cells the connectivity
 * matrix has, the NetworkPolicy objects, and the pure readers of what the
 * cluster answers. Everything here is CNI-agnostic: it uses only the
 * Kubernetes API's view (nodes, pods, Services) and the nodes' shells.
 */
import type { V1DaemonSet, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';
import { shellQuote } from '../emulation/machine.js';
import { MANAGED_BY, POD_NAME_LABEL, service, sleeperPod, webPod, type HttpProbeResult } from './workloads.js';

/** The suite's name in results and in its namespace. */
export const CNI_SUITE = 'cni';
export const ECHO_APP = 'ep-echo';
export const CLIENT_APP = 'ep-client';
export const POLICY_SERVER_APP = 'ep-np-server';
/** The NodePort Service in front of every echo pod (it has a ClusterIP too). */
export const ECHO_SERVICE = 'ep-echo';
export const ECHO_PORT = 8080;
export const SERVICE_PORT = 80;
/** Containers as webPod and sleeperPod name them. */
export const ECHO_CONTAINER = 'web';
export const CLIENT_CONTAINER = 'client';

/** A node as the suite needs it: its name, its InternalIP from the Node object, whether the harness has a shell on it. */
export interface CniNode {
  name: string;
  internalIp?: string;
  hasShell: boolean;
}

export type CellKind = 'pod-to-pod-same-node' | 'pod-to-pod-other-node' | 'pod-to-cluster-ip' | 'pod-to-node-port' | 'node-to-pod' | 'hairpin';

export type Source = { kind: 'pod'; pod: string; container: string; node: string } | { kind: 'node'; node: string };

export type Target =
  | { kind: 'pod-ip'; pod: string; node: string }
  /** `backends`: the pods allowed to answer. */
  | { kind: 'cluster-ip'; service: string; backends: string[] }
  | { kind: 'node-port'; service: string; node: string; backends: string[] };

/** The catalog puts hairpin beside DNS (NET-3); every other cell is NET-2. */
export const cellId = (kind: CellKind) => (kind === 'hairpin' ? 'NET-3/hairpin' : `NET-2/${kind}`);

interface CellBase {
  /** NET-2/<kind>, NET-3/hairpin. */
  id: string;
  kind: CellKind;
  name: string;
}
export interface RunnableCell extends CellBase {
  source: Source;
  target: Target;
}
export interface InapplicableCell extends CellBase {
  notApplicable: string;
}
export type MatrixCell = RunnableCell | InapplicableCell;

export interface PinnedPod {
  pod: string;
  node: string;
}

export interface CniPlan {
  nodes: CniNode[];
  echo: PinnedPod[];
  clients: PinnedPod[];
  /** One ClusterIP Service per echo pod, selecting only that pod (hairpin). */
  ownServices: Array<{ service: string; pod: string }>;
  cells: MatrixCell[];
  policy: PolicyPlan;
}

/** NET-5: a server selected by the policies, a client they allow, an outsider they do not. */
export interface PolicyPlan {
  server: PinnedPod;
  client: PinnedPod;
  /** A pod without the client's label, on the client's node: it must stay blocked after the allow policy. */
  outsider: PinnedPod;
}

export const echoPodName = (index: number) => `ep-echo-${index}`;
export const clientPodName = (index: number) => `ep-client-${index}`;
export const ownServiceName = (index: number) => `ep-echo-${index}`;
export const POLICY_SERVER_POD = 'ep-np-server';

/**
 * The connectivity matrix for these nodes (in the order given): an echo pod
 * and a client pod pinned to every node, and the cells. Pod to pod on
 * another node is every ordered pair; NodePort is every node's address from
 * a pod on it and from a pod on the next node; node to pod goes from each
 * node to its own echo pod and to the next node's. A cell the topology
 * cannot have is kept, as not applicable with the reason.
 */
export function cniPlan(nodes: CniNode[]): CniPlan {
  if (nodes.length === 0) throw new Error('cniPlan needs at least one node');
  const echo = nodes.map((n, i) => ({ pod: echoPodName(i), node: n.name }));
  const clients = nodes.map((n, i) => ({ pod: clientPodName(i), node: n.name }));
  const allEcho = echo.map((e) => e.pod);
  const single = nodes.length === 1 ? `the cluster has one node (${nodes[0]!.name}): there is no other node to reach` : undefined;
  const next = (i: number) => (i + 1) % nodes.length;
  const client = (i: number): Source => ({ kind: 'pod', pod: clients[i]!.pod, container: CLIENT_CONTAINER, node: nodes[i]!.name });
  const echoTarget = (i: number): Target => ({ kind: 'pod-ip', pod: echo[i]!.pod, node: nodes[i]!.name });
  const cell = (kind: CellKind, name: string, body: { source: Source; target: Target } | { notApplicable: string }): MatrixCell => ({ id: cellId(kind), kind, name, ...body });

  const cells: MatrixCell[] = [];
  nodes.forEach((n, i) => cells.push(cell('pod-to-pod-same-node', `pod on ${n.name} to a pod on the same node`, { source: client(i), target: echoTarget(i) })));
  if (single) cells.push(cell('pod-to-pod-other-node', 'pod to a pod on another node', { notApplicable: single }));
  nodes.forEach((from, i) =>
    nodes.forEach((to, j) => {
      if (i !== j) cells.push(cell('pod-to-pod-other-node', `pod on ${from.name} to a pod on ${to.name}`, { source: client(i), target: echoTarget(j) }));
    }),
  );
  nodes.forEach((n, i) =>
    cells.push(cell('pod-to-cluster-ip', `pod on ${n.name} to the ClusterIP of ${ECHO_SERVICE}`, { source: client(i), target: { kind: 'cluster-ip', service: ECHO_SERVICE, backends: [...allEcho] } })),
  );
  nodes.forEach((n, j) => {
    const target = (): Target => ({ kind: 'node-port', service: ECHO_SERVICE, node: n.name, backends: [...allEcho] });
    cells.push(cell('pod-to-node-port', `pod on ${n.name} to the NodePort on its own node's address`, { source: client(j), target: target() }));
    if (!single) cells.push(cell('pod-to-node-port', `pod on ${nodes[next(j)]!.name} to the NodePort on ${n.name}'s address`, { source: client(next(j)), target: target() }));
  });
  if (single) cells.push(cell('pod-to-node-port', 'pod to the NodePort on another node\'s address', { notApplicable: single }));
  nodes.forEach((n, i) => {
    const noShell = n.hasShell ? undefined : `the harness has no shell on node ${n.name} (its backend gives no node access)`;
    cells.push(cell('node-to-pod', `node ${n.name} to a pod on itself`, noShell ? { notApplicable: noShell } : { source: { kind: 'node', node: n.name }, target: echoTarget(i) }));
    if (!single) {
      const name = `node ${n.name} to a pod on ${nodes[next(i)]!.name}`;
      cells.push(cell('node-to-pod', name, noShell ? { notApplicable: noShell } : { source: { kind: 'node', node: n.name }, target: echoTarget(next(i)) }));
    }
  });
  if (single) cells.push(cell('node-to-pod', 'node to a pod on another node', { notApplicable: single }));
  nodes.forEach((n, i) =>
    cells.push(
      cell('hairpin', `pod on ${n.name} to itself through its own Service`, {
        source: { kind: 'pod', pod: echo[i]!.pod, container: ECHO_CONTAINER, node: n.name },
        target: { kind: 'cluster-ip', service: ownServiceName(i), backends: [echo[i]!.pod] },
      }),
    ),
  );

  const serverNode = nodes[nodes.length > 1 ? 1 : 0]!.name;
  return {
    nodes,
    echo,
    clients,
    ownServices: echo.map((e, i) => ({ service: ownServiceName(i), pod: e.pod })),
    cells,
    policy: { server: { pod: POLICY_SERVER_POD, node: serverNode }, client: clients[0]!, outsider: echo[0]! },
  };
}

/** Every pod and Service the suite creates, each pod pinned to its node. */
export function cniManifests(plan: CniPlan, image: string): { pods: V1Pod[]; services: V1Service[] } {
  const pods = [
    ...plan.echo.map((e) => webPod(e.pod, ECHO_APP, image, { nodeName: e.node })),
    ...plan.clients.map((c) => sleeperPod(c.pod, CLIENT_APP, image, { nodeName: c.node })),
    webPod(plan.policy.server.pod, POLICY_SERVER_APP, image, { nodeName: plan.policy.server.node }),
  ];
  const services = [service(ECHO_SERVICE, { app: ECHO_APP }, 'NodePort'), ...plan.ownServices.map((s) => service(s.service, { [POD_NAME_LABEL]: s.pod }, 'ClusterIP'))];
  return { pods, services };
}

// NetworkPolicy objects, as https://kubernetes.io/docs/concepts/services-networking/network-policies/ writes them.

/** Selects the server pods and allows no ingress at all. */
export function denyAllIngressPolicy(serverApp: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${serverApp}-deny-all-ingress`, labels: MANAGED_BY },
    spec: { podSelector: { matchLabels: { app: serverApp } }, policyTypes: ['Ingress'], ingress: [] },
  };
}

/** Allows TCP `port` into the server pods from pods labelled `app: <clientApp>` in the same namespace (policies add up). client-node spells `from` as `_from`; its serializer writes `from`. */
export function allowIngressFromAppPolicy(serverApp: string, clientApp: string, port: number): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${serverApp}-allow-from-${clientApp}`, labels: MANAGED_BY },
    spec: {
      podSelector: { matchLabels: { app: serverApp } },
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ podSelector: { matchLabels: { app: clientApp } } }], ports: [{ protocol: 'TCP', port }] }],
    },
  };
}

/**
 * One probe under a policy: `reached` when any HTTP answer came back (the
 * packets got through, whatever the status), `blocked` when the probe ran to
 * its end without one (refused, reset, timed out), `error` when it did not
 * run to its end (the exec failed): never evidence of blocking.
 */
export function classifyPolicySample(result: HttpProbeResult | undefined): 'reached' | 'blocked' | 'error' {
  if (result?.statusLine) return 'reached';
  return result?.exitCode !== undefined ? 'blocked' : 'error';
}

// Resolving a cell against what the cluster reports.

export interface PodView {
  ip?: string;
  node?: string;
  running: boolean;
  ready: boolean;
  /** describePods' line, for a reason. */
  summary: string;
}
export interface ServiceView {
  clusterIp?: string;
  nodePort?: number;
}
export interface ClusterView {
  pods: Record<string, PodView>;
  services: Record<string, ServiceView>;
  /** InternalIP per node name, from the Node objects. */
  nodeIps: Record<string, string | undefined>;
}

export interface ResolvedTarget {
  url: string;
  address: string;
  port: number;
  /** Pods allowed to answer. */
  backends: string[];
  /** The destination as evidence. */
  describe: Record<string, unknown>;
}

/** Where a cell's request goes, or why it cannot be sent (a pod not running, a Service without an address). */
export function resolveTarget(target: Target, view: ClusterView): ResolvedTarget | { problem: string } {
  if (target.kind === 'pod-ip') {
    const pod = view.pods[target.pod];
    if (!pod?.ready || !pod.ip) return { problem: `destination pod ${target.pod} is not Ready with an IP on ${target.node}: ${pod?.summary ?? 'not found'}` };
    return resolved(pod.ip, ECHO_PORT, [target.pod], { pod: target.pod, node: pod.node, podIp: pod.ip });
  }
  const svc = view.services[target.service];
  if (target.kind === 'cluster-ip') {
    if (!svc?.clusterIp) return { problem: `Service ${target.service} has no ClusterIP` };
    return resolved(svc.clusterIp, SERVICE_PORT, target.backends, { service: target.service, clusterIp: svc.clusterIp, backends: target.backends });
  }
  const nodeIp = view.nodeIps[target.node];
  if (!nodeIp) return { problem: `node ${target.node} reports no InternalIP` };
  if (!svc?.nodePort) return { problem: `Service ${target.service} has no NodePort` };
  return resolved(nodeIp, svc.nodePort, target.backends, { service: target.service, node: target.node, nodeIp, nodePort: svc.nodePort, backends: target.backends });
}

function resolved(address: string, port: number, backends: string[], describe: Record<string, unknown>): ResolvedTarget {
  const host = address.includes(':') ? `[${address}]` : address;
  return { url: `http://${host}:${port}/`, address, port, backends, describe };
}

/** The source as evidence, or why it cannot send (its pod not running). */
export function resolveSource(source: Source, view: ClusterView): { describe: Record<string, unknown> } | { problem: string } {
  if (source.kind === 'node') return { describe: { node: source.node, nodeIp: view.nodeIps[source.node] } };
  const pod = view.pods[source.pod];
  if (!pod?.running) return { problem: `source pod ${source.pod} is not Running on ${source.node}: ${pod?.summary ?? 'not found'}` };
  return { describe: { pod: source.pod, node: pod.node, podIp: pod.ip } };
}

// NET-1: CNIs that run as a DaemonSet, by the names their own manifests give them.

const CNI_DAEMONSETS: Array<{ cni: string; namespaces: string[]; name: RegExp }> = [
  // Calico: manifest installs in kube-system, the operator in calico-system (also MicroK8s' default CNI).
  { cni: 'Calico', namespaces: ['kube-system', 'calico-system'], name: /^calico-node$/ },
  { cni: 'Cilium', namespaces: ['kube-system'], name: /^cilium$/ },
  // Flannel: kube-flannel.yml's kube-flannel-ds in kube-flannel (older releases: kube-system, -<arch> suffixes).
  { cni: 'Flannel', namespaces: ['kube-system', 'kube-flannel'], name: /^(kube-)?flannel(-ds)?(-[a-z0-9]+)?$/ },
];

export interface CniDaemonSet {
  cni: string;
  namespace: string;
  name: string;
  desired: number;
  ready: number;
  available: number;
  updated: number;
}

export function findCniDaemonSets(daemonSets: V1DaemonSet[]): CniDaemonSet[] {
  return daemonSets.flatMap((ds) => {
    const namespace = ds.metadata?.namespace ?? '';
    const name = ds.metadata?.name ?? '';
    const known = CNI_DAEMONSETS.find((k) => k.namespaces.includes(namespace) && k.name.test(name));
    if (!known) return [];
    const s = ds.status;
    return [{ cni: known.cni, namespace, name, desired: s?.desiredNumberScheduled ?? 0, ready: s?.numberReady ?? 0, available: s?.numberAvailable ?? 0, updated: s?.updatedNumberScheduled ?? 0 }];
  });
}

/** What keeps the CNI DaemonSets from being healthy: desired == ready == available == the node count. */
export function cniDaemonSetProblems(found: CniDaemonSet[], nodeCount: number): string[] {
  return found.flatMap((ds) => {
    const problems: string[] = [];
    if (ds.desired !== nodeCount) problems.push(`${ds.namespace}/${ds.name} schedules ${ds.desired} pods for ${nodeCount} nodes`);
    if (ds.ready !== ds.desired || ds.available !== ds.desired) problems.push(`${ds.namespace}/${ds.name}: ${ds.ready}/${ds.desired} ready, ${ds.available} available`);
    return problems;
  });
}

/** Where kubelet (containerd's default), K3s and MicroK8s keep a node's CNI configuration. */
export const CNI_CONFIG_DIRS = ['/etc/cni/net.d', '/var/lib/rancher/k3s/agent/etc/cni/net.d', '/var/snap/microk8s/current/args/cni-network'];

/** A POSIX sh command that prints every CNI configuration file in `dirs`, each after a `== <path>` line. */
export function cniConfigProbe(dirs: string[] = CNI_CONFIG_DIRS): string {
  return [
    `for f in ${dirs.map((d) => `${shellQuote(d)}/*`).join(' ')}; do`,
    '  [ -f "$f" ] || continue',
    '  case "$f" in *.conf|*.conflist|*.json) echo "== $f"; head -c 16384 "$f"; echo ;; esac',
    'done',
  ].join('\n');
}

export interface CniConfigFile {
  file: string;
  network?: string;
  /** Plugin types in chain order (`bridge`, `portmap`), or the parse error. */
  plugins: string[];
  error?: string;
}

/** Reads cniConfigProbe's output: a .conflist's plugins or a .conf's single type (CNI spec, network configuration format). */
export function parseCniConfigProbe(output: string): CniConfigFile[] {
  return output
    .split(/^== /m)
    .slice(1)
    .map((chunk) => {
      const newline = chunk.indexOf('\n');
      const file = (newline < 0 ? chunk : chunk.slice(0, newline)).trim();
      const body = newline < 0 ? '' : chunk.slice(newline + 1);
      try {
        const config = JSON.parse(body) as { name?: string; type?: string; plugins?: Array<{ type?: string }> };
        const plugins = config.plugins ? config.plugins.map((p) => p.type ?? '?') : config.type ? [config.type] : [];
        return { file, ...(config.name ? { network: config.name } : {}), plugins };
      } catch (error) {
        return { file, plugins: [], error: `not JSON: ${(error as Error).message}` };
      }
    });
}

export interface NodeCniConfig {
  node: string;
  files?: CniConfigFile[];
  /** Why the files could not be read (no shell, the command failed). */
  error?: string;
}

/** NET-1's reason when no CNI DaemonSet exists: what is configured on the nodes instead, as far as the harness can read it. */
export function describeStaticCni(perNode: NodeCniConfig[]): string {
  const names = CNI_DAEMONSETS.map((k) => `${k.cni} (${k.namespaces.join(', ')})`).join(', ');
  const nodes = perNode.map((n) => {
    if (n.error) return `${n.node}: ${n.error}`;
    if (!n.files?.length) return `${n.node}: no CNI configuration file found`;
    return `${n.node}: ${n.files.map((f) => `${f.file} (${f.error ?? (f.plugins.join(', ') || 'no plugins')})`).join('; ')}`;
  });
  return `no CNI DaemonSet of ${names} exists: the CNI does not run as pods here but from a static configuration on each node${nodes.length ? ` [${nodes.join(' | ')}]` : ''}`;
}

// NET-3: DNS.

/** The cluster domain from a pod's resolv.conf: its first search entry is `<namespace>.svc.<domain>`. */
export function clusterDomainFromResolvConf(resolvConf: string, namespace: string): string | undefined {
  const search = /^search\s+(.+)$/m.exec(resolvConf)?.[1]?.trim().split(/\s+/) ?? [];
  const prefix = `${namespace}.svc.`;
  return search.find((s) => s.startsWith(prefix))?.slice(prefix.length);
}

export function nameserversFromResolvConf(resolvConf: string): string[] {
  return [...resolvConf.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]!);
}

/**
 * The addresses busybox nslookup reports for the name asked (not the
 * server's own `Address:` line above the first blank line). Busybox 1.35
 * prints `Address: 10.96.0.1`; 1.28 printed `Address 1: 10.96.0.1 name`.
 */
export function parseNslookupAddresses(output: string): string[] {
  const answer = output.replaceAll('\r', '').split(/\n\s*\n/).slice(1).join('\n');
  return [...answer.matchAll(/^Address(?: \d+)?:\s+([0-9a-fA-F.:]+)/gm)].map((m) => m[1]!.replace(/:53$/, ''));
}
