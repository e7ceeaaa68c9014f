import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpYaml, type V1DaemonSet, type V1LabelSelector } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../core/paths.js';
import {
  CLIENT_APP,
  ECHO_APP,
  ECHO_SERVICE,
  POLICY_SERVER_APP,
  allowIngressFromAppPolicy,
  clusterDomainFromResolvConf,
  cniConfigProbe,
  cniDaemonSetProblems,
  cniManifests,
  cniPlan,
  denyAllIngressPolicy,
  describeStaticCni,
  findCniDaemonSets,
  nameserversFromResolvConf,
  parseCniConfigProbe,
  parseNslookupAddresses,
  resolveSource,
  resolveTarget,
  type ClusterView,
  type CniNode,
  type MatrixCell,
  type RunnableCell,
} from './cni-plan.js';

const node = (name: string, internalIp?: string, hasShell = true): CniNode => ({ name, internalIp, hasShell });
const TWO = [node('ep-1a2b-cp-0', '172.30.4.10'), node('ep-1a2b-worker-0', '172.30.4.11')];
const FOUR = [...TWO, node('ep-1a2b-worker-1', '172.30.4.12'), node('ep-1a2b-worker-2', '172.30.4.13')];
const runnable = (cells: MatrixCell[]) => cells.filter((c): c is RunnableCell => 'source' in c);
const inapplicable = (cells: MatrixCell[]) => cells.filter((c) => 'notApplicable' in c) as Array<MatrixCell & { notApplicable: string }>;
const kinds = (cells: MatrixCell[]) => cells.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.kind]: (acc[c.kind] ?? 0) + 1 }), {});
const sample = (path: string) => readFileSync(new URL(`../../fixtures/samples/${path}`, import.meta.url), 'utf8');

