import { describe, expect, it } from 'vitest';
import { fenceRule } from './bridge-fence.js';

describe('fenceRule', () => {
  it('drops new traffic in from the bridge, lets replies through, and carries the run in its label', () => {
    expect(fenceRule('br-0123456789ab', '20261207-164508-ab12').join(' ')).toBe(
      '-i br-0123456789ab -m conntrack ! --ctstate ESTABLISHED,RELATED -m comment --comment dev.edgeproof/session=20261207-164508-ab12 -j DROP',
    );
  });

  it('refuses an interface name or run id that is not one (they become iptables arguments)', () => {
    expect(() => fenceRule('br-x -j ACCEPT', 'r1')).toThrow(/not a network interface name/);
    expect(() => fenceRule('br-0123456789abc', 'r1')).toThrow(/not a network interface name/);
    expect(() => fenceRule('br-1', 'r1 -j ACCEPT')).toThrow(/cannot label a firewall rule/);
  });
});
