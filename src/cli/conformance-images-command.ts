import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunContext } from '../core/context.js';
import { makeDirectory } from '../core/paths.js';
import { ensureE2eBinaries } from '../suites/conformance/e2e-binaries.js';
import { listE2eImages, mirrorPlan, parseMirror } from '../suites/conformance/images.js';
import { EXIT } from '../core/exit-codes.js';

export interface ConformanceImagesOptions {
  mirror?: string;
  /** Absolute; images.txt, and with a mirror mirror.txt and repo-list.yaml, are written there. */
  out?: string;
  cacheDir: string;
}

/**
 * `edgeproof conformance-images`: every image the e2e suite of this version
 * may pull (`e2e.test --list-images` of the built binary, plus the
 * conformance image). With --mirror: the copy list ("source target") and
 * the KUBE_TEST_REPO_LIST file that makes the suite pull from the mirror.
 */
export async function conformanceImagesCommand(options: ConformanceImagesOptions): Promise<number> {
  const mirror = options.mirror === undefined ? undefined : parseMirror(options.mirror);
  const runDir = join(options.cacheDir, 'tmp', `conformance-images-${process.pid}`);
  const ctx = new RunContext({ runDir, cacheDir: options.cacheDir });
  try {
    const binaries = await ensureE2eBinaries(ctx);
    const images = await listE2eImages(binaries.e2eTest, ctx.signal);
    const plan = mirror ? mirrorPlan(images, mirror, binaries.version) : undefined;
    const lines = plan ? plan.copies.map((c) => `${c.source} ${c.target}`) : images;
    process.stdout.write(`${lines.join('\n')}\n`);
    if (options.out) {
      makeDirectory(options.out);
      writeFileSync(join(options.out, 'images.txt'), `${images.join('\n')}\n`);
      if (plan) {
        writeFileSync(join(options.out, 'mirror.txt'), `${lines.join('\n')}\n`);
        writeFileSync(join(options.out, 'repo-list.yaml'), plan.repoListYaml);
      }
      process.stderr.write(`wrote ${plan ? 'images.txt, mirror.txt and repo-list.yaml' : 'images.txt'} to ${options.out}\n`);
    }
    return EXIT.ok;
  } finally {
    await ctx.dispose();
  }
}
