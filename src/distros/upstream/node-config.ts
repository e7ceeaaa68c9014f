import { stringify } from 'yaml';
import { EdgeproofError } from '../../core/errors.js';
import { shellQuote } from '../../emulation/machine.js';
import { PAUSE_IMAGE } from './artifacts.js';
import { API_PORT, LOCAL_LB_PORT, type ClusterPlan, type PlannedNode } from './cluster-plan.js';

/**
 * Configuration files for an upstream Kubernetes node, as data. Paths are
 * guest paths; every function is pure so the plans are unit-testable.
 */
export const GUEST = {
  /** Each built component in its own directory (fixtures/components.json, packaging.guestDir). */
  bin: '/opt/edgeproof/bin',
  etcd: '/opt/edgeproof/etcd',
  containerd: '/opt/edgeproof/containerd',
  runc: '/opt/edgeproof/runc',
  cni: '/opt/edgeproof/cni',
  images: '/opt/edgeproof/images',
  /** Beside images, not inside it: each payload owns its directory (an ssh board's copy compares whole directories). */
  e2eImages: '/opt/edgeproof/e2e-images',
  pki: '/etc/kubernetes/pki',
  etc: '/etc/kubernetes',
  autostart: '/etc/edgeproof/autostart.sh',
} as const;

const CONTAINERD_SOCKET = 'unix:///run/containerd/containerd.sock';

/** etcdctl on a control-plane node, against its local etcd (clients listen on loopback only). */
export function etcdctl(timeoutSeconds: number): string {
  return `${GUEST.etcd}/etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=${timeoutSeconds}s`;
}

export function kubeconfigYaml(options: { server: string; caPem: string; certPem: string; keyPem: string; user: string }): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'edgeproof', cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } }],
    users: [{ name: options.user, user: { 'client-certificate-data': b64(options.certPem), 'client-key-data': b64(options.keyPem) } }],
    contexts: [{ name: 'edgeproof', context: { cluster: 'edgeproof', user: options.user } }],
    'current-context': 'edgeproof',
  });
}

/**
 * containerd 2.x's own configuration format (version 3): the CRI plugin is
 * split into images and runtime sections. runc and the shim are the ones
 * built with the cluster; so are the CNI plugins.
 */
export function containerdConfig(options: { restrictOomScoreAdj: boolean }): string {
  return `version = 3
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '${PAUSE_IMAGE}'
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = ${options.restrictOomScoreAdj}
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '${GUEST.runc}/runc'
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['${GUEST.cni}']
    conf_dir = '/etc/cni/net.d'
`;
}

/** VXLAN adds 50 bytes to each pod packet on a 1500-byte private network. */
export const POD_MTU = 1450;

/**
 * Bridge CNI with one pod CIDR per node; hairpin on so a pod reaches itself
 * through its Service. The plugin's own masquerade is off: it would also
 * rewrite pod-to-pod traffic between nodes, which keeps its pod source
 * (NetworkPolicy and logs see real sources); podMasqueradeRule covers only
 * traffic leaving the pod network.
 */
export function cniConfig(podCidr: string): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'edgeproof',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          mtu: POD_MTU,
          ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(node: PlannedNode): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: `${GUEST.pki}/ca.crt` } },
    authorization: { mode: 'Webhook' },
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: CONTAINERD_SOCKET,
    // Nodes run on cgroup v1 (the fast init mounts it; a node container gets its host's, v1 here):
    // since v1.35 the kubelet refuses v1 unless told (KEP-5573).
    failCgroupV1: false,
    failSwapOn: false,
    resolvConf: '/etc/resolv.conf',
    clusterDomain: 'cluster.local',
    podCIDR: node.podCidr,
    serializeImagePulls: false,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '5%', 'imagefs.available': '5%' },
    // Images are imported at start-up and cannot be pulled again: past 85% disk use (a node container's is
    // the host's disk) the default image GC deletes every one not in use, between two pods of a suite.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    nodeStatusReportFrequency: '10s',
    // Renewed every quarter of it, 5 s: a node restored from a snapshot shows it is alive within seconds.
    nodeLeaseDurationSeconds: 20,
    // In a node container the kubelet's cgroups live in the node's own subtree of the host's hierarchy.
    ...(node.kubeletCgroupRoot ? { cgroupRoot: node.kubeletCgroupRoot } : {}),
  });
}

