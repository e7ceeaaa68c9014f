import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { UsageError } from '../core/errors.js';
import { parseAddonSuiteList, parseAddonRequests, ADDON_SUITE_NAMES } from './addon-suites.js';
import { ADDON_SUITES, SUITES } from './registry.js';
import { mirrorList, suiteImages } from './addons/images.js';
import { k3sDisabled } from './addons/presence.js';
import { hostIngress, ingressHost } from './ingress.js';
import { kataPod } from './kata.js';
import { announcingNode, loadBalancerService } from './lb.js';
import { istioGatewayObjects } from './mesh.js';
import { requestPod } from './probe-pods.js';
import { helloKsvc } from './serverless.js';
import { claim, dataPod, parseDataLog } from './storage.js';
import { localPersistentVolume, localStorageClass, pinnedNodes, replicatedStorageClass } from './storage-engines.js';
import { compareVerdicts, STRICT_SKIP_PREFIXES } from './strict.js';

const IMAGE = 'edgeproof.local/busybox:1.35';

describe('addon suite names and addon requests', () => {
  it('validates suite names, lists the valid ones, and runs strict last', () => {
    expect(parseAddonSuiteList('strict, lb,storage,lb,mesh,serverless,kata')).toEqual(['lb', 'storage', 'mesh', 'serverless', 'kata', 'strict']);
    expect(() => parseAddonSuiteList('lb,storag')).toThrow(/Unknown addon suite "storag" \(did you mean "storage"\?\)/);
    expect(() => parseAddonSuiteList(' , ')).toThrow(UsageError);
    expect(Object.keys(ADDON_SUITES)).toEqual([...ADDON_SUITE_NAMES]);
    for (const name of ADDON_SUITE_NAMES) expect(SUITES[name]).toBe(ADDON_SUITES[name]);
  });

  it('validates every requested addon before anything starts, and refuses duplicates', () => {
    expect(parseAddonRequests(['metallb:10.0.0.240-10.0.0.250', 'istio']).map((r) => r.addon.name)).toEqual(['metallb', 'istio']);
    expect(() => parseAddonRequests(['metallb:10.0.0.250-10.0.0.240'])).toThrow(/ends before it starts/);
    expect(() => parseAddonRequests(['istio', 'istio'])).toThrow(/requested twice/);
    expect(() => parseAddonRequests(['nginx'])).toThrow(expect.objectContaining({ message: 'Unknown addon "nginx"', hint: expect.stringMatching(/^valid addons: metallb, servicelb, ingress-nginx, /) }));
  });
});

describe('suite manifests (as data)', () => {
  it('match the golden file', async () => {
    const manifests = {
      'lb/service': loadBalancerService('ep-lb', 'ep-lb-web', { 'metallb.universe.tf/address-pool': 'edgeproof-pool' }),
      'ingress/ingress': hostIngress('ep-ing-web', ingressHost('ep-ingress-route-1a2b3c4d'), 'ep-ing-web', 'public'),
      'storage/claim': claim('ep-replicated', 'ep-sc-longhorn-1a2b3c4d'),
      'storage/writer': dataPod('ep-writer', IMAGE, 'ep-replicated', 'write', { sizeMB: 16 }),
      'storage/reader-avoiding-the-lost-node': dataPod('ep-reader', IMAGE, 'ep-replicated', 'read', { avoidNodes: ['ep-1a2b3c4d-worker-1'] }),
      'storage/longhorn-class': replicatedStorageClass('longhorn', 'ep-sc', 3),
      'storage/jiva-class-and-policy': replicatedStorageClass('openebs-jiva', 'ep-sc', 3),
      'storage/mayastor-class': replicatedStorageClass('openebs-mayastor', 'ep-sc', 2),
      'storage/local-class': localStorageClass('ep-local'),
      'storage/local-pv': localPersistentVolume('ep-local', 'ep-local', '/var/lib/edgeproof/volumes/ep-local', 'ep-1a2b3c4d-worker-1'),
      'mesh/istio-gateway': istioGatewayObjects('ep-mesh-istio-1a2b3c4d', 'ep-mesh-istio-1a2b3c4d.edgeproof.test', 'ep-mesh-web'),
      'mesh/plaintext-client': requestPod('ep-plaintext-mesh', IMAGE, { address: '10.96.0.42', port: 80, attempts: 5, timeoutSeconds: 5, pauseSeconds: 2 }),
      'serverless/ksvc': helloKsvc('ep-serverless-knative-1a2b3c4d', IMAGE),
      'kata/pod': kataPod('ep-kata', IMAGE, 'kata', ['ep-1a2b3c4d-worker-1']),
    };
    await expect(stringify(manifests, { lineWidth: 0, aliasDuplicateObjects: false })).toMatchFileSnapshot('../../fixtures/golden/addons/suite-manifests.yaml');
  });

  it('the local PV is pinned to its node, and the reader keeps off the lost node', () => {
    expect(pinnedNodes(localPersistentVolume('pv', 'sc', '/x', 'node-a'))).toEqual(['node-a']);
    const reader = dataPod('r', IMAGE, 'c', 'read', { avoidNodes: ['node-a'] });
    expect(reader.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]).toEqual({ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['node-a'] });
  });
});

