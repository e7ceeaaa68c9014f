import { UsageError } from '../../core/errors.js';
import type { Arch } from '../../emulation/boards.js';
import { didYouMean } from '../../core/suggest.js';
import { parseIpv4Pool, type Ipv4Block } from './ip-ranges.js';

/**
 * The addons edgeproof knows, as data: what each one is, what it needs
 * before it can run (prerequisites), and which Kubernetes objects show it is
 * there (presence). How each distribution enables it is in enable-plans.ts;
 * the probes that read this data against a cluster are in
 * src/suites/addons/. Nothing here talks to a cluster.
 */
export const ADDON_NAMES = [
  'metallb',
  'servicelb',
  'ingress-nginx',
  'traefik',
  'openebs-jiva',
  'openebs-mayastor',
  'longhorn',
  'istio',
  'linkerd',
  'knative',
  'openfaas',
  'kata',
  'strict-confinement',
] as const;
export type AddonName = (typeof ADDON_NAMES)[number];

export type AddonArea = 'lb' | 'ingress' | 'storage' | 'mesh' | 'serverless' | 'kata' | 'strict';

/** What must hold on the cluster or its nodes before the addon can work; a miss makes its checks not applicable. */
export interface Prerequisites {
  architectures?: Arch[];
  minNodes?: number;
  /** Kernel modules loaded or loadable on every node (names as /sys/module spells them). */
  kernelModules?: string[];
  /** open-iscsi's iscsid running on every node (Longhorn, OpenEBS Jiva). */
  iscsid?: boolean;
  /** Free 2 MiB huge pages on every node (Mayastor). */
  hugepages2Mi?: number;
  /** A usable /dev/kvm on every node (Kata). */
  kvm?: boolean;
  /** The MicroK8s snap on every node (strict confinement is a property of that snap). */
  microk8sSnap?: boolean;
}

export type WorkloadKind = 'Deployment' | 'DaemonSet' | 'StatefulSet';

/** One fact about a cluster that shows the addon is there and ready. */
export type PresenceSignal =
  | { kind: 'crd'; name: string }
  | { kind: 'workload'; namespace: string; workload: WorkloadKind; name: string | RegExp }
  | { kind: 'runtime-class'; anyOf: string[] }
  | { kind: 'secret'; namespace: string; name: string }
  /** A component K3s bundles, present unless a server was started with `--disable <component>`. */
  | { kind: 'k3s-bundled'; component: 'servicelb' | 'traefik' }
  /** The MicroK8s snap installed with the given confinement, read on each node. */
  | { kind: 'snap-confinement'; snap: 'microk8s'; confinement: 'strict' };

export interface AddonSpec {
  name: AddonName;
  title: string;
  area: AddonArea;
  /** The project's own documentation this model follows. */
  docs: string;
  prerequisites: Prerequisites;
  /** Ways the addon shows up (one per packaging): present when every signal of one variant holds. */
  presence: PresenceSignal[][];
  /** Namespaces whose pods and events explain an install that hangs. */
  namespaces: string[];
  /** Arguments, when the addon takes any (MicroK8s' `enable <addon>:<args>` form). */
  args?: { describe: string; example: string; required: boolean; parse: (text: string) => AddonArgs };
}

export type AddonArgs = { kind: 'ipv4-pool'; blocks: Ipv4Block[]; text: string };

const dep = (namespace: string, name: string | RegExp) => ({ kind: 'workload' as const, namespace, workload: 'Deployment' as const, name });
const ds = (namespace: string, name: string | RegExp) => ({ kind: 'workload' as const, namespace, workload: 'DaemonSet' as const, name });
/** The MetalLB pool (and L2 advertisement) the harness configures from `metallb:<pool>`: suites name it in Services. */
export const EDGEPROOF_POOL = 'edgeproof-pool';

const crd = (name: string) => ({ kind: 'crd' as const, name });
const BOTH: Arch[] = ['amd64', 'arm64'];