describe('cniPlan: the connectivity matrix', () => {
  it('on two nodes: every kind of cell, each runnable, with the catalog ids', () => {
    const plan = cniPlan(TWO);
    expect(kinds(plan.cells)).toEqual({ 'pod-to-pod-same-node': 2, 'pod-to-pod-other-node': 2, 'pod-to-cluster-ip': 2, 'pod-to-node-port': 4, 'node-to-pod': 4, hairpin: 2 });
    expect(inapplicable(plan.cells)).toEqual([]);
    expect(new Set(plan.cells.map((c) => c.id))).toEqual(
      new Set(['NET-2/pod-to-pod-same-node', 'NET-2/pod-to-pod-other-node', 'NET-2/pod-to-cluster-ip', 'NET-2/pod-to-node-port', 'NET-2/node-to-pod', 'NET-3/hairpin']),
    );
    expect(new Set(plan.cells.map((c) => c.name)).size).toBe(plan.cells.length);
  });

  it('pod to pod: same-node cells stay on one node, other-node cells cover every ordered pair of nodes', () => {
    const cells = runnable(cniPlan(FOUR).cells);
    for (const c of cells.filter((c) => c.kind === 'pod-to-pod-same-node')) expect(c.source.node).toBe((c.target as { node: string }).node);
    const pairs = cells.filter((c) => c.kind === 'pod-to-pod-other-node').map((c) => `${c.source.node}>${(c.target as { node: string }).node}`);
    expect(pairs).toHaveLength(12);
    expect(new Set(pairs).size).toBe(12);
    for (const pair of pairs) expect(pair.split('>')[0]).not.toBe(pair.split('>')[1]);
  });

  it('NodePort: every node\'s address from a pod on that node and from a pod on another node', () => {
    const cells = runnable(cniPlan(FOUR).cells).filter((c) => c.kind === 'pod-to-node-port');
    for (const n of FOUR) {
      const toNode = cells.filter((c) => c.target.kind === 'node-port' && c.target.node === n.name);
      expect(toNode.map((c) => c.source.node === n.name).sort()).toEqual([false, true]);
    }
    for (const c of cells) expect(c.target).toMatchObject({ service: ECHO_SERVICE, backends: ['ep-echo-0', 'ep-echo-1', 'ep-echo-2', 'ep-echo-3'] });
  });

  it('node to pod goes from the node\'s shell; hairpin goes from an echo pod to its own Service, only it may answer', () => {
    const cells = runnable(cniPlan(TWO).cells);
    for (const c of cells.filter((c) => c.kind === 'node-to-pod')) expect(c.source).toEqual({ kind: 'node', node: c.source.node });
    const hairpin = cells.filter((c) => c.kind === 'hairpin');
    expect(hairpin.map((c) => [c.source, c.target])).toEqual([
      [{ kind: 'pod', pod: 'ep-echo-0', container: 'web', node: 'ep-1a2b-cp-0' }, { kind: 'cluster-ip', service: 'ep-echo-0', backends: ['ep-echo-0'] }],
      [{ kind: 'pod', pod: 'ep-echo-1', container: 'web', node: 'ep-1a2b-worker-0' }, { kind: 'cluster-ip', service: 'ep-echo-1', backends: ['ep-echo-1'] }],
    ]);
  });

  it('on one node: the cells that need another node are kept as not applicable, with the reason', () => {
    const plan = cniPlan([node('solo', '10.0.2.15')]);
    const na = inapplicable(plan.cells);
    expect(na.map((c) => c.kind)).toEqual(['pod-to-pod-other-node', 'pod-to-node-port', 'node-to-pod']);
    for (const c of na) expect(c.notApplicable).toBe('the cluster has one node (solo): there is no other node to reach');
    expect(kinds(runnable(plan.cells))).toEqual({ 'pod-to-pod-same-node': 1, 'pod-to-cluster-ip': 1, 'pod-to-node-port': 1, 'node-to-pod': 1, hairpin: 1 });
    expect(plan.policy).toEqual({ server: { pod: 'ep-np-server', node: 'solo' }, client: { pod: 'ep-client-0', node: 'solo' }, outsider: { pod: 'ep-echo-0', node: 'solo' } });
  });

  it('a node without a shell (existing backend) makes its node-to-pod cells not applicable', () => {
    const plan = cniPlan([node('a', '10.0.0.1', false), node('b', '10.0.0.2')]);
    const fromA = plan.cells.filter((c) => c.kind === 'node-to-pod' && c.name.startsWith('node a '));
    expect(fromA).toHaveLength(2);
    for (const c of fromA) expect(c).toMatchObject({ notApplicable: 'the harness has no shell on node a (its backend gives no node access)' });
    expect(runnable(plan.cells).filter((c) => c.kind === 'node-to-pod').map((c) => c.source.node)).toEqual(['b', 'b']);
  });

  it('puts the policy server on another node than the client when there is one', () => {
    expect(cniPlan(TWO).policy).toEqual({
      server: { pod: 'ep-np-server', node: 'ep-1a2b-worker-0' },
      client: { pod: 'ep-client-0', node: 'ep-1a2b-cp-0' },
      outsider: { pod: 'ep-echo-0', node: 'ep-1a2b-cp-0' },
    });
  });

  it('refuses an empty node list', () => {
    expect(() => cniPlan([])).toThrow('at least one node');
  });

  it('matches the golden plan for two nodes', async () => {
    await expect(dumpYaml(cniPlan(TWO).cells)).toMatchFileSnapshot('../../fixtures/golden/cni/cells-2-nodes.yaml');
  });
});

