import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { numberToIpv4, parseIpv4Pool, poolContains, poolSize } from './ip-ranges.js';

describe('MetalLB address pools', () => {
  it('takes ranges and CIDRs, comma-separated, as MicroK8s documents them', () => {
    const blocks = parseIpv4Pool('10.64.140.43-10.64.140.49, 10.64.141.53-10.64.141.59,10.12.13.0/24');
    expect(blocks.map((b) => [b.text, numberToIpv4(b.first), numberToIpv4(b.last)])).toEqual([
      ['10.64.140.43-10.64.140.49', '10.64.140.43', '10.64.140.49'],
      ['10.64.141.53-10.64.141.59', '10.64.141.53', '10.64.141.59'],
      ['10.12.13.0/24', '10.12.13.0', '10.12.13.255'],
    ]);
    expect(poolSize(blocks)).toBe(7 + 7 + 256);
    expect(poolContains(blocks, '10.12.13.200')).toBe(true);
    expect(poolContains(blocks, '10.64.140.50')).toBe(false);
    expect(poolContains(blocks, 'not-an-ip')).toBe(false);
  });

  it('a single address is a /32 or a one-address range', () => {
    expect(poolSize(parseIpv4Pool('192.168.1.10/32'))).toBe(1);
    expect(poolSize(parseIpv4Pool('192.168.1.10-192.168.1.10'))).toBe(1);
  });

  const FORMS = /a\.b\.c\.d-a\.b\.c\.e/;
  it.each([
    ['', /is empty/, FORMS],
    ['10.0.0.1-10.0.0', /invalid IPv4 address "10.0.0"/, FORMS],
    ['10.0.0.256-10.0.0.300', /invalid IPv4 address "10.0.0.256"/, FORMS],
    ['10.0.0.9-10.0.0.1', /ends before it starts/, /write the lower address first: 10.0.0.1-10.0.0.9/],
    ['10.0.0.0/33', /prefix \/33/, FORMS],
    ['10.0.0.1', /neither a range nor a CIDR/, FORMS],
    ['10.0.0.1-10.0.0.5,,10.0.0.9/32', /empty entry/, FORMS],
    ['10.0.0.0/24,10.0.0.10-10.0.0.20', /overlap/, /give each address once/],
    ['fd00::1-fd00::5', /invalid IPv4 address "fd00::1"/, FORMS],
  ])('rejects %j with a usage error saying what is valid', (text, message, hint) => {
    const attempt = () => parseIpv4Pool(text);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
    expect(() => attempt()).toThrow(expect.objectContaining({ hint: expect.stringMatching(hint) }));
  });
});
