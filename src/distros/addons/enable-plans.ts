import { stringify } from 'yaml';
import { UsageError } from '../../core/errors.js';
import pins from '../../../fixtures/addon-versions.json' with { type: 'json' };
import { numberToIpv4 } from '../../cluster/addons/ip-ranges.js';
import type { EnablePlan, EnableStep } from '../../cluster/addons/installer.js';
import { ADDON_NAMES, EDGEPROOF_POOL, addonSpec, type AddonArgs, type AddonName, type AddonRequest } from '../../cluster/addons/catalog.js';

/** Why a distribution cannot provide an addon at all (the suite reports it as skipped). */
export interface NoPlan {
  distro: string;
  addon: AddonName;
  reason: string;
}

export interface PlanTarget {
  distro: string;
  /** minikube's profile (-p); the driver names it. */
  minikubeProfile?: string;
}

export const PLAN_DISTROS = ['microk8s', 'k3s', 'minikube', 'upstream'] as const;

const K3S_MANIFESTS = '/var/lib/rancher/k3s/server/manifests';

/**
 * The plan for `request` on `target.distro`: the distribution's own way when it
 * has one, else the generic manifests/Helm plan every conformant cluster takes.
 * Arguments the distribution would reject are a UsageError here, before anything runs.
 */
export function enablePlan(target: PlanTarget, request: AddonRequest): EnablePlan | NoPlan {
  const { distro } = target;
  if (!(PLAN_DISTROS as readonly string[]).includes(distro)) {
    throw new UsageError(`No addon plans for distribution "${distro}"`, `addon plans exist for: ${PLAN_DISTROS.join(', ')}`);
  }
  const own = distro === 'microk8s' ? microk8sPlan(request) : distro === 'k3s' ? k3sPlan(request) : distro === 'minikube' ? minikubePlan(target, request) : undefined;
  if (own) return { distro, ...own };
  return { distro, ...genericPlan(request, distro) };
}

export function isPlan(plan: EnablePlan | NoPlan): plan is EnablePlan {
  return 'steps' in plan;
}

type DistroPlan = Omit<EnablePlan, 'distro'> | Omit<NoPlan, 'distro'>;

// MicroK8s: https://microk8s.io/docs/addons (core: ingress, metallb, mayastor; community: the rest, after `enable community`).
function microk8sPlan({ addon, args }: AddonRequest): DistroPlan | undefined {
  const enable = (...names: string[]) => names.map((name) => ({ kind: 'node-command' as const, on: 'first-control-plane' as const, argv: ['microk8s', 'enable', name] }));
  const docs = (page: string) => `https://microk8s.io/docs/${page}`;
  const base = { via: 'distribution addon' as const, notes: [] as string[] };
  switch (addon.name) {
    case 'metallb':
      return { ...base, addon: addon.name, steps: enable(`metallb:${poolText(args)}`), docs: docs('addon-metallb') };
    case 'ingress-nginx':
      return { ...base, addon: addon.name, steps: enable('ingress'), docs: docs('addon-ingress') };
    case 'openebs-mayastor':
      return { ...base, addon: addon.name, steps: enable('core/mayastor'), docs: docs('addon-mayastor'), notes: ['every node needs 1024 huge pages and the nvme_tcp module before enabling'] };
    case 'openebs-jiva':
      return { ...base, addon: addon.name, steps: enable('community', 'openebs'), docs: docs('addon-openebs'), notes: ['iscsid must run on every node (open-iscsi)'] };
    case 'traefik':
    case 'istio':
    case 'linkerd':
    case 'knative':
    case 'openfaas':
    case 'kata':
      return { ...base, addon: addon.name, steps: enable('community', addon.name), docs: docs('addons') };
    case 'strict-confinement':
      return { addon: addon.name, reason: 'strict confinement is chosen at install time (snap install microk8s --channel=<version>-strict), a driver option, not an addon' };
    case 'servicelb':
      return { addon: addon.name, reason: 'ServiceLB is K3s\' own load balancer; MicroK8s uses metallb' };
    default:
      return undefined;
  }
}

// K3s: bundled components (https://docs.k3s.io/networking/networking-services) and the
// manifests directory with HelmChart resources (https://docs.k3s.io/helm#automatically-deploying-manifests-and-helm-charts).
function k3sPlan({ addon, args }: AddonRequest): DistroPlan | undefined {
  switch (addon.name) {
    case 'servicelb':
    case 'traefik':
      return {
        addon: addon.name,
        via: 'bundled',
        steps: [],
        docs: 'https://docs.k3s.io/networking/networking-services',
        notes: [`bundled with every K3s server; it is absent only when a server runs with --disable ${addon.name}`],
      };
    case 'metallb':
      return {
        addon: addon.name,
        via: 'helm',
        steps: [
          k3sHelmChart('metallb', pins.metallb.helmRepo, pins.metallb.chart, pins.metallb.version.replace(/^v/, ''), 'metallb-system'),
          { kind: 'node-file', on: 'every-control-plane', path: `${K3S_MANIFESTS}/edgeproof-metallb-pool.yaml`, content: metallbPoolManifest(args) },
        ],
        docs: 'https://metallb.universe.tf/installation/#installation-with-helm',
        notes: ['K3s must run with --disable servicelb, or ServiceLB and MetalLB both answer for LoadBalancer Services'],
      };
    case 'strict-confinement':
      return { addon: addon.name, reason: 'strict confinement is a MicroK8s snap property; K3s has none' };
    default:
      return undefined;
  }
}

