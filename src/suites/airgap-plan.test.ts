import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyCommand, parseApply, parseProbe, parseSnapshot, planCut, probeCommand, restoreCommand, snapshotCommand } from './airgap-plan.js';

const golden = (name: string) => readFileSync(new URL(`../../fixtures/golden/airgap/${name}`, import.meta.url), 'utf8');

/** What snapshotCommand prints on a node reached over SSH from 203.0.113.7 through its default gateway. */
const snapshotOutput = [
  '@@ep v4',
  golden('ip-route-v4.txt').trimEnd(),
  '@@ep v6',
  golden('ip-route-v6.txt').trimEnd(),
  '@@ep ssh 203.0.113.7',
  '@@ep get 172.30.4.11 172.30.4.11 dev a0 src 172.30.4.10 uid 0 ',
  '@@ep get 192.168.8.20 192.168.8.20 via 192.168.7.1 dev a2 src 192.168.7.2 uid 0 ',
  '@@ep get 203.0.113.7 203.0.113.7 via 172.30.4.1 dev a0 src 172.30.4.10 uid 0 ',
  '@@ep end',
].join('\n');

describe('cutting a node off', () => {
  const snapshot = parseSnapshot(snapshotOutput);
  const plan = planCut(snapshot);

  it('reads both tables, the harness address and the lookups', () => {
    expect(snapshot.routes.filter((r) => r.family === 4)).toHaveLength(9);
    expect(snapshot.routes.filter((r) => r.family === 6)).toHaveLength(8);
    expect(snapshot.harness).toBe('203.0.113.7');
    expect(Object.keys(snapshot.lookups)).toEqual(['172.30.4.11', '192.168.8.20', '203.0.113.7']);
  });

  it('pins a host route to a peer or the harness only reached through a removed route, then removes the routes off the node', () => {
    // 172.30.4.11 is on the node's subnet and 192.168.8.20 behind a kept LAN route; the harness only behind the default route.
    expect(plan.pins).toEqual([{ family: 4, spec: '203.0.113.7/32 via 172.30.4.1 dev a0' }]);
    expect(plan.removed.map((r) => r.destination)).toEqual(['default', '8.8.0.0/16', '203.0.113.0/24', 'default']);
  });

  it('writes the scripts: snapshot, apply with a dead-man restore, restore (golden)', async () => {
    const scripts = ['# snapshot', snapshotCommand(['172.30.4.11', '192.168.8.20']), '# apply', applyCommand(plan, 660), '# restore', restoreCommand(plan, 4242), '# probe', probeCommand([{ address: '198.51.100.1', port: 443 }, { address: '2001:db8::1', port: 80 }], 5)].join('\n');
    await expect(`${scripts}\n`).toMatchFileSnapshot('../../fixtures/golden/airgap/node-scripts.sh');
  });

  it('reads the apply output: the dead-man pid and each failed command with its message; a missing line is a failure', () => {
    const output = ['@@ep deadman 4242', '@@ep ok 0', '@@ep fail 1 RTNETLINK answers: No such process', '@@ep ok 2', '@@ep ok 3'].join('\n');
    expect(parseApply(output, plan)).toEqual({ deadManPid: 4242, failures: [{ command: 'ip -4 route del default via 172.30.4.1 dev a0 proto dhcp metric 100', message: 'RTNETLINK answers: No such process' }, { command: 'ip -6 route del default via fd00:1::1 dev a0 metric 1024 pref medium', message: 'no result (the command did not run)' }] });
  });

  it('reads the probe output into route lookups and connection outcomes', () => {
    const output = [
      '@@ep get 198.51.100.1 RTNETLINK answers: Network is unreachable',
      '@@ep tcp 198.51.100.1 1 bash: connect: Network is unreachable bash: /dev/tcp/198.51.100.1/443: Network is unreachable',
      '@@ep get 172.30.4.1 172.30.4.1 dev a0 src 172.30.4.10 uid 0',
      '@@ep tcp 172.30.4.1 0 ',
    ].join('\n');
    expect(parseProbe(output, [{ address: '198.51.100.1', port: 443 }, { address: '172.30.4.1', port: 8080 }, { address: '2001:db8::1', port: 80 }])).toEqual([
      { target: '198.51.100.1:443', route: { routed: false, detail: 'RTNETLINK answers: Network is unreachable' }, outcome: 'unreachable', message: 'bash: connect: Network is unreachable bash: /dev/tcp/198.51.100.1/443: Network is unreachable' },
      { target: '172.30.4.1:8080', route: { routed: true, dev: 'a0', detail: '172.30.4.1 dev a0 src 172.30.4.10 uid 0' }, outcome: 'connected', message: 'exit 0' },
      { target: '[2001:db8::1]:80', route: { routed: false, detail: 'no lookup result' }, outcome: 'error', message: 'no probe result' },
    ]);
  });
});
