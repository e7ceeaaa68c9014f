import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
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

  test('loading it (as the CLI does to validate --suite) loads no suite: runners import theirs when they run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-registry-'));
    try {
      // A resolve hook that prints every module of src/ the import pulls in.
      writeFileSync(join(dir, 'hook.mjs'), `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/src/')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`);
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});`);
      const registry = fileURLToPath(new URL('./registry.ts', import.meta.url));
      const { stderr } = await execa(process.execPath, ['--import', 'tsx', '--import', join(dir, 'register.mjs'), '-e', `await import(${JSON.stringify(registry)})`]);
      const loaded = stderr.split('\n').filter((line) => line.startsWith('LOADED ')).map((line) => line.replace(/^LOADED .*\/src\//, ''));
      expect(loaded).toEqual(['suites/registry.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
