import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { displayStep, renderStep } from '../plan.js';
import { parseChannel, validateChannel } from './channel.js';
import { Microk8sDistribution } from './microk8s-distribution.js';
import { joinUrlFor, parseAddNode, parseStatusYaml } from './parsers.js';
import { addNodePlan, addonEnablePlan, installPlan, joinPlan, kubeconfigPlan, microk8sFootprint, statusPlan, waitReadyPlan } from './plans.js';

const sample = (name: string) => readFileSync(fixturePath('samples', 'microk8s', name), 'utf8');

describe('MicroK8s channels', () => {
  it('normalises channels the way snap reads them', () => {
    expect(parseChannel('1.32')).toMatchObject({ text: '1.32/stable', track: '1.32', risk: 'stable', kubernetes: '1.32', strict: false });
    expect(parseChannel('1.30-strict/candidate')).toMatchObject({ text: '1.30-strict/candidate', strict: true, kubernetes: '1.30' });
    expect(parseChannel('edge')).toMatchObject({ text: 'latest/edge', track: 'latest', risk: 'edge' });
    expect(parseChannel('latest/edge/ha-preview')).toMatchObject({ branch: 'ha-preview' });
  });

  it('rejects malformed channels with the expected shape', () => {
    for (const bad of ['1.30/nightly', 'v1.30/stable', '1.30//stable', 'stable/1.30', '']) {
      expect(() => parseChannel(bad), bad).toThrow(UsageError);
    }
    expect(() => parseChannel('1.30/nightly')).toThrow(/Invalid MicroK8s channel "1\.30\/nightly"/);
  });

  it('refuses channels that do not exist or cannot form the topology, before boot', () => {
    expect(() => validateChannel(parseChannel('1.24-strict/stable'), 'arm64')).toThrow(/strict confinement starts with 1\.25-strict/);
    expect(() => validateChannel(parseChannel('1.18/stable'), 'arm64')).toThrow(/older than 1\.19/);
    expect(() => validateChannel(parseChannel('1.22/stable'), 'amd64', { controlPlanes: 1, workers: 2 })).toThrow(/--worker/);
    expect(() => validateChannel(parseChannel('1.25-strict/stable'), 'arm64', { controlPlanes: 3, workers: 1 })).not.toThrow();
  });

  it('takes the channel, not --version, and an unknown channel is a usage error at construction', () => {
    expect(() => new Microk8sDistribution({ version: 'v1.30.1' })).toThrow(expect.objectContaining({ code: 'USAGE', hint: 'use --channel 1.30/stable' }));
    expect(new Microk8sDistribution({ channel: '1.31-strict' }).version).toBe('1.31-strict/stable');
  });
});

describe('MicroK8s plans', () => {
  it('installs classic channels with --classic and strict channels without', () => {
    expect(installPlan(parseChannel('1.32/stable')).map(renderStep)).toEqual([
      "'snap' 'wait' 'system' 'seed.loaded'",
      "'snap' 'install' 'microk8s' '--classic' '--channel=1.32/stable'",
    ]);
    expect(renderStep(installPlan(parseChannel('1.32-strict/stable'))[1]!)).toBe("'snap' 'install' 'microk8s' '--channel=1.32-strict/stable'");
  });

  it('installs air-gapped from snap download files: ack the assertions, then install the files', () => {
    const plan = installPlan(parseChannel('1.32/stable'), {
      snap: '/airgap/microk8s_7394.snap',
      assert: '/airgap/microk8s_7394.assert',
      baseSnap: '/airgap/core22_1748.snap',
      baseAssert: '/airgap/core22_1748.assert',
    });
    expect(plan.map(renderStep)).toEqual([
      "'snap' 'wait' 'system' 'seed.loaded'",
      "'ls' '-l' '/var/tmp/edgeproof-airgap'",
      "'snap' 'ack' '/var/tmp/edgeproof-airgap/core22_1748.assert'",
      "'snap' 'install' '/var/tmp/edgeproof-airgap/core22_1748.snap'",
      "'snap' 'ack' '/var/tmp/edgeproof-airgap/microk8s_7394.assert'",
      "'snap' 'install' '/var/tmp/edgeproof-airgap/microk8s_7394.snap' '--classic'",
    ]);
    expect(plan[1]!.uploads?.map((u) => u.hostPath)).toEqual(['/airgap/core22_1748.snap', '/airgap/core22_1748.assert', '/airgap/microk8s_7394.snap', '/airgap/microk8s_7394.assert']);
  });

  it('waits ready, adds a node with a chosen token, joins as control plane or worker without showing the token', () => {
    expect(renderStep(waitReadyPlan(300))).toBe("'microk8s' 'status' '--wait-ready' '--timeout' '300'");
    const token = '92b2db237428470dc4fcfc4ebbd9dc81';
    const add = addNodePlan(token, 3600);
    expect(renderStep(add)).toBe(`'microk8s' 'add-node' '--token' '${token}' '--token-ttl' '3600'`);
    expect(displayStep(add)).not.toContain(token);
    expect(() => addNodePlan('short', 60)).toThrow(/32 hexadecimal/);
    const url = `192.168.1.230:25000/${token}/2c0cb3284b05`;
    expect(renderStep(joinPlan(url, 'control-plane'))).toBe(`'microk8s' 'join' '${url}'`);
    const worker = joinPlan(url, 'worker');
    expect(renderStep(worker)).toBe(`'microk8s' 'join' '${url}' '--worker'`);
    expect(displayStep(worker)).toBe("'microk8s' 'join' '192.168.1.230:25000/<redacted>' '--worker'");
  });

  it('enables addons with their arguments, reads status as YAML and the kubeconfig from microk8s config', () => {
    expect(addonEnablePlan([{ name: 'dns' }, { name: 'metallb', args: '10.64.140.43-10.64.140.49' }]).map(renderStep)).toEqual([
      "'microk8s' 'enable' 'dns'",
      "'microk8s' 'enable' 'metallb:10.64.140.43-10.64.140.49'",
    ]);
    expect(() => addonEnablePlan([{ name: 'metallb; reboot' }])).toThrow(UsageError);
    expect(renderStep(statusPlan())).toBe("'microk8s' 'status' '--format' 'yaml'");
    expect(renderStep(kubeconfigPlan())).toBe("'microk8s' 'config'");
  });

  it('measures the snap daemons: datastore on control planes, apiserver proxy on workers', () => {
    expect(microk8sFootprint('control-plane').cgroupPaths).toEqual([
      'system.slice/snap.microk8s.daemon-kubelite.service',
      'system.slice/snap.microk8s.daemon-containerd.service',
      'system.slice/snap.microk8s.daemon-k8s-dqlite.service',
      'system.slice/snap.microk8s.daemon-cluster-agent.service',
      'system.slice/snap.microk8s.daemon-apiserver-kicker.service',
    ]);
    expect(microk8sFootprint('worker').processNames).not.toContain('k8s-dqlite');
    expect(microk8sFootprint('worker').cgroupPaths).toContain('system.slice/snap.microk8s.daemon-apiserver-proxy.service');
  });
});

