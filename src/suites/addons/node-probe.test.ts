import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonSpec } from '../../cluster/addons/catalog.js';
import { kvmPreflight } from '../kata.js';
import type { NodeInfo } from '../suite-kit.js';
import { nodeProbeCommand, parseNodeProbe } from './node-probe.js';
import { evaluatePrerequisites } from './prerequisites.js';

const sample = (name: string) => readFileSync(new URL(`../../../fixtures/samples/node-probe/${name}`, import.meta.url), 'utf8');
const node = (name: string, arch = 'amd64'): NodeInfo => ({ name, arch, ready: true, kernel: '6.1.0', controlPlane: false, annotations: {} });

describe('node probe', () => {
  it('runs for real here and reports /dev/kvm as this machine has it', () => {
    const facts = parseNodeProbe(execFileSync('sh', ['-c', nodeProbeCommand(['nvme_tcp'])], { encoding: 'utf8' }));
    expect(facts.arch).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(facts.kernel).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    if (!existsSync('/dev/kvm')) expect(facts.kvm).toEqual({ state: 'unusable', detail: '/dev/kvm is absent' });
    else expect(['usable', 'unusable', 'unverified']).toContain(facts.kvm.state);
    expect(facts.modules).toHaveProperty('nvme_tcp');
  });

  it('parses a node with KVM proven by KVM_CREATE_VM, huge pages and NVMe-oF', () => {
    const facts = parseNodeProbe(sample('x86-worker-kvm-mayastor.txt'));
    expect(facts.kvm).toEqual({ state: 'usable', detail: 'KVM_CREATE_VM succeeded (api=12)' });
    expect(facts).toMatchObject({ hugepages2Mi: { total: 1024, free: 1024 }, iscsid: true, modules: { nvme_tcp: 'loaded', nvme_fabrics: 'loaded' } });
    expect(evaluatePrerequisites(addonSpec('openebs-mayastor').prerequisites, [node('a'), node('b'), node('c')], { a: facts, b: facts, c: facts })).toMatchObject({ met: true, missing: [] });
  });

  it('a /dev/kvm whose KVM_CREATE_VM fails is unusable, with the error', () => {
    const facts = parseNodeProbe(sample('nested-kvm-broken.txt'));
    expect(facts.kvm).toEqual({ state: 'unusable', detail: '/dev/kvm present but unusable: KVM_CREATE_VM: Operation not supported' });
    expect(facts.microk8sSnap.installed).toBe(true);
  });
});

describe('prerequisites', () => {
  it('names every miss: architecture, node count, huge pages, modules, iscsid', () => {
    const facts = parseNodeProbe(sample('firecracker-vm-no-kvm.txt'));
    const verdict = evaluatePrerequisites(addonSpec('openebs-mayastor').prerequisites, [node('n1', 'arm64')], { n1: facts });
    expect(verdict.met).toBe(false);
    expect(verdict.missing).toEqual([
      '3 nodes (the cluster has 1)',
      'amd64 nodes (n1 is arm64)',
      '1024 2 MiB huge pages (0 configured) on n1',
      'kernel module nvme_tcp on n1',
      'kernel module nvme_fabrics on n1',
    ]);
    expect(evaluatePrerequisites(addonSpec('longhorn').prerequisites, [node('n1')], { n1: facts }).missing).toEqual(['iscsid running (open-iscsi) on n1']);
  });

  it('a node without a handle cannot prove node-level prerequisites', () => {
    const verdict = evaluatePrerequisites(addonSpec('kata').prerequisites, [node('n1')], { n1: { unavailable: 'no node handle (existing cluster)' } });
    expect(verdict.missing).toEqual(['node-level prerequisites verifiable on n1 (no node handle (existing cluster))']);
  });

  it('API-only prerequisites need no node probe', () => {
    expect(evaluatePrerequisites(addonSpec('metallb').prerequisites, [node('n1', 'arm64')], {})).toMatchObject({ met: true });
  });
});

describe('KATA-0 preflight', () => {
  it('is not applicable when no node has a usable /dev/kvm, naming each node\'s reason', () => {
    const { outcome, usable } = kvmPreflight({ cp: parseNodeProbe(sample('firecracker-vm-no-kvm.txt')), w1: parseNodeProbe(sample('nested-kvm-broken.txt')), w2: { unavailable: 'no node handle' } });
    expect(usable).toEqual([]);
    expect(outcome.verdict).toBe('not-applicable');
    expect(outcome.reason).toContain('cp: unusable: /dev/kvm is absent');
    expect(outcome.reason).toContain('w1: unusable: /dev/kvm present but unusable: KVM_CREATE_VM: Operation not supported');
    expect(outcome.reason).toContain('w2: cannot check /dev/kvm: no node handle');
  });

  it('passes with the nodes that can host a Kata VM', () => {
    const { outcome, usable } = kvmPreflight({ cp: parseNodeProbe(sample('firecracker-vm-no-kvm.txt')), w1: parseNodeProbe(sample('x86-worker-kvm-mayastor.txt')) });
    expect(outcome.verdict).toBe('pass');
    expect(usable).toEqual(['w1']);
  });
});
