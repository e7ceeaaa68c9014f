import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixturePath } from '../../core/paths.js';
import { planCluster, type ClusterPlan, type MachineFacts } from './cluster-plan.js';
import { findComponent } from '../../components/component.js';
import { E2E_IMAGES_GUEST_DIR } from '../../cluster/e2e-images.js';
import { GUEST, autostartScript, cniConfig, containerdConfig, kubeconfigYaml, kubeletConfig, localLoadBalancerConfig, overlayScript, podMasqueradeRule, stageServices, superviseCommand } from './node-config.js';

const vm = (name: string, address: string): MachineFacts => ({ name, address, arch: 'arm64', backend: 'qemu', cgroupRoot: '' });
const container = (name: string, address: string): MachineFacts => ({ name, address, arch: 'amd64', backend: 'container', cgroupRoot: `edgeproof/t1/${name}` });

const single = planCluster([vm('ep-t1-cp-0', '10.0.2.15')], { controlPlanes: 1, workers: 0 });
const ha = planCluster(
  ['cp-0', 'cp-1', 'cp-2', 'w-0'].map((n, i) => container(n, `172.30.1.${10 + i}`)),
  { controlPlanes: 3, workers: 1 },
);
const args = (plan: typeof ha, node: string, stage: 'datastore' | 'node' | 'controllers', service: string) =>
  stageServices(plan, plan.nodes.find((n) => n.name === node)!, stage).find((s) => s.name === service)!.command;

