/**
 * The shell a node runs to be cut off and put back: what its routes are,
 * which of them leave the node, the host routes that keep the cluster and
 * the harness reachable, and a restore that also runs by itself when the
 * harness never comes back (a dead-man timer in the guest). Pure builders and
 * parsers; `airgap.ts` runs them.
 */
import { isIP } from 'node:net';
import { shellQuote } from '../emulation/machine.js';
import { cidrWithin, classifyConnect, parseRouteGet, parseRoutes, routeSpec, routesOffNode, type ConnectOutcome, type OutsideTarget, type Route, type RouteLookup } from './route-table.js';

const MARK = '@@ep';

/** Prints the main routing tables, the harness's SSH address, and the route to each address that must stay reachable. */
export function snapshotCommand(keepAddresses: string[]): string {
  const addresses = keepAddresses.map(shellQuote).join(' ');
  return [
    'ssh=${SSH_CLIENT%% *}',
    `echo "${MARK} v4"; ip -4 route show table main`,
    `echo "${MARK} v6"; ip -6 route show table main 2>/dev/null`,
    `echo "${MARK} ssh $ssh"`,
    `for a in ${addresses} $ssh; do echo "${MARK} get $a $(ip route get "$a" 2>&1 | head -n 1)"; done`,
    `echo "${MARK} end"`,
  ].join('\n');
}

export interface Snapshot {
  routes: Route[];
  /** The address the harness reaches the node from over SSH, when it does. */
  harness?: string;
  lookups: Record<string, RouteLookup>;
}

export function parseSnapshot(output: string): Snapshot {
  const sections: Record<string, string[]> = { v4: [], v6: [] };
  let current: string | undefined;
  let harness: string | undefined;
  const lookups: Record<string, RouteLookup> = {};
  for (const line of output.split('\n')) {
    const marked = line.startsWith(`${MARK} `) ? line.slice(MARK.length + 1) : undefined;
    if (marked === undefined) {
      if (current) sections[current]!.push(line);
      continue;
    }
    current = marked === 'v4' || marked === 'v6' ? marked : undefined;
    const [word, address, ...rest] = marked.split(' ');
    if (word === 'ssh' && address) harness = address;
    if (word === 'get' && address) lookups[address] = parseRouteGet(rest.join(' '));
  }
  return { routes: [...parseRoutes(sections.v4!.join('\n'), 4), ...parseRoutes(sections.v6!.join('\n'), 6)], ...(harness ? { harness } : {}), lookups };
}

/** What one node's cut changes: host routes pinned first, then the routes off the node removed. */
export interface CutPlan {
  removed: Route[];
  /** `ip route add` specs keeping a single address reachable through its gateway (other nodes, the harness). */
  pins: { family: 4 | 6; spec: string }[];
}

/**
 * Addresses that must stay reachable (other nodes, the harness) but are
 * reached through a gateway get a host route before the gateway routes go.
 */
export function planCut(snapshot: Snapshot, keepNetworks?: string[]): CutPlan {
  const removed = routesOffNode(snapshot.routes, keepNetworks);
  const kept = snapshot.routes.filter((r) => !removed.includes(r) && r.type === 'unicast' && r.destination !== 'default');
  const pins: CutPlan['pins'] = [];
  for (const [address, lookup] of Object.entries(snapshot.lookups)) {
    if (!lookup.routed || !lookup.via) continue;
    // Still reachable through a route that stays (an overlay's, a LAN's): nothing to pin.
    if (kept.some((r) => isIP(r.destination.split('/')[0]!) === isIP(address) && cidrWithin(address, r.destination))) continue;
    const family = isIP(address) === 6 ? 6 : 4;
    pins.push({ family, spec: `${address}/${family === 6 ? 128 : 32} via ${lookup.via}${lookup.dev ? ` dev ${lookup.dev}` : ''}` });
  }
  return { removed, pins };
}

const ip = (family: 4 | 6) => (family === 6 ? 'ip -6 route' : 'ip -4 route');

/** Puts the removed routes back (replace: idempotent) and drops the pins; first stops the dead-man timer when given its pid. */
export function restoreScript(plan: CutPlan): string {
  const lines = [
    ...plan.removed.map((r) => `${ip(r.family)} replace ${routeSpec(r)}`),
    ...plan.pins.map((p) => `${ip(p.family)} del ${p.spec} 2>/dev/null`),
  ];
  return lines.length ? lines.join('; ') : 'true';
}

/**
 * Pins, removals (each reported ok or failed with its message), and a
 * dead-man timer that restores by itself after `deadManS` seconds unless the
 * harness stops it: a board over SSH whose harness died keeps its routes.
 */
