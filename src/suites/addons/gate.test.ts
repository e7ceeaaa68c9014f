import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { addonSpec, parseAddonRequest } from '../../cluster/addons/catalog.js';
import type { AddonInstaller } from '../../cluster/addons/installer.js';
import { gateDecision, lastEvents } from './gate.js';
import type { Presence } from './presence.js';
import type { PrerequisiteVerdict } from './prerequisites.js';

const absent = (observed: string): Presence => ({ present: false, variants: [[{ signal: 'Deployment metallb-system/controller', holds: false, observed }]] });
const met: PrerequisiteVerdict = { met: true, missing: [], evidence: {} };
const missing = (...what: string[]): PrerequisiteVerdict => ({ met: false, missing: what, evidence: { n1: { iscsid: false } } });
const installer: AddonInstaller = async () => {
  throw new Error('not called by a decision');
};
const lb = [addonSpec('metallb'), addonSpec('servicelb')];
const presences = { metallb: absent('absent'), servicelb: absent('absent') };

describe('addon gate decision', () => {
  it('not applicable when no candidate could run here, with each one\'s misses', () => {
    const storage = [addonSpec('openebs-jiva'), addonSpec('longhorn')];
    const decision = gateDecision(storage, { 'openebs-jiva': absent('absent'), longhorn: absent('absent') }, { 'openebs-jiva': missing('iscsid running (open-iscsi) on n1'), longhorn: missing('iscsid running (open-iscsi) on n1') }, { installer });
    expect(decision).toMatchObject({ ready: false, verdict: 'not-applicable', reason: 'no openebs-jiva, longhorn here, and none could run: OpenEBS Jiva needs iscsid running (open-iscsi) on n1; Longhorn needs iscsid running (open-iscsi) on n1' });
  });

  it('skipped when an addon could run but none was requested, saying how to request one', () => {
    const decision = gateDecision(lb, presences, { metallb: met, servicelb: met }, { installer });
    expect(decision).toMatchObject({ verdict: 'skipped', reason: expect.stringMatching(/^none of metallb, servicelb is installed \(metallb: Deployment metallb-system\/controller: absent; servicelb: .*\); request one to install it \(--addon metallb:<args>\)$/) });
  });

  it('skipped when the requested addon would need an installer the run does not have', () => {
    const decision = gateDecision(lb, presences, { metallb: met, servicelb: met }, { requests: [parseAddonRequest('metallb:10.0.0.240-10.0.0.250')] });
    expect(decision).toMatchObject({ verdict: 'skipped', reason: 'MetalLB was requested but installing addons is not enabled for this run' });
  });

  it('installs a requested addon whose prerequisites hold, and never one whose do not', () => {
    const request = parseAddonRequest('metallb:10.0.0.240-10.0.0.250');
    expect(gateDecision(lb, presences, { metallb: met, servicelb: met }, { requests: [request], installer })).toMatchObject({ install: request });
    expect(gateDecision(lb, presences, { metallb: missing('amd64 nodes'), servicelb: met }, { requests: [request], installer })).toMatchObject({ verdict: 'skipped' });
  });
});

describe('install-hang diagnostics', () => {
  it('keeps the last events in time order, each with its object', () => {
    const event = (at: string, reason: string, name: string, message: string): CoreV1Event => ({ lastTimestamp: new Date(at), type: 'Warning', reason, involvedObject: { kind: 'Pod', name }, message, metadata: {} }) as CoreV1Event;
    const events = [
      event('2024-11-20T10:00:03Z', 'BackOff', 'speaker-x', 'Back-off pulling image "quay.io/metallb/speaker:v0.14.8"'),
      event('2024-11-20T10:00:01Z', 'Scheduled', 'controller-y', 'Successfully assigned'),
      event('2024-11-20T10:00:02Z', 'Failed', 'controller-y', 'Failed to pull image: dial tcp: lookup quay.io: no such host'),
    ];
    expect(lastEvents(events, 2)).toEqual([
      'Warning Failed Pod/controller-y: Failed to pull image: dial tcp: lookup quay.io: no such host',
      'Warning BackOff Pod/speaker-x: Back-off pulling image "quay.io/metallb/speaker:v0.14.8"',
    ]);
  });
});
