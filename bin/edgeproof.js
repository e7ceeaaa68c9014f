#!/usr/bin/env node
// The `edgeproof` command: registers tsx's ESM loader in this process and runs
// src/cli/main.ts. One process, so Ctrl-C reaches the run directly.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 18)) {
  process.stderr.write(`error: edgeproof needs Node.js >= 20.18.1 (this is ${process.versions.node})\n`);
  process.exit(2);
}

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch (error) {
    const root = new URL('..', import.meta.url).pathname;
    process.stderr.write(`error: cannot load tsx (${error.message})\n  hint: install the dependencies: cd ${root} && npm ci (or node scripts/setup.mjs)\n`);
    process.exit(2); // a missing prerequisite, as EXIT_CODES_HELP says
  }
}

const { register } = await loadTsx();
register();
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv));