// minikube: https://minikube.sigs.k8s.io/docs/handbook/addons/ (metallb: `addons configure` asks for a start and an end address).
function minikubePlan(target: PlanTarget, { addon, args }: AddonRequest): DistroPlan | undefined {
  const profile = target.minikubeProfile ? ['-p', target.minikubeProfile] : [];
  const enable = (name: string) => ({ kind: 'host-command' as const, argv: ['minikube', 'addons', 'enable', name, ...profile] });
  const base = { via: 'distribution addon' as const, notes: [] as string[] };
  switch (addon.name) {
    case 'metallb': {
      const blocks = args?.blocks ?? [];
      if (blocks.length !== 1) throw new UsageError(`minikube's metallb addon takes one start-end range (got ${blocks.length || 'none'})`, 'write e.g. metallb:192.168.49.100-192.168.49.120');
      const range = `${numberToIpv4(blocks[0]!.first)}\n${numberToIpv4(blocks[0]!.last)}\n`;
      return {
        ...base,
        addon: addon.name,
        steps: [enable('metallb'), { kind: 'host-command', argv: ['minikube', 'addons', 'configure', 'metallb', ...profile], input: range }],
        docs: 'https://minikube.sigs.k8s.io/docs/handbook/addons/',
      };
    }
    case 'ingress-nginx':
      return { ...base, addon: addon.name, steps: [enable('ingress')], docs: 'https://kubernetes.io/docs/tasks/access-application-cluster/ingress-minikube/' };
    case 'istio':
      return { ...base, addon: addon.name, steps: [enable('istio-provisioner'), enable('istio')], docs: 'https://minikube.sigs.k8s.io/docs/handbook/addons/istio/' };
    case 'servicelb':
    case 'strict-confinement':
      return { addon: addon.name, reason: `${addon.title} belongs to another distribution` };
    default:
      return undefined;
  }
}

/** Manifests and Helm charts from each project's docs: what any conformant cluster (upstream here) takes. */
function genericPlan({ addon, args }: AddonRequest, distro: string): DistroPlan {
  const apply = (...urls: string[]) => urls.map((url) => ({ kind: 'kubectl-apply' as const, url }));
  switch (addon.name) {
    case 'metallb':
      return {
        addon: addon.name,
        via: 'manifests',
        steps: [...apply(pins.metallb.manifest), { kind: 'kubectl-apply-inline', manifest: metallbPoolManifest(args), what: 'MetalLB IPAddressPool and L2Advertisement' }],
        docs: 'https://metallb.universe.tf/installation/#installation-by-manifest',
        notes: [],
      };
    case 'ingress-nginx':
      return { addon: addon.name, via: 'manifests', steps: apply(pins['ingress-nginx'].manifest), docs: 'https://kubernetes.github.io/ingress-nginx/deploy/baremetal/', notes: ['the bare-metal manifest exposes the controller on a NodePort'] };
    case 'traefik':
      return { addon: addon.name, via: 'helm', steps: [helm('traefik', pins.traefik.helmRepo, pins.traefik.chart, pins.traefik.version, 'traefik')], docs: 'https://doc.traefik.io/traefik/getting-started/install-traefik/#use-the-helm-chart', notes: [] };
    case 'openebs-jiva':
      return { addon: addon.name, via: 'helm', steps: [helm('openebs-jiva', pins['openebs-jiva'].helmRepo, pins['openebs-jiva'].chart, pins['openebs-jiva'].version, 'openebs')], docs: 'https://openebs.github.io/jiva-operator/', notes: ['iscsid must run on every node (open-iscsi)'] };
    case 'openebs-mayastor':
      return { addon: addon.name, via: 'helm', steps: [helm('mayastor', pins['openebs-mayastor'].helmRepo, pins['openebs-mayastor'].chart, pins['openebs-mayastor'].version, 'mayastor')], docs: 'https://openebs.io/docs/user-guides/replicated-storage-user-guide/replicated-pv-mayastor/rs-installation', notes: [] };
    case 'longhorn':
      return { addon: addon.name, via: 'manifests', steps: apply(pins.longhorn.manifest), docs: 'https://longhorn.io/docs/latest/deploy/install/install-with-kubectl/', notes: ['open-iscsi (iscsid) on every node'] };
    case 'istio': {
      const repo = pins.istio.helmRepo;
      return {
        addon: addon.name,
        via: 'helm',
        steps: [helm('istio-base', repo, 'base', pins.istio.version, 'istio-system'), helm('istiod', repo, 'istiod', pins.istio.version, 'istio-system'), helm('istio-ingressgateway', repo, 'gateway', pins.istio.version, 'istio-system')],
        docs: 'https://istio.io/latest/docs/setup/install/helm/',
        notes: [],
      };
    }
    case 'linkerd':
      return {
        addon: addon.name,
        via: 'cli',
        steps: [
          { kind: 'host-command', argv: ['linkerd', 'install', '--crds'], pipeToKubectlApply: true },
          { kind: 'host-command', argv: ['linkerd', 'install'], pipeToKubectlApply: true },
        ],
        docs: 'https://linkerd.io/2/tasks/install/',
        notes: [`the linkerd CLI (${pins.linkerd.version}) must be on the host's PATH`],
      };
    case 'knative':
      return {
        addon: addon.name,
        via: 'manifests',
        steps: [
          ...apply(...pins.knative.manifests),
          { kind: 'kubectl-apply-inline', manifest: knativeKourierConfig(), what: 'Knative config-network: Kourier as the ingress class' },
        ],
        docs: 'https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/',
        notes: [],
      };
    case 'openfaas':
      return {
        addon: addon.name,
        via: 'helm',
        steps: [helm('openfaas', pins.openfaas.helmRepo, pins.openfaas.chart, pins.openfaas.version, 'openfaas', { functionNamespace: 'openfaas-fn', generateBasicAuth: true })],
        docs: 'https://github.com/openfaas/faas-netes/tree/master/chart/openfaas',
        notes: ['the chart needs the openfaas-fn namespace to exist'],
      };
    case 'kata':
      return { addon: addon.name, via: 'manifests', steps: apply(...pins.kata.manifests), docs: 'https://github.com/kata-containers/kata-containers/tree/main/tools/packaging/kata-deploy', notes: ['needs a usable /dev/kvm on every node'] };
    case 'servicelb':
    case 'strict-confinement':
      return { addon: addon.name, reason: `${addon.title} belongs to another distribution than ${distro}` };
  }
}

