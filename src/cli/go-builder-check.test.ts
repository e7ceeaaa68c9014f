import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkGoBuilder } from './host-checks.js';

/** Real toolchains of this host: Go 1.26 in /usr/local/go, Debian's golang-go 1.19. */
describe.skipIf(!existsSync('/usr/local/go/bin/go') || !existsSync('/usr/lib/go-1.19/bin/go'))('doctor: the Go of the component builder', () => {
  it('names the Go it found, the Go it needs, and the older one it does not use', async () => {
    const check = await checkGoBuilder({ PATH: `/usr/lib/go-1.19/bin:${process.env.PATH}` });
    expect(check.status).toBe('ok');
    expect(check.detail).toMatch(/^go 1\.26\.\d+ \(\/usr\/local\/go\/bin\/go\); the builder needs >= 1\.25\.0; also go 1\.19\.\d+ \(\/usr\/lib\/go-1\.19\/bin\/go\), not used$/);
  });

  it('with only Debian go 1.19, says it is too old and how to get a newer one', async () => {
    const check = await checkGoBuilder({ ...process.env, EDGEPROOF_GO: '/usr/lib/go-1.19/bin/go' });
    expect(check).toMatchObject({ status: 'missing', required: true });
    expect(check.detail).toMatch(/needs Go >= 1\.25\.0.*newest found: go 1\.19\.\d+/);
    expect(check.fix).toContain('https://go.dev/dl/');
  });
});
