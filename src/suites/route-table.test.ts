import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OUTSIDE_TARGET,
  cidrWithin,
  classifyConnect,
  parseOutsideTarget,
  parseRouteGet,
  parseRoutes,
  reached,
  routeSpec,
  routesOffNode,
} from './route-table.js';

// Captured from iproute2 6.1 in a network namespace (default, dhcp metric, public gateway route,
// flannel-style onlink pod route, Calico-style blackhole, multipath, a LAN behind a router).
const golden = (name: string) => readFileSync(new URL(`../../fixtures/golden/airgap/${name}`, import.meta.url), 'utf8');
const v4 = parseRoutes(golden('ip-route-v4.txt'), 4);
const v6 = parseRoutes(golden('ip-route-v6.txt'), 6);

describe('ip route output', () => {
  it('parses every line, joining multipath continuation lines', () => {
    expect(v4.map((r) => r.destination)).toEqual(['default', '8.8.0.0/16', '10.1.5.0/26', '10.244.0.0/24', '10.244.1.0/24', '172.30.4.0/24', '192.168.7.0/24', '192.168.8.0/24', '203.0.113.0/24']);
    expect(v4[0]).toMatchObject({ type: 'unicast', via: '172.30.4.1', dev: 'a0', gateway: true });
    expect(v4[2]).toMatchObject({ type: 'blackhole', gateway: false });
    expect(v4[8]!.line).toBe('203.0.113.0/24 nexthop via 172.30.4.1 dev a0 weight 1 nexthop via 172.30.4.2 dev a0 weight 1');
    expect(v4[8]!.gateway).toBe(true);
    expect(v6.at(-1)).toMatchObject({ destination: 'default', via: 'fd00:1::1', family: 6 });
  });

  it('gives back a spec `ip route add/del` accepts: trailing blanks and output-only words dropped', () => {
    expect(routeSpec(v4[0]!)).toBe('default via 172.30.4.1 dev a0 proto dhcp metric 100');
    expect(routeSpec(parseRoutes('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown \n', 4)[0]!)).toBe('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1');
    expect(routeSpec(parseRoutes('2001:db8::/64 via fe80::1 dev eth0 proto ra metric 100 expires 1790sec pref medium', 6)[0]!)).toBe('2001:db8::/64 via fe80::1 dev eth0 proto ra metric 100 pref medium');
  });

  it('removes default routes and gateway routes to public space; keeps connected, pod, blackhole and private routes', () => {
    expect(routesOffNode(v4).map((r) => r.destination)).toEqual(['default', '8.8.0.0/16', '203.0.113.0/24']);
    expect(routesOffNode(v6).map((r) => r.destination)).toEqual(['default']);
  });

  it('a route inside a pod CIDR given as the cluster network stays even outside private space', () => {
    const routes = parseRoutes('default via 192.0.2.1 dev eth0\n198.18.1.0/24 via 192.0.2.11 dev eth0 onlink\n', 4);
    expect(routesOffNode(routes).map((r) => r.destination)).toEqual(['default', '198.18.1.0/24']);
    expect(routesOffNode(routes, ['198.18.0.0/16']).map((r) => r.destination)).toEqual(['default']);
  });

  it('cidrWithin compares prefixes, not strings', () => {
    expect(cidrWithin('10.244.1.0/24', '10.0.0.0/8')).toBe(true);
    expect(cidrWithin('10.0.0.0/7', '10.0.0.0/8')).toBe(false);
    expect(cidrWithin('172.32.0.0/16', '172.16.0.0/12')).toBe(false);
    expect(cidrWithin('192.0.2.1', '192.0.2.0/24')).toBe(true);
    expect(cidrWithin('fd00:1::/64', 'fc00::/7')).toBe(true);
    expect(cidrWithin('fd00:1::/64', '10.0.0.0/8')).toBe(false);
  });
});

describe('ip route get', () => {
  it('reads the route the kernel would take, or the refusal', () => {
    expect(parseRouteGet('198.51.100.1 via 172.30.4.1 dev a0 src 172.30.4.10 uid 0 \n    cache \n')).toEqual({ routed: true, via: '172.30.4.1', dev: 'a0', detail: '198.51.100.1 via 172.30.4.1 dev a0 src 172.30.4.10 uid 0' });
    expect(parseRouteGet('172.30.4.11 dev a0 src 172.30.4.10 uid 0 \n    cache \n')).toMatchObject({ routed: true, dev: 'a0' });
    expect(parseRouteGet('RTNETLINK answers: Network is unreachable\n')).toEqual({ routed: false, detail: 'RTNETLINK answers: Network is unreachable' });
    expect(parseRouteGet('')).toEqual({ routed: false, detail: 'no answer' });
  });
});

describe('outside targets and connection outcomes', () => {
  it('parses IP literals with an optional port, and refuses names', () => {
    expect(parseOutsideTarget('1.1.1.1')).toEqual({ address: '1.1.1.1', port: 443 });
    expect(parseOutsideTarget(' 1.1.1.1:80 ')).toEqual({ address: '1.1.1.1', port: 80 });
    expect(parseOutsideTarget('[2001:db8::1]:8080')).toEqual({ address: '2001:db8::1', port: 8080 });
    expect(parseOutsideTarget('2001:db8::1')).toEqual({ address: '2001:db8::1', port: 443 });
    expect(() => parseOutsideTarget('example.com:443')).toThrow(/not an IP address\[:port\]/);
    expect(() => parseOutsideTarget('1.1.1.1:70000')).toThrow(/port 70000/);
    expect(DEFAULT_OUTSIDE_TARGET.address).toBe('198.51.100.1');
  });

  it('classifies what bash printed for /dev/tcp (real messages)', () => {
    expect(classifyConnect(1, 'bash: connect: Network is unreachable\nbash: /dev/tcp/198.51.100.1/443: Network is unreachable')).toBe('unreachable');
    expect(classifyConnect(1, 'bash: connect: Connection refused\nbash: /dev/tcp/172.30.4.10/9: Connection refused')).toBe('refused');
    expect(classifyConnect(124, '')).toBe('timeout');
    expect(classifyConnect(0, '')).toBe('connected');
    expect(classifyConnect(1, 'bash: connect: No route to host')).toBe('no-route-to-host');
    expect(reached('refused')).toBe(true);
    expect(reached('timeout')).toBe(false);
  });
});