const SPECS: Record<AddonName, Omit<AddonSpec, 'name'>> = {
  metallb: {
    title: 'MetalLB',
    area: 'lb',
    docs: 'https://metallb.universe.tf/installation/',
    prerequisites: { architectures: BOTH },
    presence: [[dep('metallb-system', 'controller'), ds('metallb-system', 'speaker')]],
    namespaces: ['metallb-system'],
    args: {
      describe: 'an IPv4 address pool: ranges a.b.c.d-a.b.c.e and CIDRs, comma-separated, on the nodes\' own network',
      example: 'metallb:10.64.140.43-10.64.140.49',
      required: true,
      parse: (text) => ({ kind: 'ipv4-pool', blocks: parseIpv4Pool(text), text: text.trim() }),
    },
  },
  servicelb: {
    title: 'K3s ServiceLB (klipper-lb)',
    area: 'lb',
    docs: 'https://docs.k3s.io/networking/networking-services#service-load-balancer',
    prerequisites: {},
    presence: [[{ kind: 'k3s-bundled', component: 'servicelb' }]],
    namespaces: ['kube-system'],
  },
  'ingress-nginx': {
    title: 'ingress-nginx',
    area: 'ingress',
    docs: 'https://kubernetes.github.io/ingress-nginx/deploy/',
    prerequisites: { architectures: BOTH },
    presence: [[ds('ingress', 'nginx-ingress-microk8s-controller')], [dep('ingress-nginx', 'ingress-nginx-controller')]],
    namespaces: ['ingress', 'ingress-nginx'],
  },
  traefik: {
    title: 'Traefik',
    area: 'ingress',
    docs: 'https://docs.k3s.io/networking/networking-services#traefik-ingress-controller',
    prerequisites: { architectures: BOTH },
    presence: [[{ kind: 'k3s-bundled', component: 'traefik' }, dep('kube-system', 'traefik')], [dep('traefik', 'traefik')]],
    namespaces: ['kube-system', 'traefik'],
  },
  'openebs-jiva': {
    title: 'OpenEBS Jiva',
    area: 'storage',
    docs: 'https://openebs.github.io/jiva-operator/',
    prerequisites: { architectures: BOTH, iscsid: true },
    presence: [[crd('jivavolumes.openebs.io'), dep('openebs', /jiva-operator$/)]],
    namespaces: ['openebs'],
  },
  'openebs-mayastor': {
    title: 'OpenEBS Mayastor',
    area: 'storage',
    // Prerequisites: x86-64 with SSE4.2, nvme-tcp, 2 GiB of 2 MiB pages, three workers (openebs.io rs-installation; microk8s.io/docs/addon-mayastor).
    docs: 'https://openebs.io/docs/user-guides/replicated-storage-user-guide/replicated-pv-mayastor/rs-installation',
    prerequisites: { architectures: ['amd64'], kernelModules: ['nvme_tcp', 'nvme_fabrics'], hugepages2Mi: 1024, minNodes: 3 },
    presence: [
      [crd('diskpools.openebs.io'), dep('mayastor', /api-rest$/), ds('mayastor', /io-engine$/)],
      [crd('diskpools.openebs.io'), dep('openebs', /api-rest$/), ds('openebs', /io-engine$/)],
    ],
    namespaces: ['mayastor', 'openebs'],
  },
  longhorn: {
    title: 'Longhorn',
    area: 'storage',
    docs: 'https://longhorn.io/docs/latest/deploy/install/#installation-requirements',
    prerequisites: { architectures: BOTH, iscsid: true },
    presence: [[crd('volumes.longhorn.io'), ds('longhorn-system', 'longhorn-manager'), ds('longhorn-system', 'longhorn-csi-plugin')]],
    namespaces: ['longhorn-system'],
  },
  istio: {
    title: 'Istio',
    area: 'mesh',
    docs: 'https://istio.io/latest/docs/setup/install/helm/',
    prerequisites: { architectures: BOTH },
    presence: [[crd('peerauthentications.security.istio.io'), dep('istio-system', 'istiod')]],
    namespaces: ['istio-system'],
  },
  linkerd: {
    title: 'Linkerd',
    area: 'mesh',
    docs: 'https://linkerd.io/2/tasks/install/',
    prerequisites: { architectures: BOTH },
    presence: [[crd('servers.policy.linkerd.io'), dep('linkerd', 'linkerd-destination'), dep('linkerd', 'linkerd-identity'), dep('linkerd', 'linkerd-proxy-injector')]],
    namespaces: ['linkerd'],
  },
  knative: {
    title: 'Knative Serving (Kourier)',
    area: 'serverless',
    docs: 'https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/',
    prerequisites: { architectures: BOTH },
    presence: [
      [
        crd('services.serving.knative.dev'),
        dep('knative-serving', 'activator'),
        dep('knative-serving', 'autoscaler'),
        dep('knative-serving', 'controller'),
        dep('knative-serving', 'webhook'),
        dep('kourier-system', '3scale-kourier-gateway'),
      ],
    ],
    namespaces: ['knative-serving', 'kourier-system'],
  },
  openfaas: {
    title: 'OpenFaaS',
    area: 'serverless',
    docs: 'https://docs.openfaas.com/deployment/kubernetes/',
    prerequisites: { architectures: BOTH },
    presence: [[dep('openfaas', 'gateway'), dep('openfaas', 'queue-worker'), dep('openfaas', 'nats'), { kind: 'secret', namespace: 'openfaas', name: 'basic-auth' }]],
    namespaces: ['openfaas', 'openfaas-fn'],
  },
  kata: {
    title: 'Kata Containers',
    area: 'kata',
    docs: 'https://github.com/kata-containers/kata-containers/tree/main/tools/packaging/kata-deploy',
    prerequisites: { architectures: BOTH, kvm: true },
    presence: [[{ kind: 'runtime-class', anyOf: ['kata', 'kata-qemu', 'kata-clh', 'kata-fc'] }]],
    namespaces: ['kube-system'],
  },
  'strict-confinement': {
    title: 'MicroK8s strict confinement',
    area: 'strict',
    docs: 'https://microk8s.io/docs/strict-confinement',
    prerequisites: { microk8sSnap: true },
    presence: [[{ kind: 'snap-confinement', snap: 'microk8s', confinement: 'strict' }]],
    namespaces: ['kube-system'],
  },
};