export interface ServiceSpec {
  name: string;
  command: string[];
  env?: Record<string, string>;
}

/** The services each stage of a node's start-up runs, in order (see autostartScript). */
export type Stage = 'datastore' | 'node' | 'controllers';

const bin = (name: string) => `${GUEST.bin}/${name}`;
const pki = (name: string) => `${GUEST.pki}/${name}`;
const kubeconfig = (name: string) => `${GUEST.etc}/${name}.kubeconfig`;

export function stageServices(plan: ClusterPlan, node: PlannedNode, stage: Stage): ServiceSpec[] {
  const controlPlane = node.role === 'control-plane';
  if (stage === 'datastore') return controlPlane ? [etcdService(plan, node), apiserverService(plan, node)] : [];
  if (stage === 'controllers') return controlPlane ? [controllerManagerService(plan), schedulerService(plan)] : [];
  const lb = plan.ha && !controlPlane ? [localLoadBalancerService()] : [];
  return [...lb, containerdService(), kubeletService(node), kubeProxyService(plan, node)];
}

/**
 * Stacked etcd, as kubeadm does it: clients on loopback only (the local
 * apiserver), peers over TLS on the private network with certificates the
 * harness issued. Under emulation the heartbeat and election timeouts are
 * stretched: TCG stalls would otherwise cause needless elections.
 */
