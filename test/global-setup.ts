import { RunContext } from '../src/core/context.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imagesFor, nodeImage } from './fixtures.js';
import { ensureE2eBinaries } from '../src/suites/conformance/e2e-binaries.js';

/**
 * Builds (or verifies) every image the integration tests boot, once, before
 * any test runs: the cold build (Kubernetes for arm64 and for the host's node
 * containers, root filesystems, the e2e suite) takes
 * longer than a test's timeout and should show its progress.
 */
export default async function setup(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'ep-test-images-'));
  const ctx = new RunContext({ runDir, timeoutScale: 8 });
  try {
    for (const arch of ['arm64', 'amd64'] as const) {
      await ctx.phase(`images for ${arch}`, 90 * 60_000, () => imagesFor(ctx, arch));
    }
    await ctx.phase('node container image', 90 * 60_000, () => nodeImage(ctx));
    // The e2e suite the conformance tests run (from the same Kubernetes module; most packages are already in GOCACHE by then).
    await ctx.phase('e2e suite binaries', 90 * 60_000, () => ensureE2eBinaries(ctx));
  } finally {
    await ctx.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
}
