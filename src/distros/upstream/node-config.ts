import { stringify } from 'yaml';
import { PAUSE_IMAGE } from './artifacts.js';

/**
 * Configuration files for an upstream Kubernetes node, as data. Paths are
 * guest paths; every function is pure so the plans are unit-testable.
 */
export const GUEST = {
  bin: '/opt/edgeproof/bin',
  images: '/opt/edgeproof/images',
  pki: '/etc/kubernetes/pki',
  etc: '/etc/kubernetes',
  cgroup: 'edgeproof.services',
} as const;

export interface NodeNetwork {
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  clusterCidr: string;
  serviceCidr: string;
  apiServerUrl: string;
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

export function containerdConfig(options: { restrictOomScoreAdj: boolean }): string {
  return `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = ${options.restrictOomScoreAdj}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
`;
}

/** Bridge CNI with one pod CIDR per node; hairpin on so a pod reaches itself through its Service. */
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
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(net: NodeNetwork): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: `${GUEST.pki}/ca.crt` } },
    authorization: { mode: 'Webhook' },
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    resolvConf: '/etc/resolv.conf',
    clusterDomain: 'cluster.local',
    podCIDR: net.podCidr,
    serializeImagePulls: false,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '5%', 'imagefs.available': '5%' },
    nodeStatusReportFrequency: '10s',
  });
}

export interface ServiceSpec {
  name: string;
  command: string[];
  env?: Record<string, string>;
}

/** The supervised services of a single control-plane node, in start order. */
export function controlPlaneServices(net: NodeNetwork, arch: string): ServiceSpec[] {
  const bin = (name: string) => `${GUEST.bin}/${name}`;
  const pki = (name: string) => `${GUEST.pki}/${name}`;
  const kubeconfig = (name: string) => `${GUEST.etc}/${name}.kubeconfig`;
  return [
    {
      name: 'etcd',
      // etcd 3.4 refuses to start on arm64 unless told the architecture is accepted.
      env: arch === 'amd64' ? {} : { ETCD_UNSUPPORTED_ARCH: arch },
      command: [
        '/usr/bin/etcd', `--name=${net.nodeName}`, '--data-dir=/var/lib/etcd',
        '--listen-client-urls=http://127.0.0.1:2379', '--advertise-client-urls=http://127.0.0.1:2379',
        '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380',
        `--initial-cluster=${net.nodeName}=http://127.0.0.1:2380`, '--listen-metrics-urls=http://127.0.0.1:2381',
      ],
    },
    {
      name: 'kube-apiserver',
      command: [
        bin('kube-apiserver'), '--etcd-servers=http://127.0.0.1:2379', '--bind-address=0.0.0.0', '--secure-port=6443',
        `--advertise-address=${net.nodeIp}`, `--service-cluster-ip-range=${net.serviceCidr}`,
        `--client-ca-file=${pki('ca.crt')}`, `--tls-cert-file=${pki('apiserver.crt')}`, `--tls-private-key-file=${pki('apiserver.key')}`,
        `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`, `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
        `--service-account-key-file=${pki('sa.pub')}`, `--service-account-signing-key-file=${pki('sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
        '--profiling=false', '--kubelet-preferred-address-types=InternalIP,Hostname',
      ],
    },
    {
      name: 'kube-controller-manager',
      command: [
        bin('kube-controller-manager'), `--kubeconfig=${kubeconfig('controller-manager')}`, '--bind-address=127.0.0.1',
        '--leader-elect=false', `--root-ca-file=${pki('ca.crt')}`, `--service-account-private-key-file=${pki('sa.key')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`, `--cluster-signing-key-file=${pki('ca.key')}`,
        '--use-service-account-credentials=true', '--profiling=false',
      ],
    },
    {
      name: 'kube-scheduler',
      command: [bin('kube-scheduler'), `--kubeconfig=${kubeconfig('scheduler')}`, '--bind-address=127.0.0.1', '--leader-elect=false', '--profiling=false'],
    },
  ];
}

/** The supervised services every node runs. */
export function nodeServices(net: NodeNetwork): ServiceSpec[] {
  return [
    {
      name: 'kubelet',
      command: [
        `${GUEST.bin}/kubelet`, `--config=${GUEST.etc}/kubelet.yaml`, `--kubeconfig=${GUEST.etc}/kubelet.kubeconfig`,
        '--container-runtime=remote', '--container-runtime-endpoint=unix:///run/containerd/containerd.sock',
        `--node-ip=${net.nodeIp}`, `--hostname-override=${net.nodeName}`, '--v=1',
      ],
    },
    {
      name: 'kube-proxy',
      command: [
        `${GUEST.bin}/kube-proxy`, `--kubeconfig=${GUEST.etc}/kube-proxy.kubeconfig`, `--hostname-override=${net.nodeName}`,
        `--cluster-cidr=${net.clusterCidr}`, '--proxy-mode=iptables', '--metrics-bind-address=127.0.0.1:10249',
      ],
    },
  ];
}

/** The shell line that starts a service under ep-supervise, detached from the SSH session. */
export function superviseCommand(service: ServiceSpec): string {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const env = Object.entries(service.env ?? {}).map(([k, v]) => `${k}=${quote(v)}`);
  const argv = [...(env.length ? ['env', ...env] : []), ...service.command].map(quote).join(' ');
  return `setsid -f ep-supervise ${quote(service.name)} ${GUEST.cgroup} -- ${argv} </dev/null >/dev/null 2>&1`;
}
