import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitCodeForError } from '../core/exit-codes.js';
import { compareGoVersions, findGoToolchains, parseGoVersion, requireGoToolchain } from './go-toolchain.js';

/** Debian's golang-go (1.19): real, installed by setup, too old for the pinned modules. */
const DEBIAN_GO = '/usr/lib/go-1.19/bin/go';

describe('go versions', () => {
  it('parses GOVERSION and compares numerically', () => {
    expect(parseGoVersion('go1.26.8\n')).toBe('1.26.8');
    expect(parseGoVersion('go1.22')).toBe('1.22');
    expect(parseGoVersion('devel +abc')).toBeUndefined();
    expect(compareGoVersions('1.26.8', '1.25.0')).toBeGreaterThan(0);
    expect(compareGoVersions('1.9', '1.19')).toBeLessThan(0);
    expect(compareGoVersions('1.25', '1.25.0')).toBe(0);
  });
});

describe.skipIf(!existsSync(DEBIAN_GO))('the toolchains on this host', () => {
  it('an old go named by EDGEPROOF_GO is refused, naming what was found, what is needed and how to get it (exit 2)', async () => {
    const error = await requireGoToolchain('1.25.0', 'k8s.io/kubernetes@v1.35.4 declares go 1.25.0', { ...process.env, EDGEPROOF_GO: DEBIAN_GO }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PREREQUISITE_MISSING' });
    expect((error as Error).message).toMatch(/^Go >= 1\.25\.0 \(k8s\.io\/kubernetes@v1\.35\.4 declares go 1\.25\.0; found go 1\.19\.\d+ \(\/usr\/lib\/go-1\.19\/bin\/go\)\) is missing$/);
    expect((error as { hint: string }).hint).toContain('https://go.dev/dl/');
    expect(exitCodeForError(error)).toBe(2);
  });

  it('with both on PATH, the newest is chosen whatever the PATH order', async () => {
    const toolchains = await findGoToolchains({ PATH: `/usr/lib/go-1.19/bin:/usr/local/go/bin:${process.env.PATH}` });
    expect(toolchains[0]?.path).toBe('/usr/local/go/bin/go');
    expect(toolchains.at(-1)?.version).toMatch(/^1\.19\./);
  });
});