describe('cniManifests and the policies', () => {
  const plan = cniPlan(TWO);
  const { pods, services } = cniManifests(plan, 'edgeproof.local/busybox:1.35');
  const selects = (selector: Record<string, string>) => pods.filter((p) => Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v)).map((p) => p.metadata!.name);

  it('pins every pod to its planned node', () => {
    const placed = Object.fromEntries(pods.map((p) => [p.metadata!.name, p.spec!.nodeName]));
    expect(placed).toEqual({
      'ep-echo-0': 'ep-1a2b-cp-0', 'ep-echo-1': 'ep-1a2b-worker-0',
      'ep-client-0': 'ep-1a2b-cp-0', 'ep-client-1': 'ep-1a2b-worker-0',
      'ep-np-server': 'ep-1a2b-worker-0',
    });
    for (const p of pods) expect(p.spec?.containers[0]).toMatchObject({ image: 'edgeproof.local/busybox:1.35', imagePullPolicy: 'IfNotPresent' });
  });

  it('the shared Service selects every echo pod and nothing else; each own Service selects exactly its pod', () => {
    const byName = Object.fromEntries(services.map((s) => [s.metadata!.name, s.spec!]));
    expect(byName[ECHO_SERVICE]!.type).toBe('NodePort');
    expect(selects(byName[ECHO_SERVICE]!.selector!)).toEqual(['ep-echo-0', 'ep-echo-1']);
    for (const own of plan.ownServices) {
      expect(byName[own.service]!.type).toBe('ClusterIP');
      expect(selects(byName[own.service]!.selector!)).toEqual([own.pod]);
    }
  });

  it('deny-all selects only the policy server; the allow policy admits the clients and not the outsider', () => {
    const deny = denyAllIngressPolicy(POLICY_SERVER_APP);
    const allow = allowIngressFromAppPolicy(POLICY_SERVER_APP, CLIENT_APP, 8080);
    const labels = (l: V1LabelSelector | undefined) => l!.matchLabels!;
    expect(selects(labels(deny.spec!.podSelector))).toEqual(['ep-np-server']);
    expect(selects(labels(allow.spec!.podSelector))).toEqual(['ep-np-server']);
    const admitted = selects(labels(allow.spec!.ingress![0]!._from![0]!.podSelector!));
    expect(admitted).toEqual(['ep-client-0', 'ep-client-1']);
    expect(admitted).toContain(plan.policy.client.pod);
    expect(admitted).not.toContain(plan.policy.outsider.pod);
    expect(selects({ app: ECHO_APP })).toContain(plan.policy.outsider.pod);
  });

  it('writes the policies as the API reads them (`from`, an empty ingress list for deny-all)', () => {
    const deny = dumpYaml(denyAllIngressPolicy(POLICY_SERVER_APP));
    expect(deny).toMatch(/policyTypes:\n\s+- Ingress/);
    expect(deny).toMatch(/ingress: \[\]/);
    const allow = dumpYaml(allowIngressFromAppPolicy(POLICY_SERVER_APP, CLIENT_APP, 8080));
    expect(allow).toMatch(/- from:\n\s+- podSelector:\n\s+matchLabels:\n\s+app: ep-client/);
    expect(allow).not.toContain('_from');
  });

  it('matches the golden manifests for two nodes', async () => {
    const all = [...pods, ...services, denyAllIngressPolicy(POLICY_SERVER_APP), allowIngressFromAppPolicy(POLICY_SERVER_APP, CLIENT_APP, 8080)];
    await expect(all.map((o) => dumpYaml(o)).join('---\n')).toMatchFileSnapshot('../../fixtures/golden/cni/manifests-2-nodes.yaml');
  });
});