export function applyCommand(plan: CutPlan, deadManS: number): string {
  const steps = [...plan.pins.map((p) => `${ip(p.family)} add ${p.spec}`), ...plan.removed.map((r) => `${ip(r.family)} del ${routeSpec(r)}`)];
  const restore = shellQuote(`sleep ${Math.max(1, Math.round(deadManS))}; ${restoreScript(plan)}`);
  return [
    `if command -v setsid >/dev/null 2>&1; then setsid sh -c ${restore} </dev/null >/dev/null 2>&1 & else sh -c ${restore} </dev/null >/dev/null 2>&1 & fi`,
    `echo "${MARK} deadman $!"`,
    ...steps.map((step, i) => `out=$(${step} 2>&1) && echo "${MARK} ok ${i}" || echo "${MARK} fail ${i} $out"`),
  ].join('\n');
}

export interface ApplyOutcome {
  deadManPid?: number;
  failures: { command: string; message: string }[];
}

export function parseApply(output: string, plan: CutPlan): ApplyOutcome {
  const steps = [...plan.pins.map((p) => `${ip(p.family)} add ${p.spec}`), ...plan.removed.map((r) => `${ip(r.family)} del ${routeSpec(r)}`)];
  const failures: ApplyOutcome['failures'] = [];
  const seen = new Set<number>();
  let deadManPid: number | undefined;
  for (const line of output.split('\n')) {
    const match = new RegExp(`^${MARK} (deadman|ok|fail) (\\d+)\\s*(.*)$`).exec(line.trim());
    if (!match) continue;
    const n = Number(match[2]);
    if (match[1] === 'deadman') deadManPid = n;
    else seen.add(n);
    if (match[1] === 'fail') failures.push({ command: steps[n] ?? `step ${n}`, message: match[3]!.trim() });
  }
  steps.forEach((command, i) => seen.has(i) || failures.push({ command, message: 'no result (the command did not run)' }));
  return { ...(deadManPid ? { deadManPid } : {}), failures };
}

/** Stops the dead-man timer (when still waiting), restores, and prints the tables again. */
export function restoreCommand(plan: CutPlan, deadManPid?: number): string {
  return [
    // The timer leads its own session (setsid): its whole group goes, the sleep with it.
    ...(deadManPid ? [`kill -- -${deadManPid} 2>/dev/null || kill ${deadManPid} 2>/dev/null`] : []),
    `${restoreScript(plan)}`,
    `echo "${MARK} v4"; ip -4 route show table main`,
    `echo "${MARK} v6"; ip -6 route show table main 2>/dev/null`,
    `echo "${MARK} end"`,
  ].join('\n');
}

/** The lookup and a TCP connection attempt (bash /dev/tcp under `timeout`) for each target. */
export function probeCommand(targets: OutsideTarget[], timeoutS: number): string {
  const t = Math.max(1, Math.round(timeoutS));
  return targets
    .map(({ address, port }) => {
      const a = shellQuote(address);
      const tcp = shellQuote(`exec 3<>/dev/tcp/${address}/${port}`);
      return [
        `echo "${MARK} get ${address} $(ip route get ${a} 2>&1 | head -n 1)"`,
        `out=$(timeout ${t} bash -c ${tcp} 2>&1); rc=$?`,
        `echo "${MARK} tcp ${address} $rc $(echo $out | tr '\\n' ' ')"`,
      ].join('\n');
    })
    .join('\n');
}

export interface ProbeResult {
  target: string;
  route: RouteLookup;
  outcome: ConnectOutcome;
  message: string;
}

export function parseProbe(output: string, targets: OutsideTarget[]): ProbeResult[] {
  const gets = new Map<string, RouteLookup>();
  const tcps = new Map<string, { rc: number; message: string }>();
  for (const line of output.split('\n')) {
    const match = new RegExp(`^${MARK} (get|tcp) (\\S+) ?(.*)$`).exec(line.trim());
    if (!match) continue;
    if (match[1] === 'get') gets.set(match[2]!, parseRouteGet(match[3]!));
    else {
      const [rc, ...rest] = match[3]!.split(' ');
      tcps.set(match[2]!, { rc: Number(rc), message: rest.join(' ').trim() });
    }
  }
  return targets.map(({ address, port }) => {
    const tcp = tcps.get(address);
    return {
      target: `${isIP(address) === 6 ? `[${address}]` : address}:${port}`,
      route: gets.get(address) ?? { routed: false, detail: 'no lookup result' },
      outcome: tcp ? classifyConnect(tcp.rc, tcp.message) : 'error',
      message: tcp?.message || (tcp ? `exit ${tcp.rc}` : 'no probe result'),
    };
  });
}
