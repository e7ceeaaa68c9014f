/**
 * A node's routing table as `ip route show` prints it, and the plan that cuts
 * the node off everything but the cluster's own networks (MicroK8s' air-gap
 * test removes the default route; this also removes any other gateway route
 * to public space). Pure: parsing, planning and the shell lines, tested on
 * real `ip` output; the scenario runs them on the nodes.
 */
import { BlockList, isIP } from 'node:net';
import { UsageError } from '../core/errors.js';

export type Family = 4 | 6;

export interface Route {
  family: Family;
  /** The line as printed (multipath continuation lines joined). */
  line: string;
  /** unicast unless the line starts with a type (local, blackhole, unreachable, prohibit, throw...). */
  type: string;
  /** 'default' or a prefix: 10.0.0.0/8, 192.0.2.1 (a host route prints without /32). */
  destination: string;
  via?: string;
  dev?: string;
  /** The route leaves the node through a gateway (`via`, or a multipath `nexthop via`). */
  gateway: boolean;
}

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'nat', 'anycast']);

/** Words `ip route show` prints that `ip route add` refuses: state flags, and `expires N` / `cache` annotations. */
const OUTPUT_ONLY = new Set(['linkdown', 'dead', 'offload', 'trap', 'rt_offload', 'rt_trap', 'rt_offload_failed', 'pervasive', 'notify', 'cache']);

/** Parses `ip [-6] route show` output; multipath routes (continuation lines starting with whitespace) become one route. */
export function parseRoutes(output: string, family: Family): Route[] {
  const lines: string[] = [];
  for (const raw of output.split('\n')) {
    if (!raw.trim()) continue;
    if (/^\s/.test(raw) && lines.length > 0) lines[lines.length - 1] += ` ${raw.trim()}`;
    else lines.push(raw.trim());
  }
  return lines.map((line) => parseRoute(line, family));
}

function parseRoute(line: string, family: Family): Route {
  const words = line.split(/\s+/);
  const type = ROUTE_TYPES.has(words[0]!) ? words.shift()! : 'unicast';
  const destination = words[0]!;
  const after = (key: string) => {
    const i = words.indexOf(key);
    return i >= 0 ? words[i + 1] : undefined;
  };
  const via = after('via');
  const dev = after('dev');
  return { family, line, type, destination, ...(via ? { via } : {}), ...(dev ? { dev } : {}), gateway: via !== undefined };
}

/** The route as `ip route add/del` takes it back: output-only words removed. */
export function routeSpec(route: Route): string {
  const words = route.line.split(/\s+/);
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === 'expires') {
      i++;
      continue;
    }
    if (!OUTPUT_ONLY.has(words[i]!)) kept.push(words[i]!);
  }
  return kept.join(' ');
}

/** Private, link-local and unique-local space: a cluster's node, pod and service networks live there, the internet does not. */
export const PRIVATE_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];

function prefixOf(cidr: string): { address: string; bits: number; family: Family } {
  const [address, bitsText] = cidr.split('/');
  const family = isIP(address!) as Family;
  if (family !== 4 && family !== 6) throw new UsageError(`"${cidr}" is not an IP network`);
  const bits = bitsText === undefined ? (family === 4 ? 32 : 128) : Number(bitsText);
  return { address: address!, bits, family };
}

/** True when network `inner` lies entirely inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = prefixOf(inner);
  const b = prefixOf(outer);
  if (a.family !== b.family || a.bits < b.bits) return false;
  const list = new BlockList();
  list.addSubnet(b.address, b.bits, b.family === 4 ? 'ipv4' : 'ipv6');
  return list.check(a.address, a.family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The routes that lead off the node: every default route, and every gateway
 * route to a destination outside the cluster's networks (`keep`: private
 * space and the pod CIDRs). Connected subnets, blackholes and the overlay's
 * routes to pod networks stay, so the cluster keeps working.
 */
export function routesOffNode(routes: Route[], keep: string[] = PRIVATE_NETWORKS): Route[] {
  return routes.filter((route) => {
    if (route.type !== 'unicast') return false;
    if (route.destination === 'default') return true;
    if (!route.gateway) return false;
    return !keep.some((network) => prefixOf(network).family === route.family && cidrWithin(route.destination, network));
  });
}

/** `ip route get ADDR`: the route the kernel would use, or why there is none. */
export interface RouteLookup {
  routed: boolean;
  via?: string;
  dev?: string;
  /** The first line of the answer, or the error ("RTNETLINK answers: Network is unreachable"). */
  detail: string;
}

export function parseRouteGet(output: string): RouteLookup {
  const first = output.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  if (!first || /unreachable|RTNETLINK|Error|error/i.test(first) && !/\bdev\b/.test(first)) return { routed: false, detail: first || 'no answer' };
  const words = first.split(/\s+/);
  const at = (key: string) => (words.indexOf(key) >= 0 ? words[words.indexOf(key) + 1] : undefined);
  const via = at('via');
  const dev = at('dev');
  return { routed: true, ...(via ? { via } : {}), ...(dev ? { dev } : {}), detail: first };
}

/** An outside address the air-gapped node must fail to reach: an IP literal and a TCP port. */
export interface OutsideTarget {
  address: string;
  port: number;
}

/**
 * Defaults to a documentation address (RFC 5737 TEST-NET-2), never a public
 * service: nothing depends on it answering. Not TEST-NET-1: some sandboxes
 * (this project's CI among them) use 192.0.2.0/24 as their real network.
 */
export const DEFAULT_OUTSIDE_TARGET: OutsideTarget = { address: '198.51.100.1', port: 443 };

/** `1.1.1.1`, `1.1.1.1:443`, `[2001:db8::1]:80`: IP literals only (a name needs DNS, the first thing an air gap cuts). */
export function parseOutsideTarget(text: string): OutsideTarget {
  const trimmed = text.trim();
  const match = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(trimmed) ?? /^([0-9.]+)(?::(\d+))?$/.exec(trimmed) ?? (isIP(trimmed) === 6 ? [trimmed, trimmed, undefined] : null);
  const address = match?.[1];
  if (!address || !isIP(address)) {
    throw new UsageError(`--airgap-target "${text}" is not an IP address[:port]`, 'write e.g. 1.1.1.1:443 or [2001:db8::1]:80; a host name would need DNS, which the air gap cuts first, so it would prove nothing');
  }
  const port = match[2] === undefined ? 443 : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--airgap-target "${text}": port ${match[2]} is not 1-65535`);
  return { address, port };
}

export function formatTarget(target: OutsideTarget): string {
  return isIP(target.address) === 6 ? `[${target.address}]:${target.port}` : `${target.address}:${target.port}`;
}

export type ConnectOutcome = 'connected' | 'refused' | 'unreachable' | 'no-route-to-host' | 'timeout' | 'error';

/** A TCP connection attempt from the node's shell (bash /dev/tcp under `timeout`): its exit code and message. */
export function classifyConnect(exitCode: number, message: string): ConnectOutcome {
  if (exitCode === 0) return 'connected';
  if (/connection refused/i.test(message)) return 'refused';
  if (/network is unreachable/i.test(message)) return 'unreachable';
  if (/no route to host/i.test(message)) return 'no-route-to-host';
  if (exitCode === 124) return 'timeout';
  return 'error';
}

/** A refused connection is an answer: a reset came back, so the packet got there. */
export const reached = (outcome: ConnectOutcome): boolean => outcome === 'connected' || outcome === 'refused';