describe('resolving cells against the cluster', () => {
  const plan = cniPlan(TWO);
  const view: ClusterView = {
    pods: {
      'ep-echo-0': { ip: '10.244.0.5', node: 'ep-1a2b-cp-0', running: true, ready: true, summary: 'ep-echo-0: Running' },
      'ep-echo-1': { node: 'ep-1a2b-worker-0', running: false, ready: false, summary: 'ep-echo-1: Pending on ep-1a2b-worker-0 (ContainerCreating: )' },
      'ep-client-0': { ip: '10.244.0.6', node: 'ep-1a2b-cp-0', running: true, ready: true, summary: 'ep-client-0: Running' },
    },
    services: { 'ep-echo': { clusterIp: '10.96.0.20', nodePort: 31234 }, 'ep-echo-0': { clusterIp: '10.96.0.21' } },
    nodeIps: { 'ep-1a2b-cp-0': '172.30.4.10', 'ep-1a2b-worker-0': undefined },
  };

  it('turns pod, ClusterIP and NodePort targets into URLs with the pods allowed to answer', () => {
    expect(resolveTarget({ kind: 'pod-ip', pod: 'ep-echo-0', node: 'ep-1a2b-cp-0' }, view)).toMatchObject({ url: 'http://10.244.0.5:8080/', backends: ['ep-echo-0'] });
    expect(resolveTarget({ kind: 'cluster-ip', service: 'ep-echo', backends: ['ep-echo-0', 'ep-echo-1'] }, view)).toMatchObject({ url: 'http://10.96.0.20:80/', backends: ['ep-echo-0', 'ep-echo-1'] });
    expect(resolveTarget({ kind: 'node-port', service: 'ep-echo', node: 'ep-1a2b-cp-0', backends: ['ep-echo-0'] }, view)).toMatchObject({
      url: 'http://172.30.4.10:31234/', describe: { nodeIp: '172.30.4.10', nodePort: 31234 },
    });
    expect(resolveTarget({ kind: 'pod-ip', pod: 'ep-echo-0', node: 'x' }, { ...view, pods: { 'ep-echo-0': { ...view.pods['ep-echo-0']!, ip: 'fd00::5' } } })).toMatchObject({ url: 'http://[fd00::5]:8080/' });
  });

  it('says why a cell cannot be sent: pod not Ready, node without InternalIP, Service without address', () => {
    expect(resolveTarget({ kind: 'pod-ip', pod: 'ep-echo-1', node: 'ep-1a2b-worker-0' }, view)).toEqual({
      problem: 'destination pod ep-echo-1 is not Ready with an IP on ep-1a2b-worker-0: ep-echo-1: Pending on ep-1a2b-worker-0 (ContainerCreating: )',
    });
    expect(resolveTarget({ kind: 'node-port', service: 'ep-echo', node: 'ep-1a2b-worker-0', backends: [] }, view)).toEqual({ problem: 'node ep-1a2b-worker-0 reports no InternalIP' });
    expect(resolveTarget({ kind: 'node-port', service: 'ep-echo-0', node: 'ep-1a2b-cp-0', backends: [] }, view)).toEqual({ problem: 'Service ep-echo-0 has no NodePort' });
    expect(resolveTarget({ kind: 'cluster-ip', service: 'ep-echo-1', backends: [] }, view)).toEqual({ problem: 'Service ep-echo-1 has no ClusterIP' });
    expect(resolveSource({ kind: 'pod', pod: 'ep-client-1', container: 'client', node: 'ep-1a2b-worker-0' }, view)).toEqual({ problem: 'source pod ep-client-1 is not Running on ep-1a2b-worker-0: not found' });
    expect(resolveSource(runnable(plan.cells)[0]!.source, view)).toEqual({ describe: { pod: 'ep-client-0', node: 'ep-1a2b-cp-0', podIp: '10.244.0.6' } });
    expect(resolveSource({ kind: 'node', node: 'ep-1a2b-cp-0' }, view)).toEqual({ describe: { node: 'ep-1a2b-cp-0', nodeIp: '172.30.4.10' } });
  });
});

