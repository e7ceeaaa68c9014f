import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { distributionByName } from '../registry.js';
import type { UpstreamDistribution } from './upstream-distribution.js';

const upstream = (options: { version?: string; sources?: string[] }) => distributionByName('upstream', options) as UpstreamDistribution;
const versionOf = (d: UpstreamDistribution, name: string) => d.components.find((c) => c.name === name)?.version;

describe('--version and --source choose what upstream builds', () => {
  it('builds the catalog pins by default', () => {
    const d = upstream({});
    expect(d.version).toBe('v1.35.4');
    expect(versionOf(d, 'etcd')).toBe('v3.6.8');
  });

  it('--version is the k8s.io/kubernetes tag; --source takes a module (or a component name) at a tag or pseudo-version', () => {
    const d = upstream({ version: 'v1.35.3', sources: ['go.etcd.io/etcd/v3@v3.6.7', 'runc@v1.3.6', 'github.com/containerd/containerd/v2@v2.2.11-0.20261201000000-abcdef123456'] });
    expect(d.version).toBe('v1.35.3');
    expect(versionOf(d, 'kubernetes')).toBe('v1.35.3');
    expect(versionOf(d, 'etcd')).toBe('v3.6.7');
    expect(versionOf(d, 'runc')).toBe('v1.3.6');
    expect(versionOf(d, 'containerd')).toBe('v2.2.11-0.20261201000000-abcdef123456');
    expect(versionOf(d, 'cni-plugins')).toBe('v1.8.0');
  });

  it.each([
    [{ sources: ['example.com/nope@v1.0.0'] }, /no component of this distribution is built from "example.com\/nope"/],
    [{ sources: ['go.etcd.io/etcd/v3'] }, /names no version/],
    [{ sources: ['go.etcd.io/etcd/v3@main'] }, /"main" is not a Go module version/],
    [{ version: '1.35.3' }, /"1.35.3" is not a Go module version for k8s.io\/kubernetes/],
    [{ version: 'v1.35.3', sources: ['k8s.io/kubernetes@v1.35.2'] }, /names k8s.io\/kubernetes twice/],
  ])('refuses %j with a usage error', (options, message) => {
    expect(() => upstream(options)).toThrow(UsageError);
    expect(() => upstream(options)).toThrow(message);
  });

  it('is refused for distributions that install their vendors\' artifacts', () => {
    for (const name of ['k3s', 'microk8s', 'minikube']) {
      expect(() => distributionByName(name, { sources: ['k8s.io/kubernetes@v1.35.4'] })).toThrow(/--source applies to --distro upstream/);
    }
  });
});
