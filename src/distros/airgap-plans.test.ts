import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Arch } from '../emulation/boards.js';
import { resolveAirgapFiles } from '../cluster/install-source.js';
import { installPlan as k3sInstall, parseK3sVersion } from './k3s/plans.js';
import { parseChannel } from './microk8s/channel.js';
import { installPlan as microk8sInstall } from './microk8s/plans.js';
import { installPlan as minikubeInstall, parseMinikubeVersion } from './minikube/plans.js';
import { renderStep, type PlanStep } from './plan.js';
import { distributionByName } from './registry.js';

/** What reaches outside a node: a URL, a download tool, or a store install by name. */
const ONLINE = /https?:\/\/|\bcurl\b|\bwget\b|snap install microk8s\b|snap' 'install' 'microk8s'/;

/**
 * With --airgap, each driver's install plan takes every file from the
 * directory (resolved by the driver's own file list) and reaches nothing
 * outside; without it, no plan uploads anything from there.
 */
describe('air-gapped install plans use only the --airgap files', () => {
  let dir: string;
  const arch: Arch = 'arm64';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-airgap-plans-'));
    for (const name of ['k3s', 'microk8s', 'minikube']) for (const file of distributionByName(name).airgapFiles!(arch)) writeFileSync(join(dir, file.name), 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const found = (name: string) => resolveAirgapFiles(name, dir, distributionByName(name).airgapFiles!(arch));
  /** `own`: the cluster's own addresses (a joining node's server URL), which are not outside. */
  const expectOffline = (steps: PlanStep[], files: Record<string, string>, own: string[] = []) => {
    for (const step of steps) {
      if (step.argv || step.shell) expect(own.reduce((text, url) => text.replaceAll(url, '<cluster>'), renderStep(step)), step.name).not.toMatch(ONLINE);
      for (const upload of step.uploads ?? []) expect(upload.hostPath.startsWith(`${dir}/`), upload.hostPath).toBe(true);
    }
    const uploaded = steps.flatMap((s) => s.uploads ?? []).map((u) => u.hostPath).sort();
    expect(uploaded).toEqual(Object.values(files).sort());
  };

  it('k3s: binary, images tarball and install script from DIR; INSTALL_K3S_SKIP_DOWNLOAD', () => {
    const f = found('k3s');
    const base = { version: parseK3sVersion('v1.32.5+k3s1'), token: 't0ken', nodeName: 'n', nodeIp: '10.0.0.1' };
    for (const role of ['control-plane', 'worker'] as const) {
      const steps = k3sInstall(role, { ...base, serverUrl: 'https://10.0.0.1:6443', airgap: { binary: f['k3s binary']!, images: f['air-gap images']!, script: f['install script']! } });
      expectOffline(steps, f, ['https://10.0.0.1:6443']);
      expect(steps.at(-1)!.env).toMatchObject({ INSTALL_K3S_SKIP_DOWNLOAD: 'true' });
    }
    const online = k3sInstall('control-plane', base);
    expect(online.flatMap((s) => s.uploads ?? [])).toEqual([]);
    expect(renderStep(online.at(-1)!)).toContain('https://get.k3s.io');
  });

  it('microk8s: snaps and assertions from DIR, acknowledged, installed from the local files', () => {
    const f = found('microk8s');
    const steps = microk8sInstall(parseChannel('1.32/stable'), { snap: f['microk8s.snap']!, assert: f['microk8s.assert']!, baseSnap: f['base snap (core22 or core20)']!, baseAssert: f['base snap assertion']! });
    expectOffline(steps, f);
    expect(microk8sInstall(parseChannel('1.32/stable')).flatMap((s) => s.uploads ?? [])).toEqual([]);
  });

  it('minikube: binary and download cache from DIR', () => {
    const f = found('minikube');
    const steps = minikubeInstall(parseMinikubeVersion('v1.36.0'), arch, { binary: f['minikube binary']!, cache: f['minikube cache']! });
    expectOffline(steps, f);
    expect(renderStep(minikubeInstall(parseMinikubeVersion('v1.36.0'), arch)[0]!)).toMatch(/curl .*https:\/\/storage\.googleapis\.com/);
  });

  it('upstream reads nothing from DIR', () => {
    expect(distributionByName('upstream', { airgapDir: dir }).airgapFiles).toBeUndefined();
  });
});
