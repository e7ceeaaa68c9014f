import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { ADDON_NAMES, addonByName, addonsOfArea, parseAddonRequest } from './catalog.js';

describe('addon catalog', () => {
  it('an unknown addon is a usage error listing every valid one, with a suggestion', () => {
    expect(() => addonByName('metalb')).toThrow(/Unknown addon "metalb" \(did you mean "metallb"\?\)/);
    try {
      addonByName('nope');
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).hint).toBe(`valid addons: ${ADDON_NAMES.join(', ')}`);
    }
  });

  it('validates MetalLB arguments before anything is installed', () => {
    const request = parseAddonRequest('metallb:10.64.140.43-10.64.140.49');
    expect(request.addon.name).toBe('metallb');
    expect(request.args).toMatchObject({ kind: 'ipv4-pool', text: '10.64.140.43-10.64.140.49' });
    expect(() => parseAddonRequest('metallb:10.64.140.49-10.64.140.43')).toThrow(/ends before it starts/);
    expect(() => parseAddonRequest('metallb')).toThrow(/needs an IPv4 address pool/);
  });

  it('refuses arguments to an addon that takes none', () => {
    expect(() => parseAddonRequest('istio:strict')).toThrow(/takes no arguments/);
    expect(parseAddonRequest('istio').args).toBeUndefined();
  });

  it('groups addons by suite area, each with prerequisites and at least one presence variant', () => {
    expect(addonsOfArea('storage').map((a) => a.name)).toEqual(['openebs-jiva', 'openebs-mayastor', 'longhorn']);
    for (const name of ADDON_NAMES) {
      const spec = addonByName(name);
      expect(spec.presence.length, name).toBeGreaterThan(0);
      expect(spec.presence.every((variant) => variant.length > 0), name).toBe(true);
      expect(spec.docs, name).toMatch(/^https:\/\//);
    }
    expect(addonByName('openebs-mayastor').prerequisites).toEqual({ architectures: ['amd64'], kernelModules: ['nvme_tcp', 'nvme_fabrics'], hugepages2Mi: 1024, minNodes: 3 });
    expect(addonByName('kata').prerequisites.kvm).toBe(true);
  });
});