export function etcdService(plan: ClusterPlan, node: PlannedNode): ServiceSpec {
  const peerUrl = `https://${node.address}:2380`;
  const timing = node.inContainer ? [] : ['--heartbeat-interval=500', '--election-timeout=5000'];
  return {
    name: 'etcd',
    command: [
      `${GUEST.etcd}/etcd`, `--name=${node.name}`, '--data-dir=/var/lib/etcd',
      '--listen-client-urls=http://127.0.0.1:2379', '--advertise-client-urls=http://127.0.0.1:2379',
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${plan.etcdInitialCluster}`, '--initial-cluster-state=new', '--initial-cluster-token=edgeproof',
      `--peer-cert-file=${pki('etcd-peer.crt')}`, `--peer-key-file=${pki('etcd-peer.key')}`,
      `--peer-trusted-ca-file=${pki('ca.crt')}`, '--peer-client-cert-auth',
      '--listen-metrics-urls=http://127.0.0.1:2381', ...timing,
    ],
  };
}

export function apiserverService(plan: ClusterPlan, node: PlannedNode): ServiceSpec {
  return {
    name: 'kube-apiserver',
    command: [
      bin('kube-apiserver'), '--etcd-servers=http://127.0.0.1:2379', '--bind-address=0.0.0.0', `--secure-port=${API_PORT}`,
      `--advertise-address=${node.address}`, `--service-cluster-ip-range=${plan.serviceCidr}`,
      `--client-ca-file=${pki('ca.crt')}`, `--tls-cert-file=${pki('apiserver.crt')}`, `--tls-private-key-file=${pki('apiserver.key')}`,
      `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`, `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
      `--service-account-key-file=${pki('sa.pub')}`, `--service-account-signing-key-file=${pki('sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
      '--profiling=false', '--kubelet-preferred-address-types=InternalIP,Hostname',
    ],
  };
}

/** Leader election only where there is more than one: under TCG, lease renewals of a lone controller only risk restarts. */
export function controllerManagerService(plan: ClusterPlan): ServiceSpec {
  return {
    name: 'kube-controller-manager',
    command: [
      bin('kube-controller-manager'), `--kubeconfig=${kubeconfig('controller-manager')}`, '--bind-address=127.0.0.1',
      `--leader-elect=${plan.ha}`, `--root-ca-file=${pki('ca.crt')}`, `--service-account-private-key-file=${pki('sa.key')}`,
      `--cluster-signing-cert-file=${pki('ca.crt')}`, `--cluster-signing-key-file=${pki('ca.key')}`,
      // Its own certificate, not per-controller tokens: see UpstreamCluster#grantControllerRoles.
      '--use-service-account-credentials=false', '--profiling=false',
    ],
  };
}

export function schedulerService(plan: ClusterPlan): ServiceSpec {
  return {
    name: 'kube-scheduler',
    command: [bin('kube-scheduler'), `--kubeconfig=${kubeconfig('scheduler')}`, '--bind-address=127.0.0.1', `--leader-elect=${plan.ha}`, '--profiling=false'],
  };
}

export function containerdService(): ServiceSpec {
  // The shim is found on PATH.
  return { name: 'containerd', env: { PATH: `${GUEST.containerd}:/usr/sbin:/usr/bin:/sbin:/bin` }, command: [`${GUEST.containerd}/containerd`, '--config', '/etc/containerd/config.toml'] };
}

export function kubeletService(node: PlannedNode): ServiceSpec {
  return {
    name: 'kubelet',
    command: [
      bin('kubelet'), `--config=${GUEST.etc}/kubelet.yaml`, `--kubeconfig=${kubeconfig('kubelet')}`,
      `--node-ip=${node.address}`, `--hostname-override=${node.name}`, '--v=1',
    ],
  };
}

/** In a container, conntrack sysctls are the host's: leave them alone (as kind does). */
export function kubeProxyService(plan: ClusterPlan, node: PlannedNode): ServiceSpec {
  const conntrack = node.inContainer ? ['--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0'] : [];
  return {
    name: 'kube-proxy',
    command: [
      bin('kube-proxy'), `--kubeconfig=${kubeconfig('kube-proxy')}`, `--hostname-override=${node.name}`,
      `--cluster-cidr=${plan.clusterCidr}`, '--proxy-mode=iptables', '--metrics-bind-address=127.0.0.1:10249', ...conntrack,
    ],
  };
}

export function localLoadBalancerService(): ServiceSpec {
  return { name: 'haproxy', command: ['/usr/sbin/haproxy', '-db', '-f', '/etc/haproxy/edgeproof.cfg'] };
}

/**
 * A worker's local apiserver load balancer in an HA cluster (kubeadm's HA
 * guide): TCP to every control plane, health-checked on /readyz every second,
 * so a dead or partitioned control plane leaves the pool within ~2 s.
 */
export function localLoadBalancerConfig(plan: ClusterPlan): string {
  const servers = plan.controlPlanes.map((cp) => `  server ${haproxyQuote(cp.name)} ${haproxyQuote(`${cp.address}:${API_PORT}`)} check check-ssl verify none inter 1s fall 2 rise 2`);
  return [
    'global',
    '  maxconn 1024',
    'defaults',
    '  mode tcp',
    '  timeout connect 3s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend apiserver',
    `  bind 127.0.0.1:${LOCAL_LB_PORT}`,
    '  default_backend apiservers',
    'backend apiservers',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    ...servers,
    '',
  ].join('\n');
}

/**
 * One word of haproxy's configuration (haproxy >= 2.1 parses quotes): inside
 * single quotes nothing is expanded or escaped, and a line ends the word.
 */
export function haproxyQuote(word: string): string {
  if (/['\n\r\0]/.test(word)) throw new EdgeproofError('INPUT', `${JSON.stringify(word)} cannot be written into haproxy's configuration`, { hint: 'node names and addresses are DNS names and IPv4 addresses' });
  return `'${word}'`;
}

/** The shell line that starts a service under ep-supervise, detached from the SSH session. */
export function superviseCommand(service: ServiceSpec, cgroup: string): string {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const env = Object.entries(service.env ?? {}).map(([k, v]) => `${k}=${quote(v)}`);
  const argv = [...(env.length ? ['env', ...env] : []), ...service.command].map(quote).join(' ');
  return `setsid -f ep-supervise ${quote(service.name)} ${quote(cgroup)} -- ${argv} </dev/null >/dev/null 2>&1`;
}

/**
 * The pod network between nodes, as flannel's VXLAN backend builds it, by
 * hand: one VXLAN device per node, a static forwarding entry and neighbour
 * per peer, and a route to each peer's pod CIDR through it. Encapsulated,
 * pod traffic travels between node addresses only, which is all an
 * `--internal` Docker network forwards (it drops other sources), and all a
 * private segment of boards needs.
 */
export function overlayScript(plan: ClusterPlan, node: PlannedNode): string[] {
  const peers = plan.nodes.filter((peer) => peer.name !== node.name);
  if (peers.length === 0) return [];
  const q = shellQuote;
  return [
    `ip link show ep-vxlan >/dev/null 2>&1 || ip link add ep-vxlan type vxlan id 4242 dstport 8472 local ${q(node.address)} nolearning || return 1`,
    `ip link set ep-vxlan address ${q(node.overlayMac)} mtu ${POD_MTU} up && ip addr replace ${q(`${node.overlayAddress}/32`)} dev ep-vxlan || return 1`,
    ...peers.flatMap((peer) => [
      `bridge fdb replace ${q(peer.overlayMac)} dev ep-vxlan dst ${q(peer.address)}`,
      `ip neigh replace ${q(peer.overlayAddress)} lladdr ${q(peer.overlayMac)} dev ep-vxlan nud permanent`,
      `ip route replace ${q(peer.podCidr)} via ${q(peer.overlayAddress)} dev ep-vxlan onlink`,
    ]),
  ];
}

/**
 * Pod traffic to anything outside the pod network (a node's address, a
 * NodePort on another node) leaves with the node's address, as flannel does
 * it; pod-to-pod traffic keeps its source. Without it, such packets carry a
 * pod source that the private network drops.
 */
export function podMasqueradeRule(plan: ClusterPlan): string {
  const rule = `POSTROUTING -s ${shellQuote(plan.clusterCidr)} ! -d ${shellQuote(plan.clusterCidr)} -m comment --comment edgeproof-pod-masquerade -j MASQUERADE`;
  return `iptables -t nat -C ${rule} 2>/dev/null || iptables -t nat -A ${rule} || return 1`;
}

/**
 * The node's start-up as one script, written to the node: the harness runs
 * it stage by stage on first bring-up (`autostart.sh prepare`, `datastore`,
 * `node`, `controllers`, `images`), and the node's init runs it whole when
 * the node is powered on again, so a rebooted node rejoins by itself, as a
 * node with enabled system services would.
 */
export function autostartScript(plan: ClusterPlan, node: PlannedNode): string {
  const lines = (stage: Stage) => stageServices(plan, node, stage).map((service) => `  ${superviseCommand(service, node.servicesCgroup)}`);
  const overlay = overlayScript(plan, node).map((line) => `  ${line}`);
  return [
    '#!/bin/sh',
    `# edgeproof: start-up of ${node.name} (${node.role}) in the upstream cluster. Usage: autostart.sh [all|prepare|datastore|node|controllers|images]`,
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'set -u',
    'prepare() {',
    '  # Modules are built in, or the host\'s when the node is a container: a missing one is not an error here.',
    '  modprobe -a overlay br_netfilter bridge veth vxlan nf_conntrack xt_conntrack ip_tables iptable_nat iptable_filter xt_MASQUERADE xt_comment xt_mark 2>/dev/null',
    '  sysctl -q -w net.ipv4.ip_forward=1 || return 1',
    '  sysctl -q -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null || echo "bridge netfilter sysctls unavailable" >&2',
    '  mkdir -p /var/lib/etcd /var/lib/kubelet /var/log/edgeproof /run/edgeproof',
    `  ${podMasqueradeRule(plan)}`,
    ...overlay,
    '  :',
    '}',
    'datastore() {',
    ...lines('datastore'),
    '  :',
    '}',
    'node() {',
    ...lines('node'),
    '  :',
    '}',
    'controllers() {',
    ...lines('controllers'),
    '  :',
    '}',
    '# Images are imported in the background once containerd answers; a marker says when all are in.',
    '# Each payload of images has its own directory under the images dir (the e2e suite\'s in e2e/).',
    'images() {',
    `  setsid -f sh -c 'for i in $(seq 1 240); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.5; done; ` +
      `for f in ${GUEST.images}/*.tar ${GUEST.e2eImages}/*.tar; do [ -e "$f" ] || continue; ${GUEST.containerd}/ctr -n k8s.io images import --no-unpack "$f" || exit 1; done; touch /run/edgeproof/images-imported' ` +
      '</dev/null >/var/log/edgeproof/image-import.log 2>&1',
    '}',
    'case "${1:-all}" in',
    '  all) prepare && datastore && node && images && controllers ;;',
    '  prepare|datastore|node|controllers|images) "$1" ;;',
    '  *) echo "usage: $0 [all|prepare|datastore|node|controllers|images]" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n');
}
