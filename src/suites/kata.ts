import type { V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import { addonSpec } from '../cluster/addons/catalog.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, notApplicable, pass, type CheckOutcome } from './check.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import { probeNodes, type NodeFactsByNode } from './addons/prerequisites.js';
import { kube } from '../cluster/kube-access.js';
import { describePods, nodeInfos, SuiteRun, type CheckRef } from './suite-kit.js';
import { hostnameAffinity, oneShotPod } from './workloads.js';

export const KATA_CHECKS = {
  preflight: { id: 'KATA-0', name: 'a node has a usable /dev/kvm (KVM_CREATE_VM succeeds)' },
  runs: { id: 'KATA-1', name: 'a RuntimeClass for Kata exists and a pod runs with it' },
  isolation: { id: 'KATA-2', name: 'the pod\'s kernel differs from the node\'s and a hypervisor process runs on the node' },
} satisfies Record<string, CheckRef>;

export interface KataOptions extends AddonGateOptions {
  /** Base budget (scaled) for the Kata pod to run, default 5 min. */
  budgetMs?: number;
}

const HYPERVISORS = /(qemu-system|cloud-hypervisor|firecracker|qemu-kvm)/;

/**
 * Kata suite. KATA-0 looks at /dev/kvm on each node through its shell (open
 * it read-write and create a VM); without one, Kata cannot run and every
 * Kata check is not applicable, with each node's evidence (as under TCG here).
 */
export async function runKataSuite(ctx: RunContext, cluster: StartedCluster, options: KataOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'kata');
  let kvmNodes: string[] = [];
  const preflight = await run.check(KATA_CHECKS.preflight, async () => {
    const result = kvmPreflight(await probeNodes(ctx, cluster, []));
    kvmNodes = result.usable;
    return result.outcome;
  });
  if (preflight.verdict !== 'pass') {
    await run.notRun([KATA_CHECKS.runs, KATA_CHECKS.isolation], 'not-applicable', `${KATA_CHECKS.preflight.id}: ${preflight.reason}`, preflight.evidence);
    return run.outcomes;
  }
  const gate = await gateArea(run, [addonSpec('kata')], options);
  if (!gate.ready) {
    await run.notRun([KATA_CHECKS.runs, KATA_CHECKS.isolation], gate.verdict, gate.reason, gate.evidence);
    return run.outcomes;
  }
  await run.withNamespace('pod', async (namespace) => {
    const runtimeClass = await kataRuntimeClass(run);
    const running = await run.check(KATA_CHECKS.runs, () => kataPodRuns(run, namespace, runtimeClass, kvmNodes, ctx.scaled(options.budgetMs ?? 300_000)));
    await run.check(KATA_CHECKS.isolation, async () => (running.verdict === 'pass' ? isolation(run, namespace, running.evidence.node as string) : notApplicable(`${KATA_CHECKS.runs.id} did not pass`)));
  });
  return run.outcomes;
}

/** KATA-0 judged from node facts: which nodes can host a Kata VM; not applicable where none can. */
export function kvmPreflight(facts: NodeFactsByNode): { outcome: CheckOutcome; usable: string[] } {
  const evidence: Record<string, string> = {};
  const usable: string[] = [];
  for (const [node, fact] of Object.entries(facts)) {
    if ('unavailable' in fact) {
      evidence[node] = `cannot check /dev/kvm: ${fact.unavailable}`;
      continue;
    }
    evidence[node] = `${fact.kvm.state}: ${fact.kvm.detail}; kernel ${fact.kernel}; cpu virtualization flags ${fact.cpuVirtFlags ? 'yes' : 'no'}`;
    if (fact.kvm.state !== 'unusable') usable.push(node);
  }
  if (usable.length === 0) {
    return { outcome: notApplicable(`no node has a usable /dev/kvm (${Object.entries(evidence).map(([n, e]) => `${n}: ${e}`).join('; ') || 'no nodes'}): Kata needs hardware virtualization; under TCG emulation there is none`, evidence), usable };
  }
  return { outcome: pass({ ...evidence, usable }), usable };
}