describe('small parsers of the suites', () => {
  it('data pod logs: a sha256 only when it is one', () => {
    const sha = 'a'.repeat(64);
    expect(parseDataLog(`sha256=${sha}\nstored=${sha}\nnode=w1\n`)).toEqual({ sha256: sha, stored: sha, node: 'w1' });
    expect(parseDataLog('read-error=/data/blob is missing\n')).toEqual({ error: '/data/blob is missing' });
    expect(parseDataLog('sha256=sha256sum: /data/blob: I/O error\n')).toEqual({});
  });

  it('MetalLB\'s announcing node comes from the speaker\'s last nodeAssigned event', () => {
    expect(announcingNode([
      { reason: 'IPAllocated', message: 'Assigned IP ["10.64.140.43"]' },
      { reason: 'nodeAssigned', message: 'announcing from node "ep-1-worker-1" with protocol "layer2"' },
      { reason: 'nodeAssigned', message: 'announcing from node "ep-1-worker-2" with protocol "layer2"' },
    ])).toBe('ep-1-worker-2');
    expect(announcingNode([{ reason: 'IPAllocated', message: 'Assigned IP ["10.64.140.43"]' }])).toBeUndefined();
  });

  it('K3s --disable flags in every spelling', () => {
    expect(k3sDisabled(['server', '--disable', 'servicelb', '--cluster-init'])).toEqual(['servicelb']);
    expect(k3sDisabled(['server', '--disable=traefik,servicelb'])).toEqual(['traefik', 'servicelb']);
    expect(k3sDisabled(['server', '--no-deploy', 'traefik'])).toEqual(['traefik']);
    expect(k3sDisabled(['server', '--write-kubeconfig-mode', '644'])).toEqual([]);
  });

  it('STRICT-3 compares verdicts check by check, leaving Kata out', () => {
    const classic = { 'LB-1': 'pass', 'LB-2': 'pass', 'KATA-1': 'pass', 'STO-4': 'pass' } as const;
    const strict = { 'LB-1': 'pass', 'LB-2': 'fail', 'KATA-1': 'not-applicable', 'MESH-I2': 'pass' } as const;
    expect(compareVerdicts(classic, strict, STRICT_SKIP_PREFIXES)).toEqual({
      compared: 2,
      differences: [{ id: 'LB-2', classic: 'pass', strict: 'fail' }],
      onlyClassic: ['STO-4'],
      onlyStrict: ['MESH-I2'],
      skipped: ['KATA-1'],
    });
  });
});

describe('images for air-gapped mirrors', () => {
  it('lists per architecture, and says what has no arm64 build', async () => {
    expect(suiteImages(['storage'], 'arm64').some((e) => 'ref' in e && e.ref.includes('mayastor'))).toBe(false);
    expect(suiteImages(['storage'], 'amd64').some((e) => 'ref' in e && e.ref.includes('mayastor-io-engine'))).toBe(true);
    const all = [...ADDON_SUITE_NAMES];
    await expect(mirrorList(all, 'arm64')).toMatchFileSnapshot('../../fixtures/golden/addons/mirror-arm64.txt');
    await expect(mirrorList(all, 'amd64')).toMatchFileSnapshot('../../fixtures/golden/addons/mirror-amd64.txt');
  });
});
