import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { ensureArtifact, hashFiles } from '../../core/artifact-cache.js';
import { goVersion, hostRun } from '../../core/host-exec.js';
import { fixturePath, projectRoot } from '../../core/paths.js';
import { hostArch } from '../../emulation/boards.js';
import { aptCandidate, artifactContext } from '../../emulation/images/guest-images.js';
import versions from '../../../fixtures/versions.json' with { type: 'json' };

/**
 * The end-to-end suite of the Kubernetes source the upstream binaries come
 * from, built for the host that runs it against any distribution's cluster:
 * a test tool, so it lives with the suite, not with a driver.
 */
export interface E2eBinaries {
  /** `e2e.test`, the Ginkgo suite binary. */
  e2eTest: string;
  /** `ginkgo` (vendored v1.11), which runs it in parallel. */
  ginkgo: string;
  /** `test/conformance/testdata/conformance.yaml` of the version: the expected spec counts. */
  conformanceYaml: string;
  version: string;
  key: string;
}

/**
 * `e2e.test` and `ginkgo` from the Debian source tree the cluster binaries come
 * from (same reflect2/json-iterator fix), for the host's arch. Kind `kubernetes`
 * on purpose: artifacts of one kind share a build lock, and both builds use
 * (and fix) the one source tree; its own inputs give it its own key.
 */
export async function ensureE2eBinaries(ctx: RunContext): Promise<E2eBinaries> {
  const k = versions.kubernetes;
  const arch = hostArch();
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'kubernetes',
    label: `Kubernetes ${k.version} e2e suite (e2e.test, ginkgo) for ${arch}`,
    inputs: {
      target: 'e2e',
      arch,
      source: k.debianSourceVersion,
      go: await goVersion(),
      reflect2: await aptCandidate(k.jsonFix.reflect2, 'amd64').catch(() => 'unknown'),
      jsonIterator: await aptCandidate(k.jsonFix.jsonIterator, 'amd64').catch(() => 'unknown'),
      script: hashFiles(projectRoot(), ['fixtures/build/kubernetes-e2e.sh']),
    },
    build: async (out, work, signal) => {
      ctx.progress.info(`building the Kubernetes ${k.version} e2e suite for ${arch} from Debian source (about 10 min on 2 cores, cached afterwards)`);
      await hostRun('bash', [fixturePath('build', 'kubernetes-e2e.sh'), k.debianSourceVersion, arch, out, join(ctx.cacheDir, 'src', 'kubernetes')], {
        signal,
        env: { ...process.env, GOCACHE: join(ctx.cacheDir, 'go-build') },
        onLine: (line) => line.startsWith('== ') && ctx.progress.info(line.slice(3)),
      });
    },
  });
  const file = (name: string) => join(artifact.dir, name);
  return { e2eTest: file('e2e.test'), ginkgo: file('ginkgo'), conformanceYaml: file('conformance.yaml'), version: k.version, key: artifact.key };
}
