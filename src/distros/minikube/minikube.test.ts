import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { renderStep } from '../plan.js';
import { MinikubeDistribution } from './minikube-distribution.js';
import { inspectNodesCommand, parseInspectNodes } from './node-container.js';
import { parseMinikubeStatus } from './parsers.js';
import {
  addonEnablePlan,
  defaultDriver,
  installPlan,
  kubeconfigPlan,
  minikubeAirgapFiles,
  minikubeFootprint,
  minikubeSources,
  nodeNamesFor,
  parseMinikubeVersion,
  startPlan,
  statusPlan,
  validateMinikube,
} from './plans.js';

const sample = (name: string) => readFileSync(fixturePath('samples', 'minikube', name), 'utf8');
const v136 = parseMinikubeVersion('v1.36.0');

describe('minikube versions, drivers and topologies', () => {
  it('picks none for one node and docker for several', () => {
    expect(defaultDriver({ controlPlanes: 1, workers: 0 })).toBe('none');
    expect(defaultDriver({ controlPlanes: 1, workers: 1 })).toBe('docker');
    expect(defaultDriver({ controlPlanes: 3, workers: 0 })).toBe('docker');
  });

  it('refuses what a version, driver or arch cannot do, before boot', () => {
    expect(() => validateMinikube(parseMinikubeVersion('v1.16.0'), 'arm64', 'docker', { controlPlanes: 1, workers: 0 })).toThrow(/no docker driver for arm64 \(it arrived in v1\.17\.0\)/);
    expect(() => validateMinikube(parseMinikubeVersion('v1.16.0'), 'amd64', 'docker', { controlPlanes: 1, workers: 0 })).not.toThrow();
    expect(() => validateMinikube(parseMinikubeVersion('v1.32.0'), 'arm64', 'docker', { controlPlanes: 3, workers: 0 })).toThrow(/no --ha/);
    expect(() => validateMinikube(v136, 'arm64', 'none', { controlPlanes: 1, workers: 1 })).toThrow(/none driver runs one node/);
    expect(() => validateMinikube(v136, 'arm64', 'docker', { controlPlanes: 2, workers: 0 })).toThrow(/2 is not a minikube topology/);
    expect(() => parseMinikubeVersion('1.36.0')).toThrow(UsageError);
    expect(() => new MinikubeDistribution({ channel: '1.30/stable' })).toThrow(/--version, not --channel/);
  });

  it('names the release binary, the sources a start reaches, and the air-gap files', () => {
    expect(minikubeSources(v136, 'arm64', 'docker').map((s) => s.url)).toEqual([
      'https://storage.googleapis.com/minikube/releases/v1.36.0/minikube-linux-arm64',
      'https://gcr.io/v2/',
      'https://storage.googleapis.com/minikube-preloaded-volume-tarballs/',
    ]);
    expect(minikubeSources(v136, 'amd64', 'none')[1]!.url).toBe('https://dl.k8s.io/');
    const files = minikubeAirgapFiles(v136, 'arm64');
    expect(files[0]!.pattern.test('minikube-linux-arm64')).toBe(true);
    expect(files[0]!.pattern.test('minikube-linux-amd64')).toBe(false);
    expect(files[1]!.pattern.test('minikube-cache.tar.gz')).toBe(true);
  });
});