async function kataRuntimeClass(run: SuiteRun): Promise<string> {
  const names = (await kube('list runtime classes', () => run.clients.node.listRuntimeClass())).items.map((r) => r.metadata!.name!);
  return ['kata', 'kata-qemu', 'kata-clh', 'kata-fc'].find((n) => names.includes(n)) ?? 'kata';
}

export function kataPod(name: string, image: string, runtimeClassName: string, nodes: string[]): V1Pod {
  return oneShotPod(name, { image, command: ['sh', '-c', 'echo "kernel=$(uname -r)"; sleep 600'] }, { runtimeClassName, ...hostnameAffinity('In', nodes) });
}

async function kataPodRuns(run: SuiteRun, namespace: string, runtimeClass: string, nodes: string[], budgetMs: number): Promise<CheckOutcome> {
  await kube('create kata pod', () => run.clients.core.createNamespacedPod({ namespace, body: kataPod('ep-kata', run.cluster.workloadImage, runtimeClass, nodes) }));
  const pod = await waitFor(
    async () => {
      const current = await kube('read kata pod', () => run.clients.core.readNamespacedPod({ name: 'ep-kata', namespace }));
      if (current.status?.phase === 'Failed') return { done: true as const, value: current };
      return current.status?.phase === 'Running' ? { done: true as const, value: current } : { done: false as const, observed: describePods([current]) };
    },
    { what: `pod with runtimeClassName ${runtimeClass} Running`, budgetMs, pollMs: 2_000, signal: run.ctx.signal },
  );
  const evidence = { runtimeClass, node: pod.spec?.nodeName, phase: pod.status?.phase };
  return pod.status?.phase === 'Running' ? pass(evidence) : fail(`the Kata pod failed: ${describePods([pod])}`, evidence);
}

/** KATA-2, the Kata project's own test: the guest kernel is not the host's; plus the hypervisor process on that node. */
async function isolation(run: SuiteRun, namespace: string, nodeName: string): Promise<CheckOutcome> {
  const log = await waitFor(
    async () => {
      const text = String(await kube('read kata log', () => run.clients.core.readNamespacedPodLog({ name: 'ep-kata', namespace, container: 'probe' })));
      return /kernel=\S+/.test(text) ? { done: true as const, value: text } : { done: false as const, observed: text || 'no output yet' };
    },
    { what: 'the Kata pod printing its kernel', budgetMs: run.ctx.scaled(60_000), pollMs: 2_000, signal: run.ctx.signal },
  );
  const podKernel = /kernel=(\S+)/.exec(log)![1]!;
  const nodeKernel = (await nodeInfos(run.clients)).find((n) => n.name === nodeName)?.kernel ?? 'unknown';
  const machine = run.cluster.nodes.find((n) => n.name === nodeName)?.machine;
  let hypervisor = '';
  if (machine) {
    const ps = await machine.exec('ps -eo comm,args', { check: false, timeoutMs: run.ctx.scaled(30_000) }).catch((error: unknown) => ({ stdout: describeError(error) }));
    hypervisor = ps.stdout.split('\n').find((line) => HYPERVISORS.test(line))?.trim().slice(0, 200) ?? '';
  }
  const evidence = { node: nodeName, podKernel, nodeKernel, hypervisor: hypervisor || 'none found' };
  if (podKernel === nodeKernel) return fail(`the pod runs the node's own kernel ${nodeKernel}: it is not in a VM`, evidence);
  if (!machine) return notApplicable(`the pod's kernel ${podKernel} differs from the node's ${nodeKernel}, but without a node handle the hypervisor process cannot be checked`, evidence);
  if (!hypervisor) return fail(`no hypervisor process (qemu, cloud-hypervisor, firecracker) on ${nodeName}`, evidence);
  return pass(evidence);
}
