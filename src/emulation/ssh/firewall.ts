/**
 * Network partition of a real host with its own firewall: every rule carries
 * the run's tag, so healing (always done at dispose) removes exactly the
 * rules this run added and nothing else. iptables where it exists (every
 * Kubernetes node has it), else an nftables table of the run's own.
 */
import { UsageError } from '../../core/errors.js';
import { shellQuote } from '../machine.js';

export type FirewallTool = 'iptables' | 'nft';

/** The rule tag of a run: `ep-<tag>` (comment for iptables, table name for nft). */
export function firewallTag(runTag: string): string {
  if (!/^[A-Za-z0-9]+$/.test(runTag)) throw new UsageError(`run tag "${runTag}" cannot name firewall rules`);
  return `ep-${runTag}`;
}

const ADDRESS = /^[0-9a-fA-F.:/]+$/;

/** Drops traffic from and to each peer, both directions, tagged. */
export function partitionCommand(tool: FirewallTool, tag: string, peers: string[]): string {
  for (const peer of peers) if (!ADDRESS.test(peer)) throw new UsageError(`cannot partition from "${peer}": give IP addresses or CIDRs`);
  if (tool === 'iptables') {
    return peers
      .flatMap((peer) => [
        `iptables -w -I INPUT -s ${peer} -m comment --comment ${tag} -j DROP`,
        `iptables -w -I OUTPUT -d ${peer} -m comment --comment ${tag} -j DROP`,
      ])
      .join(' && ');
  }
  const table = `inet ${tag.replace(/-/g, '_')}`;
  return [
    `nft add table ${table}`,
    `nft ${shellQuote(`add chain ${table} input { type filter hook input priority -5 ; }`)}`,
    `nft ${shellQuote(`add chain ${table} output { type filter hook output priority -5 ; }`)}`,
    ...peers.flatMap((peer) => {
      const family = peer.includes(':') ? 'ip6' : 'ip';
      return [`nft add rule ${table} input ${family} saddr ${peer} drop`, `nft add rule ${table} output ${family} daddr ${peer} drop`];
    }),
  ].join(' && ');
}

/** Removes every rule with the tag (a no-op when there is none): safe to run at every dispose. */
export function healCommand(tool: FirewallTool, tag: string): string {
  if (tool === 'iptables') {
    return `for chain in INPUT OUTPUT; do iptables -w -S "$chain" | grep -- '--comment ${tag} ' | sed 's/^-A /-D /' | while read -r rule; do iptables -w $rule || exit 1; done; done`;
  }
  return `nft list table inet ${tag.replace(/-/g, '_')} >/dev/null 2>&1 && nft delete table inet ${tag.replace(/-/g, '_')} || true`;
}

/** Prints the tagged rules still present (empty output: healed). */
export function listTaggedCommand(tool: FirewallTool, tag: string): string {
  return tool === 'iptables'
    ? `iptables -w -S | grep -- '--comment ${tag} ' || true`
    : `nft list table inet ${tag.replace(/-/g, '_')} 2>/dev/null || true`;
}

export const detectFirewallCommand = `if command -v iptables >/dev/null 2>&1; then echo iptables; elif command -v nft >/dev/null 2>&1; then echo nft; else echo none; fi`;
