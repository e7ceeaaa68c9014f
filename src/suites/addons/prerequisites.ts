import type { RunContext } from '../../core/context.js';
import type { Prerequisites } from '../../cluster/addons/catalog.js';
import type { StartedCluster } from '../../cluster/distribution.js';
import { describeError } from '../../core/errors.js';
import { nodeInfos, type AddonClients, type NodeInfo } from '../suite-kit.js';
import { nodeProbeCommand, parseNodeProbe, type NodeFacts } from './node-probe.js';

export interface PrerequisiteVerdict {
  met: boolean;
  missing: string[];
  evidence: Record<string, unknown>;
}

/** Node facts by node name, or why they could not be read (no node handle, a failed probe). */
export type NodeFactsByNode = Record<string, NodeFacts | { unavailable: string }>;

const needsNodeProbe = (p: Prerequisites) => Boolean(p.kvm || p.iscsid || p.hugepages2Mi || p.kernelModules?.length || p.microk8sSnap);

/** Reads what the prerequisites need (the API for nodes and architectures, each node's shell for the rest) and judges them. */
export async function checkPrerequisites(ctx: RunContext, cluster: StartedCluster, clients: AddonClients, prerequisites: Prerequisites): Promise<PrerequisiteVerdict> {
  const nodes = await nodeInfos(clients);
  const facts = needsNodeProbe(prerequisites) ? await probeNodes(ctx, cluster, prerequisites.kernelModules ?? []) : {};
  return evaluatePrerequisites(prerequisites, nodes, facts);
}

export async function probeNodes(ctx: RunContext, cluster: StartedCluster, modules: string[]): Promise<NodeFactsByNode> {
  const facts: NodeFactsByNode = {};
  for (const node of cluster.nodes) {
    if (!node.machine) {
      facts[node.name] = { unavailable: 'no node handle (existing cluster): cannot look at the node itself' };
      continue;
    }
    try {
      const result = await node.machine.exec(nodeProbeCommand(modules), { check: false, timeoutMs: ctx.scaled(30_000), signal: ctx.signal });
      facts[node.name] = parseNodeProbe(result.stdout);
    } catch (error) {
      facts[node.name] = { unavailable: `node probe failed: ${describeError(error)}` };
    }
  }
  return facts;
}

/** Pure judgement of prerequisites against what the API and the nodes showed. */
export function evaluatePrerequisites(p: Prerequisites, nodes: NodeInfo[], facts: NodeFactsByNode): PrerequisiteVerdict {
  const missing: string[] = [];
  const evidence: Record<string, unknown> = { nodes: nodes.map((n) => `${n.name} ${n.arch}`) };
  if (p.minNodes && nodes.length < p.minNodes) missing.push(`${p.minNodes} nodes (the cluster has ${nodes.length})`);
  if (p.architectures) {
    const foreign = nodes.filter((n) => !p.architectures!.includes(n.arch as never));
    if (foreign.length) missing.push(`${p.architectures.join(' or ')} nodes (${foreign.map((n) => `${n.name} is ${n.arch}`).join(', ')})`);
  }
  if (needsNodeProbe(p)) {
    for (const [name, fact] of Object.entries(facts)) {
      if ('unavailable' in fact) {
        missing.push(`node-level prerequisites verifiable on ${name} (${fact.unavailable})`);
        continue;
      }
      evidence[name] = nodeEvidence(fact);
      missing.push(...nodeMisses(p, fact).map((miss) => `${miss} on ${name}`));
    }
  }
  return { met: missing.length === 0, missing, evidence };
}

function nodeMisses(p: Prerequisites, fact: NodeFacts): string[] {
  const misses: string[] = [];
  if (p.kvm && fact.kvm.state === 'unusable') misses.push(`a usable /dev/kvm (${fact.kvm.detail})`);
  if (p.iscsid && !fact.iscsid) misses.push('iscsid running (open-iscsi)');
  if (p.hugepages2Mi && fact.hugepages2Mi.total < p.hugepages2Mi) misses.push(`${p.hugepages2Mi} 2 MiB huge pages (${fact.hugepages2Mi.total} configured)`);
  for (const module of p.kernelModules ?? []) if (fact.modules[module] === 'absent' || !fact.modules[module]) misses.push(`kernel module ${module}`);
  if (p.microk8sSnap && !fact.microk8sSnap.installed) misses.push(`the microk8s snap (${fact.microk8sSnap.row})`);
  return misses;
}

function nodeEvidence(fact: NodeFacts): Record<string, unknown> {
  return {
    arch: fact.arch,
    kernel: fact.kernel,
    kvm: `${fact.kvm.state}: ${fact.kvm.detail}`,
    cpuVirtFlags: fact.cpuVirtFlags,
    hugepages2Mi: fact.hugepages2Mi,
    iscsid: fact.iscsid,
    ...(Object.keys(fact.modules).length ? { modules: fact.modules } : {}),
    microk8sSnap: fact.microk8sSnap.row,
  };
}
