import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../core/paths.js';
import { serviceRuleState } from './service-programming.js';

// `iptables-save -t nat` of a v1.20.2 node container, kube-proxy in iptables mode.
const nat = readFileSync(fixturePath('samples', 'kube-proxy', 'iptables-save-nat-v1.20.2.txt'), 'utf8');
const without = (pattern: RegExp) => nat.split('\n').filter((line) => !pattern.test(line)).join('\n');

describe('serviceRuleState', () => {
  it('a ClusterIP with a jump to its KUBE-SVC chain is programmed', () => {
    expect(serviceRuleState(nat, '10.96.0.1')).toBe('programmed');
  });

  it('a ClusterIP with no rule yet, or only the masquerade mark, is not yet', () => {
    expect(serviceRuleState(nat, '10.96.0.10')).toBe('not-yet');
    expect(serviceRuleState(without(/-j KUBE-SVC-/), '10.96.0.1')).toBe('not-yet');
    expect(serviceRuleState(nat, '10.96.0.11')).toBe('not-yet');
  });

  it('a node without kube-proxy\'s iptables chains cannot be read (another proxy mode)', () => {
    expect(serviceRuleState(without(/KUBE-/), '10.96.0.1')).toBe('not-iptables');
    expect(serviceRuleState('', '10.96.0.1')).toBe('not-iptables');
  });
});
