import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';
import { ensureArtifact, hashFiles } from '../../core/artifact-cache.js';
import { goVersion, hostRun } from '../../core/host-exec.js';
import { projectRoot } from '../../core/paths.js';
import { hostArch } from '../../emulation/boards.js';
import { artifactContext } from '../../emulation/images/guest-images.js';
import { E2E_KUBERNETES } from '../../cluster/e2e-images.js';
import { goBuildEnv, kubernetesLdflags, prepareKubernetesBuildModule } from '../../cluster/kubernetes-module.js';

/**
 * The end-to-end suite of the Kubernetes version the baseline runs, built
 * for the host that runs it against any distribution's cluster: a test tool,
 * so it lives with the suite, not with a driver.
 */
export interface E2eBinaries {
  /** `e2e.test`, the Ginkgo v2 suite binary (`go test -c k8s.io/kubernetes/test/e2e`). */
  e2eTest: string;
  /** The Ginkgo v2 CLI at the version Kubernetes' go.mod pins: it runs e2e.test's parallel processes. */
  ginkgo: string;
  /** `test/conformance/testdata/conformance.yaml` of the version: the expected spec counts. */
  conformanceYaml: string;
  version: string;
  key: string;
}

export const GINKGO_CLI = 'github.com/onsi/ginkgo/v2/ginkgo';
const E2E_PACKAGE = 'k8s.io/kubernetes/test/e2e';
/** -vet=off: `go test -c` would otherwise vet the suite's packages, minutes for nothing the harness uses. */
const TEST_FLAGS = ['-vet=off', '-trimpath'];

/**
 * e2e.test and ginkgo from k8s.io/kubernetes at the pinned tag, for the
 * host's arch, with the version stamps (the suite reads its own version),
 * and the version's conformance.yaml copied beside them.
 */
export async function ensureE2eBinaries(ctx: RunContext): Promise<E2eBinaries> {
  const { module, version } = E2E_KUBERNETES;
  const arch = hostArch();
  const artifact = await ensureArtifact(artifactContext(ctx), {
    kind: 'kubernetes-e2e',
    label: `Kubernetes ${version} e2e suite (e2e.test, ginkgo) for ${arch}`,
    inputs: {
      module, version, arch, packages: [E2E_PACKAGE, GINKGO_CLI], flags: TEST_FLAGS, ldflags: kubernetesLdflags(version),
      go: await goVersion(), sources: hashFiles(projectRoot(), ['src/cluster/kubernetes-module.ts']),
    },
    build: async (out, work, signal) => {
      ctx.progress.info(`building the Kubernetes ${version} e2e suite for ${arch} from ${module}@${version} (10-20 min cold on 2 cores, cached afterwards)`);
      const prepared = await prepareKubernetesBuildModule(work, ctx.cacheDir, E2E_KUBERNETES, [E2E_PACKAGE, GINKGO_CLI], signal);
      const env = goBuildEnv(ctx.cacheDir, arch);
      const go = (args: string[]) => hostRun('go', args, { cwd: prepared.dir, env, signal });
      await go(['test', '-c', ...TEST_FLAGS, '-ldflags', kubernetesLdflags(version), '-o', join(out, 'e2e.test'), E2E_PACKAGE]);
      await go(['build', '-trimpath', '-ldflags', '-s -w', '-o', join(out, 'ginkgo'), GINKGO_CLI]);
      copyFileSync(join(prepared.sourceDir, 'test', 'conformance', 'testdata', 'conformance.yaml'), join(out, 'conformance.yaml'));
      // Provenance: the exact module graph and toolchain that built them.
      copyFileSync(join(prepared.dir, 'go.mod'), join(out, 'go.mod'));
      copyFileSync(join(prepared.dir, 'go.sum'), join(out, 'go.sum'));
      writeFileSync(join(out, 'go-version.txt'), `${prepared.goVersion}\n`);
    },
  });
  const file = (name: string) => join(artifact.dir, name);
  return { e2eTest: file('e2e.test'), ginkgo: file('ginkgo'), conformanceYaml: file('conformance.yaml'), version, key: artifact.key };
}
