import { describe, expect, test } from 'vitest';
import { ADDON_SUITE_NAMES } from './addons/images.js';
import { SUITE_NAMES, SUITES, suiteChangesCluster } from './registry.js';

describe('suites registry', () => {
  test('lists the core suites, then the addon suites, each with a one-line help', () => {
    expect(SUITE_NAMES).toEqual(['smoke', 'footprint', 'api-latency', 'cni', 'ha', 'airgap', 'conformance', ...ADDON_SUITE_NAMES]);
    for (const name of SUITE_NAMES) expect(SUITES[name].help).toMatch(/^[^\n]{10,100}$/);
  });

  test('ha changes the cluster; addon suites do when they install addons; the rest never', () => {
    const changing = (installingAddons: boolean) => SUITE_NAMES.filter((name) => suiteChangesCluster(name, { installingAddons }));
    expect(changing(false)).toEqual(['ha']);
    expect(changing(true)).toEqual(['ha', ...ADDON_SUITE_NAMES]);
  });

  test('only ha asks the topology for more than one control plane', () => {
    const needs = Object.fromEntries(SUITE_NAMES.flatMap((name) => (SUITES[name].needs ? [[name, SUITES[name].needs]] : [])));
    expect(needs).toEqual({ ha: { controlPlanes: 3 } });
  });
});