function helm(release: string, repo: string, chart: string, version: string, namespace: string, values?: Record<string, unknown>): EnableStep {
  return { kind: 'helm', release, repo, chart, version, namespace, ...(values ? { values } : {}) };
}

function k3sHelmChart(name: string, repo: string, chart: string, version: string, namespace: string): EnableStep {
  const manifest = {
    apiVersion: 'helm.cattle.io/v1',
    kind: 'HelmChart',
    metadata: { name, namespace: 'kube-system' },
    spec: { repo, chart, version, targetNamespace: namespace, createNamespace: true },
  };
  return { kind: 'node-file', on: 'every-control-plane', path: `${K3S_MANIFESTS}/edgeproof-${name}.yaml`, content: stringify(manifest) };
}

function poolText(args: AddonArgs | undefined): string {
  if (!args) throw new UsageError('metallb needs an address pool', 'write e.g. metallb:10.64.140.43-10.64.140.49');
  return args.text;
}

/** IPAddressPool + L2Advertisement (MetalLB >= 0.13, https://metallb.universe.tf/configuration/#layer-2-configuration). */
export function metallbPoolManifest(args: AddonArgs | undefined): string {
  const addresses = poolText(args).split(',').map((s) => s.trim());
  const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: EDGEPROOF_POOL, namespace: 'metallb-system' }, spec: { addresses } };
  const l2 = { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: EDGEPROOF_POOL, namespace: 'metallb-system' }, spec: { ipAddressPools: [EDGEPROOF_POOL] } };
  return `${stringify(pool)}---\n${stringify(l2)}`;
}

// https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/#install-a-networking-layer (Kourier tab).
function knativeKourierConfig(): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config-network', namespace: 'knative-serving' },
    data: { 'ingress-class': 'kourier.ingress.networking.knative.dev' },
  });
}

/** Every (distro, addon) plan, for the golden file and the docs. */
export function allPlans(sampleArgs: Partial<Record<AddonName, AddonArgs>>): (EnablePlan | NoPlan)[] {
  return PLAN_DISTROS.flatMap((distro) =>
    ADDON_NAMES.map((name) => {
      try {
        return enablePlan({ distro, minikubeProfile: 'edgeproof' }, { addon: addonSpec(name), ...(sampleArgs[name] ? { args: sampleArgs[name] } : {}) });
      } catch (error) {
        return { distro, addon: name, reason: (error as Error).message };
      }
    }),
  );
}

/** Addons `target.distro` can enable (its own way or the generic one). */
export function plannableAddons(target: PlanTarget): AddonName[] {
  return ADDON_NAMES.filter((name) => {
    const spec = addonSpec(name);
    if (spec.args?.required) return true;
    try {
      return isPlan(enablePlan(target, { addon: spec }));
    } catch {
      return true;
    }
  });
}

/**
 * Checks every requested addon against the distribution before anything
 * starts: an addon it cannot have, or arguments it rejects, is a UsageError
 * that lists the addons this distribution can enable.
 */
export function assertPlannable(target: PlanTarget, requests: readonly AddonRequest[]): EnablePlan[] {
  return requests.map((request) => {
    const plan = enablePlan(target, request);
    if (!isPlan(plan)) {
      throw new UsageError(`Addon "${request.addon.name}" is not available on ${target.distro}: ${plan.reason}`, `addons ${target.distro} can enable: ${plannableAddons(target).join(', ')}`);
    }
    return plan;
  });
}
