import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cniConfig, controlPlaneServices, kubeconfigYaml, kubeletConfig, nodeServices, superviseCommand, type NodeNetwork } from './node-config.js';

const net: NodeNetwork = {
  nodeName: 'ep-1234abcd-cp-0',
  nodeIp: '10.0.2.15',
  podCidr: '10.244.0.0/24',
  clusterCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  apiServerUrl: 'https://127.0.0.1:6443',
};

describe('upstream node configuration', () => {
  it('starts etcd with the arm64 override only on arm64, bound to loopback', () => {
    const [arm] = controlPlaneServices(net, 'arm64');
    const [amd] = controlPlaneServices(net, 'amd64');
    expect(arm!.env).toEqual({ ETCD_UNSUPPORTED_ARCH: 'arm64' });
    expect(amd!.env).toEqual({});
    expect(arm!.command).toContain('--listen-client-urls=http://127.0.0.1:2379');
  });

  it('gives the apiserver the service range, RBAC and the node IP', () => {
    const apiserver = controlPlaneServices(net, 'arm64').find((s) => s.name === 'kube-apiserver')!;
    expect(apiserver.command).toEqual(expect.arrayContaining(['--service-cluster-ip-range=10.96.0.0/12', '--authorization-mode=Node,RBAC', '--advertise-address=10.0.2.15']));
  });

  it('runs kubelet against containerd with the node name and IP', () => {
    const kubelet = nodeServices(net).find((s) => s.name === 'kubelet')!;
    expect(kubelet.command).toEqual(expect.arrayContaining(['--container-runtime-endpoint=unix:///run/containerd/containerd.sock', '--node-ip=10.0.2.15', '--hostname-override=ep-1234abcd-cp-0']));
    expect(parse(kubeletConfig(net))).toMatchObject({ kind: 'KubeletConfiguration', cgroupDriver: 'cgroupfs', authentication: { anonymous: { enabled: false } } });
  });

  it('uses a bridge CNI with the node pod CIDR and hairpin mode', () => {
    const config = JSON.parse(cniConfig(net.podCidr));
    expect(config.plugins[0]).toMatchObject({ type: 'bridge', hairpinMode: true, ipam: { ranges: [[{ subnet: '10.244.0.0/24' }]] } });
  });

  it('quotes every argument of a supervised command and detaches it', () => {
    const line = superviseCommand({ name: 'x', command: ['/bin/echo', "it's"], env: { A: 'b c' } });
    expect(line).toBe(`setsid -f ep-supervise 'x' edgeproof.services -- 'env' 'A='\\''b c'\\''' '/bin/echo' 'it'\\''s' </dev/null >/dev/null 2>&1`);
  });

  it('embeds credentials in a kubeconfig as base64', () => {
    const doc = parse(kubeconfigYaml({ server: 'https://127.0.0.1:1', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', user: 'u' }));
    expect(doc.clusters[0].cluster['certificate-authority-data']).toBe(Buffer.from('CA').toString('base64'));
    expect(doc.users[0].user['client-key-data']).toBe(Buffer.from('KEY').toString('base64'));
  });
});
