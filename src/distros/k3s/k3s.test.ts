import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { minify, parseKubeconfig, serverOf, withServer } from '../../cluster/kubeconfig.js';
import { displayStep, renderStep } from '../plan.js';
import { K3sDistribution, tlsSansFor, validateK3sTopology } from './k3s-distribution.js';
import { installPlan, k3sAirgapFiles, k3sFootprint, k3sSources, kubeconfigPlan, parseK3sVersion, type ServerOptions } from './plans.js';

const version = parseK3sVersion('v1.32.5+k3s1');
const TOKEN = 'c0ffee0123456789abcdef0123456789abcdef0123456789';
const base: ServerOptions = { version, token: TOKEN, nodeName: 'ep-1-cp-0', nodeIp: '10.0.2.15' };

describe('K3s versions', () => {
  it('reads the pinned version and refuses anything else before boot', () => {
    expect(version).toEqual({ text: 'v1.32.5+k3s1', kubernetes: '1.32.5' });
    expect(parseK3sVersion('v1.29.1-rc2+k3s1').kubernetes).toBe('1.29.1');
    for (const bad of ['1.32.5+k3s1', 'v1.32.5', 'v1.32+k3s1', 'latest']) expect(() => parseK3sVersion(bad), bad).toThrow(UsageError);
    expect(() => new K3sDistribution({ version: 'v1.32.5' })).toThrow(/Invalid K3s version "v1\.32\.5"/);
    expect(() => new K3sDistribution({ channel: 'stable' })).toThrow(/--version, not --channel/);
  });

  it('names the release assets per architecture, online and air-gapped', () => {
    expect(k3sSources(version, 'arm64').map((s) => s.url)).toEqual([
      'https://get.k3s.io',
      'https://github.com/k3s-io/k3s/releases/download/v1.32.5%2Bk3s1/k3s-arm64',
    ]);
    expect(k3sSources(version, 'amd64')[1]!.url).toMatch(/\/k3s$/);
    const files = k3sAirgapFiles(version, 'arm64');
    expect(files.map((f) => f.what)).toEqual(['k3s binary', 'air-gap images', 'install script']);
    expect(files[0]!.pattern.test('k3s-arm64')).toBe(true);
    expect(files[0]!.pattern.test('k3s')).toBe(false);
    for (const name of ['k3s-airgap-images-arm64.tar', 'k3s-airgap-images-arm64.tar.zst', 'k3s-airgap-images-arm64.tar.gz']) expect(files[1]!.pattern.test(name), name).toBe(true);
    expect(files[1]!.pattern.test('k3s-airgap-images-amd64.tar.zst')).toBe(false);
  });

  it('refuses an even number of embedded-etcd servers', () => {
    expect(() => validateK3sTopology({ controlPlanes: 2, workers: 1 })).toThrow(/odd number of servers/);
    expect(() => validateK3sTopology({ controlPlanes: 3, workers: 0 })).not.toThrow();
    expect(() => validateK3sTopology({ controlPlanes: 1, workers: 2 })).not.toThrow();
  });
});