describe('minikube plans', () => {
  it('installs the binary online or from the air-gap binary and cache', () => {
    expect(installPlan(v136, 'arm64').map(renderStep)).toEqual([
      'curl -fsSLo /usr/local/bin/minikube https://storage.googleapis.com/minikube/releases/v1.36.0/minikube-linux-arm64 && chmod 0755 /usr/local/bin/minikube',
    ]);
    const offline = installPlan(v136, 'arm64', { binary: '/ag/minikube-linux-arm64', cache: '/ag/minikube-cache.tar.gz' });
    expect(offline[0]!.uploads?.map((u) => u.path)).toEqual(['/usr/local/bin/minikube', '/var/tmp/edgeproof-airgap/minikube-cache.tar.gz']);
    expect(renderStep(offline[1]!)).toBe("'tar' '-xf' '/var/tmp/edgeproof-airgap/minikube-cache.tar.gz' '-C' '/root/.minikube'");
  });

  it('starts one node with the none driver (no profile), several with docker, HA with --ha then node add', () => {
    expect(startPlan({ profile: 'minikube', driver: 'none', topology: { controlPlanes: 1, workers: 0 }, nodeAddress: '10.0.2.15' }).map(renderStep)).toEqual([
      "'minikube' 'start' '--driver=none' '--container-runtime=containerd' '--apiserver-ips=10.0.2.15' '--wait=all'",
    ]);
    expect(startPlan({ profile: 'ep-x', driver: 'docker', topology: { controlPlanes: 1, workers: 2 }, nodeAddress: '192.168.1.50' }).map(renderStep)).toEqual([
      "'minikube' 'start' '-p' 'ep-x' '--driver=docker' '--force' '--listen-address=0.0.0.0' '--ports=8443:8443' '--nodes=3' '--container-runtime=containerd' '--apiserver-ips=192.168.1.50' '--wait=all'",
    ]);
    const ha = startPlan({ profile: 'ep-x', driver: 'docker', topology: { controlPlanes: 5, workers: 1 }, nodeAddress: '192.168.1.50', harnessHosts: ['pi.lan', '203.0.113.9'] }).map(renderStep);
    expect(ha[0]).toContain("'--ha'");
    expect(ha[0]).toContain("'--apiserver-ips=192.168.1.50' '--apiserver-ips=203.0.113.9' '--apiserver-names=pi.lan'");
    expect(ha.slice(1)).toEqual([
      "'minikube' 'node' 'add' '-p' 'ep-x' '--control-plane'",
      "'minikube' 'node' 'add' '-p' 'ep-x' '--control-plane'",
      "'minikube' 'node' 'add' '-p' 'ep-x'",
    ]);
    expect(nodeNamesFor('ep-x', { controlPlanes: 3, workers: 1 })).toEqual(['ep-x', 'ep-x-m02', 'ep-x-m03', 'ep-x-m04']);
  });

  it('reads status as JSON whatever its exit code, enables addons, reads the kubeconfig after update-context', () => {
    expect(renderStep(statusPlan('ep-x'))).toBe('minikube -p ep-x status -o json; true');
    expect(addonEnablePlan('ep-x', [{ name: 'metallb' }]).map(renderStep)).toEqual(["'minikube' '-p' 'ep-x' 'addons' 'enable' 'metallb'"]);
    expect(() => addonEnablePlan('ep-x', [{ name: 'metallb', args: '10.0.0.1-10.0.0.9' }])).toThrow(expect.objectContaining({ hint: 'configure it with `minikube addons configure metallb` first' }));
    expect(kubeconfigPlan('ep-x').map(renderStep)).toEqual(["'minikube' '-p' 'ep-x' 'update-context'", "'cat' '/root/.kube/config'"]);
  });

  it('measures the board services (none) or the node container (docker)', () => {
    expect(minikubeFootprint('none', 'control-plane').cgroupPaths).toEqual(['system.slice/kubelet.service', 'system.slice/containerd.service', 'kubepods.slice', 'kubepods']);
    expect(minikubeFootprint('docker', 'worker')).toMatchObject({ cgroupPaths: [''], processNames: ['kubelet', 'kube-proxy', 'containerd'] });
  });

  it('finds the node containers and their addresses', () => {
    expect(inspectNodesCommand(['ep-x', 'ep-x-m02'])).toBe("docker inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' 'ep-x' 'ep-x-m02'");
    expect(parseInspectNodes('/ep-x 192.168.49.2 \n/ep-x-m02 192.168.49.3 \n')).toEqual(new Map([['ep-x', '192.168.49.2'], ['ep-x-m02', '192.168.49.3']]));
  });
});

describe('`minikube status -o json` (samples from the docs and minikube\'s status code)', () => {
  it('reads the single-node object', () => {
    expect(parseMinikubeStatus(sample('status-single.json'))).toEqual([
      { name: 'minikube', host: 'Running', kubelet: 'Running', apiServer: 'Running', kubeconfig: 'Configured', worker: false, healthy: true },
    ]);
  });

  it('reads the multi-node array: workers have no apiserver of their own', () => {
    const nodes = parseMinikubeStatus(sample('status-multinode.json'));
    expect(nodes.map((n) => [n.name, n.worker, n.healthy])).toEqual([
      ['multinode-demo', false, true],
      ['multinode-demo-m02', true, true],
    ]);
  });

  it('says which HA node is not healthy, and a stopped cluster is not healthy', () => {
    const ha = parseMinikubeStatus(sample('status-ha.json'));
    expect(ha.filter((n) => !n.worker).map((n) => n.healthy)).toEqual([true, true, true]);
    expect(ha.find((n) => n.name === 'ha-demo-m04')).toMatchObject({ worker: true, kubelet: 'Stopped', healthy: false });
    expect(parseMinikubeStatus(sample('status-stopped.json'))[0]!.healthy).toBe(false);
  });

  it('refuses output that is not status JSON', () => {
    expect(() => parseMinikubeStatus('🤷  Profile "ep-x" not found. Run "minikube profile list" to view all profiles.')).toThrow(/printed no JSON/);
    expect(() => parseMinikubeStatus('{"Name":"minikube"}')).toThrow(/unexpected shape: Host/);
  });
});