describe('MicroK8s output parsers (samples from the docs)', () => {
  it('reads the join lines, the token and the worker hint of `microk8s add-node`', () => {
    const parsed = parseAddNode(sample('add-node.txt'));
    expect(parsed.token).toBe('92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05');
    expect(parsed.workerSupported).toBe(true);
    expect(parsed.defaultUrl).toEqual({ url: '192.168.1.230:25000/92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05', address: '192.168.1.230', port: 25000 });
    expect(parsed.urls.map((u) => u.address)).toEqual(['192.168.1.230', '10.23.209.1', '172.17.0.1']);
    expect(joinUrlFor(parsed, '10.23.209.1').address).toBe('10.23.209.1');
    expect(joinUrlFor(parsed, '10.9.9.9').address).toBe('192.168.1.230');
  });

  it('reads the short format (duplicated lines) and etcd-backed output without --worker', () => {
    const short = parseAddNode(sample('add-node-short.txt'));
    expect(short.urls).toHaveLength(1);
    expect(short.workerSupported).toBe(false);
    expect(parseAddNode(sample('add-node-etcd.txt')).workerSupported).toBe(false);
    expect(() => parseAddNode('Invalid token size.  It must be 32 characters long.')).toThrow(/no join command: Invalid token size/);
  });

  it('reads HA from `microk8s status --format yaml`: formed at three voters', () => {
    const ha = parseStatusYaml(sample('status-ha.yaml'));
    expect(ha.running).toBe(true);
    expect(ha.ha).toMatchObject({ enabled: true, formed: true, voters: ['10.10.10.11:19001', '10.10.10.12:19001', '10.10.10.13:19001'] });
    expect(ha.ha.nodes.find((n) => n.role === 'standby')?.address).toBe('10.10.10.14:19001');
    expect(ha.addons.find((a) => a.name === 'metallb')).toEqual({ name: 'metallb', repository: 'core', version: '0.9.3', enabled: true });
    expect(ha.addons.find((a) => a.name === 'rbac')).toEqual({ name: 'rbac', repository: 'core', enabled: false });

    const two = parseStatusYaml(sample('status-two-nodes.yaml'));
    expect(two.ha).toMatchObject({ enabled: true, formed: false, voters: ['10.10.10.11:19001'] });

    const down = parseStatusYaml(sample('status-not-running.yaml'));
    expect(down).toMatchObject({ running: false, ha: { enabled: true, formed: false, nodes: [] }, addons: [] });
    expect(down.message).toMatch(/microk8s inspect/);
  });

  it('refuses output that is not the status YAML', () => {
    expect(() => parseStatusYaml('high-availability: no\naddons: []\n')).toThrow(/no "microk8s.running"/);
    expect(() => parseStatusYaml('microk8s is running\nhigh-availability: no\n')).toThrow(/invalid YAML/);
  });
});