describe('upstream cluster plan', () => {
  it('gives every node its own pod CIDR and control planes their own apiserver, workers a load balancer in HA', () => {
    expect(ha.nodes.map((n) => [n.role, n.podCidr, n.apiServerUrl])).toEqual([
      ['control-plane', '10.244.0.0/24', 'https://127.0.0.1:6443'],
      ['control-plane', '10.244.1.0/24', 'https://127.0.0.1:6443'],
      ['control-plane', '10.244.2.0/24', 'https://127.0.0.1:6443'],
      ['worker', '10.244.3.0/24', 'https://127.0.0.1:6444'],
    ]);
    const onePlusOne = planCluster([vm('cp', '10.1.0.10'), vm('w', '10.1.0.11')], { controlPlanes: 1, workers: 1 });
    expect(onePlusOne.workers[0]!.apiServerUrl).toBe('https://10.1.0.10:6443');
    expect(onePlusOne.ha).toBe(false);
  });

  it('forms a three-member etcd over TLS peers, clients on loopback only', () => {
    expect(ha.etcdInitialCluster).toBe('cp-0=https://172.30.1.10:2380,cp-1=https://172.30.1.11:2380,cp-2=https://172.30.1.12:2380');
    const etcd = args(ha, 'cp-1', 'datastore', 'etcd');
    expect(etcd).toEqual(expect.arrayContaining([
      '--listen-client-urls=http://127.0.0.1:2379', '--listen-peer-urls=https://172.30.1.11:2380',
      `--initial-cluster=${ha.etcdInitialCluster}`, '--peer-client-cert-auth',
    ]));
    expect(stageServices(ha, ha.workers[0]!, 'datastore')).toEqual([]);
  });

  it('elects leaders only when there are several controllers', () => {
    expect(args(ha, 'cp-0', 'controllers', 'kube-controller-manager')).toContain('--leader-elect=true');
    expect(args(ha, 'cp-0', 'controllers', 'kube-scheduler')).toContain('--leader-elect=true');
    expect(stageServices(single, single.nodes[0]!, 'controllers').map((s) => s.command.find((a) => a.startsWith('--leader-elect')))).toEqual(['--leader-elect=false', '--leader-elect=false']);
  });

  it('stretches etcd timeouts under emulation only, and runs the etcd built with the cluster', () => {
    const [etcd] = stageServices(single, single.nodes[0]!, 'datastore');
    expect(etcd!.command[0]).toBe('/opt/edgeproof/etcd/etcd');
    expect(etcd!.command).toContain('--election-timeout=5000');
    expect(stageServices(ha, ha.nodes[0]!, 'datastore')[0]!.command).not.toContain('--election-timeout=5000');
  });

  it('finds each built component where the catalog installs it', () => {
    const guestDir = (name: string) => findComponent(name).packaging.guestDir;
    expect([GUEST.bin, GUEST.etcd, GUEST.containerd, GUEST.runc, GUEST.cni]).toEqual(['kubernetes', 'etcd', 'containerd', 'runc', 'cni-plugins'].map(guestDir));
  });

  it('gives every payload a directory of its own: none inside another (an ssh board compares whole directories)', () => {
    const dirs = [GUEST.bin, GUEST.etcd, GUEST.containerd, GUEST.runc, GUEST.cni, GUEST.images, GUEST.e2eImages];
    expect(GUEST.e2eImages).toBe(E2E_IMAGES_GUEST_DIR);
    for (const dir of dirs) expect(dirs.filter((other) => other !== dir && other.startsWith(`${dir}/`)), dir).toEqual([]);
    expect(autostartScript(single, single.nodes[0]!)).toContain(`${GUEST.images}/*.tar ${GUEST.e2eImages}/*.tar`);
  });

  it('runs containerd 2 with its own runc and shim, and a kubelet that accepts cgroup v1', () => {
    const containerd = stageServices(single, single.nodes[0]!, 'node').find((s) => s.name === 'containerd')!;
    expect(containerd.command[0]).toBe('/opt/edgeproof/containerd/containerd');
    expect(containerd.env!.PATH!.split(':')[0]).toBe('/opt/edgeproof/containerd');
    const config = containerdConfig({ restrictOomScoreAdj: false });
    expect(config).toMatch(/^version = 3\n/);
    expect(config).toContain("BinaryName = '/opt/edgeproof/runc/runc'");
    expect(config).toContain("sandbox = 'edgeproof.local/pause:3.2'");
    expect(config).toContain("bin_dirs = ['/opt/edgeproof/cni']");
    expect(parse(kubeletConfig(single.nodes[0]!))).toMatchObject({ failCgroupV1: false, containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock' });
    expect(args(single, single.nodes[0]!.name, 'node', 'kubelet').some((a) => a.startsWith('--container-runtime'))).toBe(false);
  });

  it('keeps the imported images: no image GC below a full disk (nothing can be pulled again)', () => {
    // Seen live: with the host disk 86% used, a node container's kubelet deleted the imported pause and e2e images 5 min in.
    expect(parse(kubeletConfig(single.nodes[0]!))).toMatchObject({ imageGCHighThresholdPercent: 100, imageGCLowThresholdPercent: 99 });
  });

  it('adapts kubelet, kube-proxy and the services cgroup to a node container', () => {
    const worker = ha.workers[0]!;
    expect(worker.servicesCgroup).toBe('edgeproof/t1/w-0/services');
    expect(parse(kubeletConfig(worker))).toMatchObject({ cgroupRoot: '/edgeproof/t1/w-0', cgroupDriver: 'cgroupfs' });
    expect(parse(kubeletConfig(single.nodes[0]!))).not.toHaveProperty('cgroupRoot');
    expect(args(ha, 'w-0', 'node', 'kube-proxy')).toContain('--conntrack-max-per-core=0');
    expect(stageServices(single, single.nodes[0]!, 'node').find((s) => s.name === 'kube-proxy')!.command).not.toContain('--conntrack-max-per-core=0');
    expect(stageServices(ha, worker, 'node').map((s) => s.name)).toEqual(['haproxy', 'containerd', 'kubelet', 'kube-proxy']);
    expect(stageServices(ha, ha.nodes[0]!, 'node').map((s) => s.name)).toEqual(['containerd', 'kubelet', 'kube-proxy']);
  });

  it('balances workers over every control plane, health-checked on /readyz', () => {
    const config = localLoadBalancerConfig(ha);
    expect(config).toContain('bind 127.0.0.1:6444');
    expect(config).toContain('option httpchk GET /readyz');
    expect(config.match(/^ {2}server /gm)).toHaveLength(3);
    expect(config).toContain("server 'cp-2' '172.30.1.12:6443' check check-ssl verify none inter 1s fall 2 rise 2");
  });

  it('reaches the other nodes\' pod CIDRs through a VXLAN overlay between node addresses, at every start', () => {
    const script = autostartScript(ha, ha.nodes[1]!);
    expect(script).toContain("ip link add ep-vxlan type vxlan id 4242 dstport 8472 local '172.30.1.11' nolearning");
    expect(script).toContain("ip link set ep-vxlan address '0a:58:0a:f4:01:00' mtu 1450 up && ip addr replace '10.244.1.0/32' dev ep-vxlan");
    expect(script.match(/ip route replace .*/g)).toEqual([
      "ip route replace '10.244.0.0/24' via '10.244.0.0' dev ep-vxlan onlink",
      "ip route replace '10.244.2.0/24' via '10.244.2.0' dev ep-vxlan onlink",
      "ip route replace '10.244.3.0/24' via '10.244.3.0' dev ep-vxlan onlink",
    ]);
    expect(script).toContain("bridge fdb replace '0a:58:0a:f4:03:00' dev ep-vxlan dst '172.30.1.13'");
    expect(autostartScript(single, single.nodes[0]!)).not.toContain('ep-vxlan');
    // Pods reach node addresses (NodePorts on other nodes) with the node's source address.
    expect(script).toContain("iptables -t nat -C POSTROUTING -s '10.244.0.0/16' ! -d '10.244.0.0/16' -m comment --comment edgeproof-pod-masquerade -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING");
    expect(script).toContain("setsid -f ep-supervise 'etcd' 'edgeproof/t1/cp-1/services'");
    expect(script).toMatch(/all\) prepare && datastore && node && images && controllers/);
  });
});

describe('hostile node names and addresses', () => {
  const hostile = ['10.0.0.1; rm -rf /', '$(id)', '10.0.0.1\nreboot', '`reboot`', '10.0.0.1 && reboot', '10.0.0.1,DNS:evil.example', '::1'];

  it('refuses, before anything is planned, an address that is not IPv4 or a name that is not a node name', () => {
    for (const address of hostile) {
      expect(() => planCluster([vm('cp-0', '10.0.0.1'), vm('w-0', address)], { controlPlanes: 1, workers: 1 })).toThrow(
        expect.objectContaining({ code: 'INPUT', message: `node "w-0" (qemu backend): address ${JSON.stringify(address)} is not an IPv4 address` }),
      );
    }
    const board = { ...vm('pi-2', '10.0.0.2; reboot'), backend: 'ssh' as const };
    expect(() => planCluster([vm('cp-0', '10.0.0.1'), board], { controlPlanes: 1, workers: 1 })).toThrow(expect.objectContaining({ hint: expect.stringContaining('nodeAddress:') }));
    expect(() => planCluster([vm('cp-0;reboot', '10.0.0.1')], { controlPlanes: 1, workers: 0 })).toThrow(/^node name "cp-0;reboot" is not a Kubernetes node name/);
  });

  /** A plan that skipped planCluster's checks: what reaches the script must still be one word each. */
  const poisoned = (marker: string): ClusterPlan => ({
    ...ha,
    clusterCidr: `10.244.0.0/16 $(touch ${marker})`,
    nodes: ha.nodes.map((node) => ({ ...node, address: `${node.address};touch ${marker}`, overlayMac: `${node.overlayMac}$(touch ${marker})`, podCidr: `${node.podCidr}\ntouch ${marker}` })),
  });

  it('passes each value of the overlay and masquerade lines as one word: a real shell runs nothing hidden in them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-quote-'));
    try {
      const marker = join(dir, 'injected');
      const plan = poisoned(marker);
      const lines = [...overlayScript(plan, plan.nodes[1]!), podMasqueradeRule(plan)];
      // ip, bridge and iptables record their argv, one <word> each; `ip link show` and `iptables -C` fail so every line runs.
      const script = [
        'log() { for word in "$@"; do printf "<%s>" "$word"; done >>"$LOG"; echo >>"$LOG"; }',
        'ip() { log ip "$@"; [ "$2" != show ]; }',
        'bridge() { log bridge "$@"; }',
        'iptables() { log iptables "$@"; [ "$3" != -C ]; }',
        'prepare() {', ...lines, '}',
        'prepare',
      ].join('\n');
      execFileSync('sh', ['-c', script], { cwd: dir, env: { ...process.env, LOG: join(dir, 'argv') } });
      expect(existsSync(marker)).toBe(false);
      const argv = readFileSync(join(dir, 'argv'), 'utf8');
      expect(argv).toContain(`<local><172.30.1.11;touch ${marker}><nolearning>`);
      expect(argv).toContain(`<dst><172.30.1.13;touch ${marker}>`);
      expect(argv).toContain(`<lladdr><0a:58:0a:f4:00:00$(touch ${marker})>`);
      expect(argv).toContain(`<route><replace><10.244.3.0/24\ntouch ${marker}><via>`);
      expect(argv).toContain(`<-s><10.244.0.0/16 $(touch ${marker})><!><-d>`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quotes each server name and address in haproxy\'s configuration and refuses what quotes cannot hold', () => {
    const plan = (name: string, address: string): ClusterPlan => ({ ...ha, controlPlanes: [{ ...ha.controlPlanes[0]!, name, address }] });
    expect(localLoadBalancerConfig(plan('cp-0 disabled', '10.0.0.1 backup'))).toContain("  server 'cp-0 disabled' '10.0.0.1 backup:6443' check check-ssl");
    expect(() => localLoadBalancerConfig(plan('cp-0', '10.0.0.1\nlisten evil'))).toThrow(expect.objectContaining({ code: 'INPUT', message: expect.stringContaining("cannot be written into haproxy's configuration") }));
    expect(() => localLoadBalancerConfig(plan("cp-0'", '10.0.0.1'))).toThrow(/cannot be written into haproxy's configuration/);
  });
});

describe('upstream node files', () => {
  it('uses a bridge CNI with the node pod CIDR, hairpin mode and no masquerade', () => {
    const config = JSON.parse(cniConfig('10.244.0.0/24'));
    expect(config.plugins[0]).toMatchObject({ type: 'bridge', hairpinMode: true, ipMasq: false, mtu: 1450, ipam: { ranges: [[{ subnet: '10.244.0.0/24' }]] } });
  });

  it('is the sample the CNI suite\'s parser is tested on (fixtures/samples/cni/10-edgeproof.conflist)', () => {
    expect(cniConfig('10.244.1.0/24')).toBe(readFileSync(fixturePath('samples', 'cni', '10-edgeproof.conflist'), 'utf8'));
  });

  it('quotes every argument of a supervised command and detaches it', () => {
    const line = superviseCommand({ name: 'x', command: ['/bin/echo', "it's"], env: { A: 'b c' } }, 'edgeproof.services');
    expect(line).toBe(`setsid -f ep-supervise 'x' 'edgeproof.services' -- 'env' 'A='\\''b c'\\''' '/bin/echo' 'it'\\''s' </dev/null >/dev/null 2>&1`);
  });

  it('embeds credentials in a kubeconfig as base64', () => {
    const doc = parse(kubeconfigYaml({ server: 'https://127.0.0.1:1', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', user: 'u' }));
    expect(doc.clusters[0].cluster['certificate-authority-data']).toBe(Buffer.from('CA').toString('base64'));
    expect(doc.users[0].user['client-key-data']).toBe(Buffer.from('KEY').toString('base64'));
  });
});