describe('K3s plans', () => {
  it('installs the first HA server with --cluster-init through the install script, token kept out of the display', () => {
    const plan = installPlan('control-plane', { ...base, clusterInit: true, disable: ['servicelb', 'traefik'], tlsSans: ['pi-1.lan'], workloadImagesDir: '/opt/edgeproof/images' });
    expect(plan.map(renderStep)).toEqual([
      'mkdir -p /var/lib/rancher/k3s/agent/images && cp /opt/edgeproof/images/*.tar /var/lib/rancher/k3s/agent/images/',
      `export K3S_TOKEN='${TOKEN}'; export INSTALL_K3S_VERSION='v1.32.5+k3s1'; curl -sfL https://get.k3s.io | sh -s - server --cluster-init --node-name ep-1-cp-0 --node-ip 10.0.2.15 --tls-san pi-1.lan --disable servicelb --disable traefik`,
    ]);
    expect(displayStep(plan[1]!)).toContain("export K3S_TOKEN='<redacted>'");
    expect(displayStep(plan[1]!)).not.toContain(TOKEN);
  });

  it('joins further servers with --server and agents with K3S_URL', () => {
    const server = installPlan('control-plane', { ...base, nodeName: 'ep-1-cp-1', nodeIp: '10.0.0.12', serverUrl: 'https://10.0.0.11:6443' });
    expect(renderStep(server.at(-1)!)).toBe(
      `export K3S_TOKEN='${TOKEN}'; export INSTALL_K3S_VERSION='v1.32.5+k3s1'; curl -sfL https://get.k3s.io | sh -s - server --server https://10.0.0.11:6443 --node-name ep-1-cp-1 --node-ip 10.0.0.12`,
    );
    const agent = installPlan('worker', { ...base, nodeName: 'ep-1-w-0', nodeIp: '10.0.0.21', serverUrl: 'https://10.0.0.11:6443', disable: ['traefik'] });
    expect(renderStep(agent.at(-1)!)).toBe(
      `export K3S_TOKEN='${TOKEN}'; export K3S_URL='https://10.0.0.11:6443'; export INSTALL_K3S_VERSION='v1.32.5+k3s1'; curl -sfL https://get.k3s.io | sh -s - agent --node-name ep-1-w-0 --node-ip 10.0.0.21`,
    );
    expect(() => installPlan('worker', base)).toThrow(/server URL/);
  });

  it('installs air-gapped: binary, images tarball and script copied, INSTALL_K3S_SKIP_DOWNLOAD with INSTALL_K3S_EXEC', () => {
    const plan = installPlan('control-plane', { ...base, airgap: { binary: '/ag/k3s-arm64', images: '/ag/k3s-airgap-images-arm64.tar.zst', script: '/ag/install.sh' } });
    expect(plan[0]!.uploads).toEqual([
      { hostPath: '/ag/k3s-arm64', path: '/usr/local/bin/k3s', mode: 0o755 },
      { hostPath: '/ag/k3s-airgap-images-arm64.tar.zst', path: '/var/lib/rancher/k3s/agent/images/k3s-airgap-images-arm64.tar.zst', mode: 0o644 },
      { hostPath: '/ag/install.sh', path: '/var/tmp/edgeproof-airgap/install.sh', mode: 0o755 },
    ]);
    expect(renderStep(plan[1]!)).toBe(
      `export K3S_TOKEN='${TOKEN}'; export INSTALL_K3S_SKIP_DOWNLOAD='true'; export INSTALL_K3S_EXEC='server --node-name ep-1-cp-0 --node-ip 10.0.2.15'; sh /var/tmp/edgeproof-airgap/install.sh`,
    );
  });

  it('refuses unknown components and arguments the installer would split', () => {
    expect(() => installPlan('control-plane', { ...base, disable: ['ingress'] })).toThrow(/cannot disable "ingress"/);
    expect(() => installPlan('control-plane', { ...base, nodeName: 'a b' })).toThrow(UsageError);
  });

  it('reads k3s.yaml once written and measures the k3s service cgroup', () => {
    expect(renderStep(kubeconfigPlan(60))).toBe('i=0; while [ ! -s /etc/rancher/k3s/k3s.yaml ] && [ $i -lt 60 ]; do i=$((i+1)); sleep 1; done; cat /etc/rancher/k3s/k3s.yaml');
    expect(k3sFootprint('control-plane')).toMatchObject({ cgroupPaths: ['system.slice/k3s.service'], processNames: ['k3s-server', 'containerd', 'containerd-shim-runc-v2'] });
    expect(k3sFootprint('worker').cgroupPaths).toEqual(['system.slice/k3s-agent.service']);
  });

  it('adds a TLS SAN only where the harness reaches the apiserver by another name', () => {
    expect(tlsSansFor('127.0.0.1', '10.0.2.15')).toEqual([]);
    expect(tlsSansFor('10.0.0.11', '10.0.0.11')).toEqual([]);
    expect(tlsSansFor('192.168.1.50', '10.0.0.11')).toEqual(['192.168.1.50']);
  });
});

describe('the K3s kubeconfig (sample as K3s writes it)', () => {
  it('rewrites the 127.0.0.1 server to where the harness reaches the apiserver, credentials untouched', () => {
    const text = readFileSync(fixturePath('samples', 'k3s', 'k3s.yaml'), 'utf8');
    const doc = minify(parseKubeconfig(text, 'k3s.yaml'), 'k3s.yaml');
    expect(serverOf(doc)).toBe('https://127.0.0.1:6443');
    const rewritten = withServer(doc, 'https://127.0.0.1:40123');
    expect(serverOf(rewritten)).toBe('https://127.0.0.1:40123');
    expect(serverOf(doc)).toBe('https://127.0.0.1:6443');
    expect(rewritten.users[0]!.user['client-key-data']).toBe(doc.users[0]!.user['client-key-data']);
    expect(rewritten['current-context']).toBe('default');
  });
});