export function addonSpec(name: AddonName): AddonSpec {
  return { name, ...SPECS[name] };
}

export function addonsOfArea(area: AddonArea): AddonSpec[] {
  return ADDON_NAMES.filter((name) => SPECS[name].area === area).map(addonSpec);
}

/** An addon name as the user typed it; unknown names are a UsageError that lists the valid ones. */
export function addonByName(text: string): AddonSpec {
  const name = text.trim();
  if ((ADDON_NAMES as readonly string[]).includes(name)) return addonSpec(name as AddonName);
  throw new UsageError(`Unknown addon "${name}"${didYouMean(name, ADDON_NAMES)}`, `valid addons: ${ADDON_NAMES.join(', ')}`);
}

export interface AddonRequest {
  addon: AddonSpec;
  args?: AddonArgs;
}

/**
 * `metallb:10.64.140.43-10.64.140.49` or `istio`, validated before anything
 * is installed: unknown names, arguments to an addon that takes none, and
 * malformed arguments are UsageErrors saying what is valid.
 */
export function parseAddonRequest(text: string): AddonRequest {
  const colon = text.indexOf(':');
  const addon = addonByName(colon < 0 ? text : text.slice(0, colon));
  const rawArgs = colon < 0 ? undefined : text.slice(colon + 1);
  if (!addon.args) {
    if (rawArgs !== undefined) throw new UsageError(`Addon "${addon.name}" takes no arguments (got "${rawArgs}")`, `write just ${addon.name}`);
    return { addon };
  }
  if (rawArgs === undefined || rawArgs.trim() === '') {
    if (addon.args.required) throw new UsageError(`Addon "${addon.name}" needs ${addon.args.describe}`, `write e.g. ${addon.args.example}`);
    return { addon };
  }
  return { addon, args: addon.args.parse(rawArgs) };
}
