import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { importEdges, layerViolations, readSourceTree, type LayerRules } from '../test/import-graph.js';

/**
 * The layers of src/, top to bottom (docs/adr/0005-layers.md, the README's
 * tour): each folder may import its own files and the folders listed, never
 * one above it. Fixtures outside src/ may be imported from anywhere.
 */
const LAYERS: LayerRules = {
  cli: ['run', 'suites', 'reports', 'bench', 'distros', 'cluster', 'emulation', 'components', 'core'],
  run: ['suites', 'reports', 'bench', 'distros', 'cluster', 'emulation', 'components', 'core'],
  suites: ['reports', 'bench', 'cluster', 'emulation', 'components', 'core'],
  reports: ['bench', 'core'],
  bench: ['core'],
  distros: ['cluster', 'emulation', 'components', 'core'],
  cluster: ['emulation', 'components', 'core'],
  emulation: ['core'],
  components: ['core'],
  core: [],
  'architecture.test.ts': [],
};

const RULES: LayerRules = { cli: ['run', 'core'], run: ['core'], core: [] };

const tree = (files: Record<string, string>) => importEdges(new Map(Object.entries(files)));

describe('import graph', () => {
  it('reads static, re-exported, type-only and dynamic imports, and nothing in comments', () => {
    const edges = tree({
      'cli/main.ts': [
        "import { a } from '../run/pipeline.js';",
        "export { b } from '../core/errors.js';",
        "import type { C } from '../core/types.js';",
        "const d = await import('../run/lazy.js');",
        "// import { e } from '../emulation/nope.js';",
        "const f = 'from ../emulation/nope.js';",
        "import { g } from 'node:fs';",
      ].join('\n'),
    });
    expect(edges.map((edge) => `${edge.from}->${edge.to}`)).toEqual(['cli->run', 'cli->core', 'cli->core', 'cli->run']);
  });

  it('passes a graph whose arrows all point down the table', () => {
    const edges = tree({
      'cli/main.ts': "import { run } from '../run/pipeline.js';",
      'run/pipeline.ts': "import { wait } from '../core/wait.js';\nimport { x } from './steps/x.js';",
      'run/steps/x.ts': "import { y } from '../pipeline.js';\nimport v from '../../../fixtures/versions.json';",
    });
    expect(layerViolations(edges, RULES)).toEqual([]);
  });

  it('fails on an arrow back up the table, naming the file and the import', () => {
    const edges = tree({
      'run/pipeline.ts': "import { EXIT } from '../cli/exit-codes.js';",
      'core/wait.ts': "export type { Spec } from '../run/spec.js';",
    });
    expect(layerViolations(edges, RULES)).toEqual([
      'run/pipeline.ts imports ../cli/exit-codes.js: run may not import cli',
      'core/wait.ts imports ../run/spec.js: core may not import run',
    ]);
  });

  it('fails on a folder the table does not know', () => {
    const edges = tree({ 'plugins/x.ts': "import { wait } from '../core/wait.js';" });
    expect(layerViolations(edges, RULES)).toEqual(['plugins/x.ts: folder "plugins" has no row in the layer table']);
  });
});

describe('the layers of src/', () => {
  it('every import of the real tree points down the table', () => {
    const files = readSourceTree(fileURLToPath(new URL('.', import.meta.url)));
    // The table names exactly the folders there are: none unlisted, no stale row.
    expect(new Set([...files.keys()].map((file) => file.split('/')[0]))).toEqual(new Set(Object.keys(LAYERS)));
    expect(layerViolations(importEdges(files), LAYERS)).toEqual([]);
  });

  it('the table is a strict order: no folder may import one that may import it', () => {
    const cycles = Object.entries(LAYERS).flatMap(([folder, allowed]) => allowed.filter((other) => LAYERS[other]?.includes(folder)).map((other) => `${folder} <-> ${other}`));
    expect(cycles).toEqual([]);
  });
});
