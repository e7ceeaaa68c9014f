import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/core/paths.js';

const cli = join(projectRoot(), 'bin', 'edgeproof.js');

/** Where each installer goes first (the host each preflight probes first). */
const FIRST_SOURCE = {
  k3s: 'https://get.k3s.io',
  microk8s: 'https://api.snapcraft.io',
  minikube: 'https://storage.googleapis.com/minikube/releases/v1.36.0/minikube-linux-arm64',
} as const;

const resolvable = async (url: string) =>
  Promise.race([lookup(new URL(url).hostname).then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);

/** Machines with internet cannot show the no-internet error; there the case is skipped, and says why. */
const online = Object.fromEntries(await Promise.all(Object.entries(FIRST_SOURCE).map(async ([name, url]) => [name, await resolvable(url)] as const)));

/**
 * `edgeproof run --distro X` on a machine without internet (like this one):
 * the CLI must stop before building or booting anything, quickly, naming the
 * distribution, the step, the URL or store, and --airgap.
 * Each driver's diskPayloads() runs its preflight first, so this holds with
 * today's run command; the lead's wiring calls preflight() before boot too.
 */
describe('edgeproof run --distro without internet', () => {
  const reports = mkdtempSync(join(tmpdir(), 'ep-preflight-'));
  afterAll(() => rmSync(reports, { recursive: true, force: true }));

  for (const [name, url] of Object.entries(FIRST_SOURCE)) {
    it.skipIf(online[name])(`${name}: exits non-zero within a minute with the unreachable source and the air-gap option`, async () => {
      const started = Date.now();
      const result = await execa(process.execPath, [cli, 'run', '--distro', name, '--suite', 'smoke', '--reports-dir', reports], {
        reject: false,
        timeout: 120_000,
        env: { ...process.env, CI: 'true' },
      });
      const elapsedMs = Date.now() - started;
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.exitCode, output).not.toBe(0);
      expect(result.timedOut).toBe(false);
      expect(elapsedMs, output).toBeLessThan(60_000);
      expect(result.stderr).toContain(`${name}: step "`);
      expect(result.stderr).toContain(url);
      expect(result.stderr).toContain('--airgap DIR');
      // Nothing booted: the check runs before the boot phase (today inside "prepare images", before any build).
      expect(output).not.toMatch(/boot \[ep-/);
    });
  }
});
