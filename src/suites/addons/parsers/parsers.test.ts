import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countSnapDenials, parseAppArmorLine } from './apparmor.js';
import { parseIstioAnalyze } from './istioctl.js';
import { parseKsvc, parseKsvcList } from './knative.js';
import { parseLinkerdCheck } from './linkerd-check.js';
import { microk8sAddonEnabled, parseMicrok8sStatus } from './microk8s-status.js';
import { MICROK8S_STRICT_PLUGS, parseSnapConnections, parseSnapList, unconnectedPlugs } from './snap.js';
import { jivaVolumeStatus, longhornVolumeStatus, mayastorVolumeStatus } from './storage-status.js';

const sample = (path: string) => readFileSync(new URL(`../../../../fixtures/samples/${path}`, import.meta.url), 'utf8');
const json = (path: string): unknown => JSON.parse(sample(path));

describe('microk8s status --format yaml', () => {
  it('reads running, HA voters and each addon', () => {
    const status = parseMicrok8sStatus(sample('microk8s/status-ha-with-addons.yaml'));
    expect(status.running).toBe(true);
    expect(status.highAvailability).toEqual({ enabled: true, nodes: ['10.0.0.11:19001', '10.0.0.12:19001', '10.0.0.13:19001'].map((address) => ({ address, role: 'voter' })) });
    expect(status.addons).toHaveLength(5);
    expect(microk8sAddonEnabled(status, 'metallb')).toBe(true);
    expect(microk8sAddonEnabled(status, 'mayastor')).toBe(false);
    expect(microk8sAddonEnabled(status, 'istio')).toBe(false);
  });

  it('reads the not-running output, which is not valid YAML', () => {
    expect(parseMicrok8sStatus(sample('microk8s/status-not-running-short.yaml'))).toEqual({
      running: false,
      message: 'microk8s is not running. Use microk8s inspect for a deeper inspection.',
      addons: [],
    });
  });
});

describe('linkerd check -o json', () => {
  it('counts checks and keeps warnings apart from errors', () => {
    const ok = parseLinkerdCheck(sample('linkerd/check-success.json'));
    expect(ok).toMatchObject({ success: true, total: 6, errors: [] });
    expect(ok.warnings).toEqual([{ category: 'linkerd-version', description: 'can determine the latest version', error: expect.stringContaining('no such host') }]);
  });

  it('reports the failing check with its error and hint', () => {
    const bad = parseLinkerdCheck(sample('linkerd/check-failure.json'));
    expect(bad.success).toBe(false);
    expect(bad.errors).toEqual([{ category: 'linkerd-existence', description: 'control plane pods are ready', error: 'No running pods for "linkerd-destination"', hint: 'https://linkerd.io/2.14/checks/#l5d-api-control-ready' }]);
  });

  it('refuses output that is not the check JSON', () => {
    expect(() => parseLinkerdCheck('Error: could not find config file')).toThrow(/printed no JSON/);
    expect(() => parseLinkerdCheck('{"ok": true}')).toThrow(/lacks "success"/);
  });
});

describe('kubectl get ksvc -o json', () => {
  it('a ready service: its host for the Host header and its revision', () => {
    expect(parseKsvc(json('knative/ksvc-ready.json'))).toMatchObject({
      name: 'ep-hello',
      ready: true,
      host: 'ep-hello.ep-serverless-knative-1a2b3c4d.example.com',
      latestReadyRevision: 'ep-hello-00001',
      conditions: { ConfigurationsReady: 'True', Ready: 'True', RoutesReady: 'True' },
    });
  });

  it('a list with a service that is not ready says why', () => {
    const [ksvc] = parseKsvcList(json('knative/ksvc-list-not-ready.json'));
    expect(ksvc).toMatchObject({ ready: false, latestCreatedRevision: 'ep-hello-00001' });
    expect(ksvc!.reason).toMatch(/^RevisionMissing: Configuration "ep-hello" does not have any ready Revision/);
    expect(ksvc!.latestReadyRevision).toBeUndefined();
  });
});