describe('NET-1: CNI DaemonSets', () => {
  const ds = (namespace: string, name: string, desired: number, ready = desired, available = ready): V1DaemonSet => ({
    metadata: { namespace, name },
    status: { desiredNumberScheduled: desired, numberReady: ready, numberAvailable: available, updatedNumberScheduled: desired, currentNumberScheduled: desired, numberMisscheduled: 0 },
  });

  it('finds Calico, Cilium and Flannel by their manifests\' names and namespaces, and nothing else', () => {
    const found = findCniDaemonSets([
      ds('kube-system', 'kube-proxy', 3),
      ds('kube-system', 'calico-node', 3),
      ds('calico-system', 'calico-node', 3),
      ds('kube-system', 'cilium', 3),
      ds('kube-flannel', 'kube-flannel-ds', 3),
      ds('kube-system', 'kube-flannel-ds-arm64', 3),
      ds('default', 'cilium', 3),
      ds('kube-system', 'cilium-envoy', 3),
    ]);
    expect(found.map((f) => `${f.cni} ${f.namespace}/${f.name}`)).toEqual([
      'Calico kube-system/calico-node', 'Calico calico-system/calico-node', 'Cilium kube-system/cilium', 'Flannel kube-flannel/kube-flannel-ds', 'Flannel kube-system/kube-flannel-ds-arm64',
    ]);
  });

  it('healthy means desired == ready == available == the node count', () => {
    expect(cniDaemonSetProblems(findCniDaemonSets([ds('kube-system', 'cilium', 3)]), 3)).toEqual([]);
    expect(cniDaemonSetProblems(findCniDaemonSets([ds('kube-system', 'cilium', 3, 2)]), 3)).toEqual(['kube-system/cilium: 2/3 ready, 2 available']);
    expect(cniDaemonSetProblems(findCniDaemonSets([ds('kube-system', 'cilium', 2)]), 3)).toEqual(['kube-system/cilium schedules 2 pods for 3 nodes']);
  });

  it('reads the static CNI configuration a node carries (the upstream driver\'s own bridge config) into the not-applicable reason', () => {
    // The upstream driver's file, as its own test pins it.
    const upstreamBridge = readFileSync(fixturePath('samples', 'cni', '10-edgeproof.conflist'), 'utf8');
    const output = `== /etc/cni/net.d/10-edgeproof.conflist\n${upstreamBridge}\n== /etc/cni/net.d/99-loopback.conf\n{"cniVersion":"0.3.1","name":"lo","type":"loopback"}\n== /etc/cni/net.d/broken.json\n{not json\n`;
    const files = parseCniConfigProbe(output);
    expect(files).toEqual([
      { file: '/etc/cni/net.d/10-edgeproof.conflist', network: 'edgeproof', plugins: ['bridge', 'portmap'] },
      { file: '/etc/cni/net.d/99-loopback.conf', network: 'lo', plugins: ['loopback'] },
      { file: '/etc/cni/net.d/broken.json', plugins: [], error: expect.stringMatching(/^not JSON: /) },
    ]);
    const reason = describeStaticCni([{ node: 'cp-0', files: files.slice(0, 1) }, { node: 'w-0', files: [] }, { node: 'ext', error: 'no shell on this node to read its CNI configuration' }]);
    expect(reason).toBe(
      'no CNI DaemonSet of Calico (kube-system, calico-system), Cilium (kube-system), Flannel (kube-system, kube-flannel) exists: the CNI does not run as pods here but from a static configuration on each node' +
        ' [cp-0: /etc/cni/net.d/10-edgeproof.conflist (bridge, portmap) | w-0: no CNI configuration file found | ext: no shell on this node to read its CNI configuration]',
    );
    expect(parseCniConfigProbe('')).toEqual([]);
  });

  it('the probe lists the configuration files of real directories with dash and busybox sh', () => {
    const root = mkdtempSync(join(tmpdir(), 'ep-cni-conf-'));
    try {
      const netd = join(root, 'net.d');
      mkdirSync(netd);
      writeFileSync(join(netd, '10-edgeproof.conflist'), readFileSync(fixturePath('samples', 'cni', '10-edgeproof.conflist'), 'utf8'));
      writeFileSync(join(netd, 'README'), 'not a config');
      for (const shell of [['/bin/dash'], ['/bin/busybox', 'sh']]) {
        const run = spawnSync(shell[0]!, [...shell.slice(1), '-c', cniConfigProbe([netd, join(root, 'absent dir')])], { encoding: 'utf8' });
        expect(run.status).toBe(0);
        expect(parseCniConfigProbe(run.stdout)).toEqual([{ file: join(netd, '10-edgeproof.conflist'), network: 'edgeproof', plugins: ['bridge', 'portmap'] }]);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('NET-3: DNS answers', () => {
  it('finds the cluster domain and nameserver in a pod\'s resolv.conf', () => {
    const conf = sample('busybox/resolv.conf');
    expect(clusterDomainFromResolvConf(conf, 'ep-cni-1a2b3c4d')).toBe('cluster.local');
    expect(clusterDomainFromResolvConf(conf, 'other')).toBeUndefined();
    expect(clusterDomainFromResolvConf('nameserver 1.1.1.1\n', 'x')).toBeUndefined();
    expect(nameserversFromResolvConf(conf)).toEqual(['10.96.0.10']);
  });

  it('reads the answer\'s addresses, not the server\'s, in busybox 1.35 and 1.28 formats', () => {
    expect(parseNslookupAddresses(sample('busybox/nslookup-1.35-found.txt'))).toEqual(['10.96.0.1']);
    expect(parseNslookupAddresses(sample('busybox/nslookup-1.35-short-name-nxdomain.txt'))).toEqual([]);
    expect(parseNslookupAddresses(sample('busybox/nslookup-1.28-found.txt'))).toEqual(['10.96.0.1']);
  });
});
