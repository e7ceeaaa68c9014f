import type { RunContext } from '../core/context.js';
import { waitFor } from '../core/wait.js';
import type { ClusterNode } from '../cluster/distribution.js';

/**
 * Whether a node's kube-proxy (iptables mode) sends a ClusterIP to its
 * endpoints yet, read from `iptables-save -t nat`. Until it does, a packet to
 * the ClusterIP follows the node's default route: on a private network it is
 * dropped, and a probe times out instead of being refused.
 */
export type ServiceRuleState = 'programmed' | 'not-yet' | 'not-iptables';

export function serviceRuleState(natTable: string, clusterIp: string): ServiceRuleState {
  if (!/^:KUBE-SERVICES /m.test(natTable)) return 'not-iptables';
  const destination = `-d ${clusterIp}/32 `;
  const programmed = natTable.split('\n').some((line) => line.startsWith('-A KUBE-SERVICES ') && line.includes(destination) && / -j KUBE-SVC-\S+\s*$/.test(line));
  return programmed ? 'programmed' : 'not-yet';
}

/**
 * Waits until every node with a machine handle has the ClusterIP programmed.
 * Nodes without a handle (the existing backend), or whose proxy is not in
 * iptables mode, cannot be read: they are named, not waited for.
 * Resolves to each node's state, the evidence of what the probe met.
 */
export async function waitServiceProgrammed(ctx: RunContext, nodes: ClusterNode[], clusterIp: string): Promise<Record<string, ServiceRuleState | 'no machine'>> {
  const states: Record<string, ServiceRuleState | 'no machine'> = Object.fromEntries(nodes.map((n) => [n.name, n.machine ? 'not-yet' : 'no machine']));
  await waitFor(
    async () => {
      for (const node of nodes.filter((n) => n.machine && states[n.name] === 'not-yet')) {
        const { stdout } = await node.machine!.exec('iptables-save -t nat 2>/dev/null', { check: false, timeoutMs: ctx.scaled(10_000), signal: ctx.signal });
        states[node.name] = serviceRuleState(stdout, clusterIp);
      }
      const waiting = Object.entries(states).filter(([, state]) => state === 'not-yet').map(([name]) => name);
      return waiting.length === 0 ? { done: true, value: undefined } : { done: false, observed: `no KUBE-SVC rule for ${clusterIp} yet on ${waiting.join(', ')}` };
    },
    { what: `kube-proxy rules for ${clusterIp} on every node`, budgetMs: ctx.scaled(30_000), pollMs: 500, signal: ctx.signal },
  );
  return states;
}