describe('AppArmor audit lines', () => {
  it('reads dmesg and journalctl forms, with capability and path targets', () => {
    const lines = sample('apparmor/kern.log').split('\n');
    expect(parseAppArmorLine(lines[0]!)).toMatchObject({ verdict: 'DENIED', operation: 'capable', profile: 'snap.microk8s.daemon-cluster-agent', target: 'fsetid', comm: 'sed' });
    expect(parseAppArmorLine(lines[5]!)).toMatchObject({ verdict: 'DENIED', operation: 'create', profile: 'snap.microk8s.daemon-kubelite', target: 'inet', comm: 'coredns' });
    expect(parseAppArmorLine(lines[7]!)).toBeUndefined();
  });

  it('counts only DENIED records of the snap\'s profiles, and honours an allowlist', () => {
    const log = sample('apparmor/kern.log');
    const all = countSnapDenials(log, 'microk8s');
    expect(all.total).toBe(4);
    expect(all.unexpected).toHaveLength(4);
    expect(all.byKind['snap.microk8s.daemon-cluster-agent capable fsetid']).toBe(2);
    const allowed = countSnapDenials(log, 'microk8s', [{ profile: /^snap\.microk8s\.daemon-cluster-agent$/, operation: 'capable', target: /^fsetid$/, why: 'canonical/microk8s#4267' }]);
    expect(allowed).toMatchObject({ total: 4, allowed: 2 });
    expect(allowed.unexpected.map((r) => r.operation)).toEqual(['file_lock', 'create']);
  });
});

describe('replicated volume status', () => {
  it('Longhorn: attached and degraded with one replica in error', () => {
    const status = longhornVolumeStatus(json('longhorn/volume-degraded.json'), (json('longhorn/replicas-one-lost.json') as { items: unknown[] }).items);
    expect(status).toMatchObject({ engine: 'longhorn', health: 'degraded', attached: true, wantedReplicas: 3, healthyReplicas: 2 });
    expect(status.replicaNodes).toEqual(['ep-1a2b3c4d-worker-1', 'ep-1a2b3c4d-worker-2', 'ep-1a2b3c4d-cp-0']);
  });

  it('Jiva: RW with 2 of 3 replicas is degraded; RO is faulted', () => {
    expect(jivaVolumeStatus(json('openebs/jivavolume-degraded.json'), ['n1', 'n2', 'n1'])).toMatchObject({ health: 'degraded', wantedReplicas: 3, healthyReplicas: 2, replicaNodes: ['n1', 'n2'] });
    expect(jivaVolumeStatus(json('openebs/jivavolume-readonly.json'), [])).toMatchObject({ health: 'faulted', attached: false });
  });

  it('Mayastor: the plugin/REST model, online and degraded', () => {
    expect(mayastorVolumeStatus(json('openebs/mayastor-volume-online.json'))).toMatchObject({ health: 'healthy', wantedReplicas: 2, healthyReplicas: 2, attached: true });
    const degraded = mayastorVolumeStatus(json('openebs/mayastor-volume-degraded.json'));
    expect(degraded).toMatchObject({ health: 'degraded', healthyReplicas: 1, replicaNodes: ['ksnode-2', 'ksnode-3'] });
    expect(degraded.detail).toContain('Online,Faulted');
  });
});

describe('snap tables', () => {
  it('snap list: strict shows no confinement note, classic says so', () => {
    expect(parseSnapList(sample('snap/list-strict.txt'))).toEqual([{ name: 'microk8s', version: 'v1.29.4', rev: '6809', tracking: '1.29-strict/stable', publisher: 'canonical✓', notes: '-', confinement: 'strict' }]);
    expect(parseSnapList(sample('snap/list-classic.txt'))[0]!.confinement).toBe('classic');
    expect(parseSnapList('error: no matching snaps installed')).toEqual([]);
  });

  it('snap connections: a required plug left disconnected is named; optional ones are reported apart', () => {
    const connections = parseSnapConnections(sample('snap/connections-microk8s.txt'));
    expect(connections).toHaveLength(25);
    expect(connections.find((c) => c.plug === 'microk8s:log-observe')).toEqual({ interface: 'log-observe', plug: 'microk8s:log-observe', notes: '-' });
    expect(unconnectedPlugs(connections, 'microk8s', MICROK8S_STRICT_PLUGS)).toEqual({ missing: ['log-observe'], optional: ['configuration'] });
  });
});

describe('istioctl analyze -o json', () => {
  it('splits errors, warnings and infos', () => {
    const analysis = parseIstioAnalyze(sample('istio/analyze.json'));
    expect(analysis.errors).toEqual(['IST0101 VirtualService default/reviews: Referenced host not found: "reviews.default.svc.cluster.local"']);
    expect(analysis.warnings).toHaveLength(1);
    expect(analysis.infos).toBe(1);
    expect(parseIstioAnalyze('[]')).toEqual({ errors: [], warnings: [], infos: 0 });
  });
});
