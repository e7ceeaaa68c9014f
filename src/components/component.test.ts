import { describe, expect, it } from 'vitest';
import { exitCodeForError } from '../core/exit-codes.js';
import { distroComponents, expandVersion, findComponent, parseCatalog, selectedPackages, withVersion } from './component.js';

describe('the component catalog (fixtures/components.json)', () => {
  it('pins the upstream baseline', () => {
    const pins = Object.fromEntries(distroComponents('upstream').components.map((c) => [c.name, `${c.module}@${c.version}`]));
    expect(pins).toEqual({
      kubernetes: 'k8s.io/kubernetes@v1.35.4',
      etcd: 'go.etcd.io/etcd/v3@v3.6.8',
      containerd: 'github.com/containerd/containerd/v2@v2.2.10',
      runc: 'github.com/opencontainers/runc@v1.3.7',
      'cni-plugins': 'github.com/containernetworking/plugins@v1.8.0',
    });
  });

  it('builds kubectl and kubeadm only when asked', () => {
    const kubernetes = findComponent('kubernetes');
    expect(Object.keys(selectedPackages(kubernetes))).toEqual(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy']);
    expect(Object.keys(selectedPackages(kubernetes, ['kubectl']))).toContain('kubectl');
    expect(() => selectedPackages(kubernetes, ['kubectx'])).toThrow(/no optional package kubectx/);
  });

  it('expands version placeholders in ldflags and replaces', () => {
    expect(expandVersion('-X v.gitVersion={version} -X v.gitMinor={minor}', 'v1.35.4')).toBe('-X v.gitVersion=v1.35.4 -X v.gitMinor=35');
    expect(expandVersion('v0.{minor}.{patch}', 'v1.35.4')).toBe('v0.35.4');
    expect(expandVersion('-X main.version={semver}', 'v1.3.7')).toBe('-X main.version=1.3.7');
  });

  it('unknown names and versions are usage errors (exit 2)', () => {
    for (const bad of [() => findComponent('kubernets'), () => distroComponents('k3s'), () => withVersion(findComponent('runc'), 'main')]) {
      let thrown: unknown;
      try {
        bad();
      } catch (error) {
        thrown = error;
      }
      expect(exitCodeForError(thrown)).toBe(2);
    }
    expect(() => findComponent('kubernets')).toThrow('Unknown component "kubernets" (did you mean "kubernetes"?)');
    expect(withVersion(findComponent('runc'), 'v1.3.8-0.20261201000000-0123456789ab').version).toBe('v1.3.8-0.20261201000000-0123456789ab');
  });

  it('rejects a catalog whose distro names a component it lacks', () => {
    const raw = { goMinimum: '1.25.0', components: {}, distros: { upstream: { components: ['kubernetes'], debian: {} } } };
    expect(() => parseCatalog(raw)).toThrow('distro upstream names unknown components: kubernetes');
  });
});
