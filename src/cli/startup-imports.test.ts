import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/** Packages that take seconds to load: none of them helps print help or refuse a flag. */
const HEAVY_PACKAGES = ['@kubernetes/client-node', 'ssh2', 'execa', 'dockerode', 'testcontainers'];
/** The only files of src/suites/ the CLI reads before a command runs: the registry and two option parsers. */
const SUITE_FILES_FOR_OPTIONS = ['suites/registry.ts', 'suites/route-table.ts', 'suites/conformance/presets.ts'];

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
let hookDir: string;

beforeAll(() => {
  hookDir = mkdtempSync(join(tmpdir(), 'ep-startup-'));
  // A resolve hook that prints every module the process loads.
  writeFileSync(join(hookDir, 'hook.mjs'), `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`);
  writeFileSync(join(hookDir, 'register.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(hookDir, 'hook.mjs')).href)});`);
});

afterAll(() => rmSync(hookDir, { recursive: true, force: true }));

/** The real CLI in a child process; what it printed, and every module it loaded. */
async function edgeproofLoading(...args: string[]) {
  const result = await execa(process.execPath, ['--import', join(hookDir, 'register.mjs'), bin, ...args], { reject: false, cwd: '/tmp', env: { EDGEPROOF_REAPER: 'off' } });
  const lines = String(result.stderr).split('\n');
  const loaded = lines.filter((line) => line.startsWith('LOADED ')).map((line) => line.slice('LOADED '.length));
  const stderr = lines.filter((line) => !line.startsWith('LOADED ')).join('\n');
  return { code: result.exitCode, stdout: String(result.stdout), stderr, loaded };
}

const packagesAmong = (urls: string[]) => HEAVY_PACKAGES.filter((name) => urls.some((url) => url.includes(`/node_modules/${name}/`)));
const suiteFilesAmong = (urls: string[]) => [...new Set(urls.flatMap((url) => url.match(/\/src\/(suites\/.*\.ts)$/)?.[1] ?? []))].sort();

describe.concurrent('help and usage errors load only what they print from', () => {
  test.each([[['--help']], [['run', '--help']], [['components', '--help']]])('edgeproof %j', async (args) => {
    const { code, stdout, loaded } = await edgeproofLoading(...args);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: edgeproof');
    expect(loaded.some((url) => url.endsWith('/src/cli/main.ts'))).toBe(true);
    expect(packagesAmong(loaded)).toEqual([]);
    expect(suiteFilesAmong(loaded)).toEqual([...SUITE_FILES_FOR_OPTIONS].sort());
  });

  test.each([
    [['run', '--board', 'nope'], 'Unknown board "nope"'],
    [['images', '--distro', 'nope'], 'Unknown distribution "nope"'],
  ])('edgeproof %j', async (args, message) => {
    const { code, stderr, loaded } = await edgeproofLoading(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(packagesAmong(loaded)).toEqual([]);
    expect(suiteFilesAmong(loaded)).toEqual([...SUITE_FILES_FOR_OPTIONS].sort());
  });
});
