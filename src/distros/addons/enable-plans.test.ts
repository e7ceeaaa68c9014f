import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { UsageError } from '../../core/errors.js';
import { parseAddonRequest } from '../../cluster/addons/catalog.js';
import { allPlans, assertPlannable, enablePlan, isPlan, metallbPoolManifest } from './enable-plans.js';
import { describeStep } from './install.js';

const pool = parseAddonRequest('metallb:10.64.140.43-10.64.140.49').args!;

describe('addon enable plans (as data)', () => {
  it('match the golden file for every distribution and addon', async () => {
    const plans = allPlans({ metallb: pool }).map((plan) => (isPlan(plan) ? { ...plan, steps: plan.steps.map((s) => ({ ...s, as: describeStep(s) })) } : plan));
    await expect(stringify(plans, { lineWidth: 0, aliasDuplicateObjects: false })).toMatchFileSnapshot('../../../fixtures/golden/addons/enable-plans.yaml');
  });

  it('MicroK8s enables MetalLB with its pool as the addon argument, community addons after the community repo', () => {
    const metallb = enablePlan({ distro: 'microk8s' }, parseAddonRequest('metallb:10.64.140.43-10.64.140.49,10.12.13.0/24'));
    expect(isPlan(metallb) && metallb.steps).toEqual([{ kind: 'node-command', on: 'first-control-plane', argv: ['microk8s', 'enable', 'metallb:10.64.140.43-10.64.140.49,10.12.13.0/24'] }]);
    const istio = enablePlan({ distro: 'microk8s' }, parseAddonRequest('istio'));
    expect(isPlan(istio) && istio.steps.map(describeStep)).toEqual(['on the first control plane: microk8s enable community', 'on the first control plane: microk8s enable istio']);
  });

  it('K3s: ServiceLB and Traefik are bundled; MetalLB goes through the manifests directory', () => {
    const servicelb = enablePlan({ distro: 'k3s' }, parseAddonRequest('servicelb'));
    expect(isPlan(servicelb) && servicelb.via).toBe('bundled');
    const metallb = enablePlan({ distro: 'k3s' }, { addon: parseAddonRequest('metallb:10.0.0.10-10.0.0.20').addon, args: parseAddonRequest('metallb:10.0.0.10-10.0.0.20').args! });
    expect(isPlan(metallb) && metallb.steps.map((s) => (s.kind === 'node-file' ? s.path : s.kind))).toEqual([
      '/var/lib/rancher/k3s/server/manifests/edgeproof-metallb.yaml',
      '/var/lib/rancher/k3s/server/manifests/edgeproof-metallb-pool.yaml',
    ]);
    expect(isPlan(metallb) && metallb.notes.join()).toMatch(/--disable servicelb/);
  });

  it('minikube answers `addons configure metallb` with the one range it takes, and rejects several', () => {
    const plan = enablePlan({ distro: 'minikube', minikubeProfile: 'ep' }, parseAddonRequest('metallb:192.168.49.100-192.168.49.120'));
    expect(isPlan(plan) && plan.steps[1]).toEqual({ kind: 'host-command', argv: ['minikube', 'addons', 'configure', 'metallb', '-p', 'ep'], input: '192.168.49.100\n192.168.49.120\n' });
    expect(() => enablePlan({ distro: 'minikube' }, parseAddonRequest('metallb:10.0.0.1-10.0.0.2,10.0.1.0/24'))).toThrow(UsageError);
  });

  it('an addon a distribution cannot have is a reason, never a plan', () => {
    const strict = enablePlan({ distro: 'upstream' }, parseAddonRequest('strict-confinement'));
    expect(isPlan(strict)).toBe(false);
    expect(() => enablePlan({ distro: 'rke2' }, parseAddonRequest('istio'))).toThrow(/No addon plans for distribution "rke2"/);
  });

  it('writes the MetalLB pool as an IPAddressPool with its L2Advertisement', () => {
    expect(metallbPoolManifest(pool)).toContain('kind: IPAddressPool');
    expect(metallbPoolManifest(pool)).toContain('- 10.64.140.43-10.64.140.49');
    expect(metallbPoolManifest(pool)).toContain('kind: L2Advertisement');
  });
});

describe('requested addons against the distribution, before anything starts', () => {
  it('an addon the distribution cannot have is a usage error listing what it can enable', () => {
    const attempt = () => assertPlannable({ distro: 'microk8s' }, [parseAddonRequest('istio'), parseAddonRequest('servicelb')]);
    expect(attempt).toThrow(/^Addon "servicelb" is not available on microk8s: ServiceLB is K3s' own load balancer/);
    expect(attempt).toThrow(expect.objectContaining({ hint: expect.stringMatching(/^addons microk8s can enable: metallb, ingress-nginx, traefik, .*kata$/) }));
  });

  it('returns the plans when every request can be met', () => {
    const plans = assertPlannable({ distro: 'k3s' }, [parseAddonRequest('servicelb'), parseAddonRequest('longhorn')]);
    expect(plans.map((p) => `${p.addon}:${p.via}`)).toEqual(['servicelb:bundled', 'longhorn:manifests']);
  });
});
