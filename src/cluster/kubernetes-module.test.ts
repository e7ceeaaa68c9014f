import { describe, expect, test } from 'vitest';
import { buildModuleGoMod, goAtLeast, goDirective, kubernetesLdflags, stagingReplaces } from './kubernetes-module.js';

// The shape of k8s.io/kubernetes@v1.35.4's go.mod where it matters: its go directive and its replaces.
const KUBERNETES_GO_MOD = `module k8s.io/kubernetes

go 1.25.0

godebug default=go1.25

require (
	github.com/onsi/ginkgo/v2 v2.27.2
	k8s.io/api v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/cri-api => ./staging/src/k8s.io/cri-api
)
`;

describe('a build module that requires k8s.io/kubernetes', () => {
  test('each staging replace becomes the published staging module at v0.<minor>.<patch>', () => {
    expect(stagingReplaces(KUBERNETES_GO_MOD, 'v1.35.4')).toEqual([
      'k8s.io/api => k8s.io/api v0.35.4',
      'k8s.io/client-go => k8s.io/client-go v0.35.4',
      'k8s.io/cri-api => k8s.io/cri-api v0.35.4',
    ]);
  });

  test('the go.mod requires the tag and repeats the replaces', () => {
    const goMod = buildModuleGoMod('edgeproof.local/build/kubernetes', '1.25.0', { module: 'k8s.io/kubernetes', version: 'v1.35.4' }, stagingReplaces(KUBERNETES_GO_MOD, 'v1.35.4'));
    expect(goMod).toBe(
      'module edgeproof.local/build/kubernetes\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes v1.35.4\n\nreplace (\n\tk8s.io/api => k8s.io/api v0.35.4\n\tk8s.io/client-go => k8s.io/client-go v0.35.4\n\tk8s.io/cri-api => k8s.io/cri-api v0.35.4\n)\n',
    );
  });

  test("the toolchain check: Kubernetes' go directive against `go env GOVERSION`", () => {
    expect(goDirective(KUBERNETES_GO_MOD)).toBe('1.25.0');
    expect(goAtLeast('go1.26.8', '1.25.0')).toBe(true);
    expect(goAtLeast('go1.25.0', '1.25.0')).toBe(true);
    // Debian's golang-go, also on PATH here.
    expect(goAtLeast('go1.19.8', '1.25.0')).toBe(false);
  });

  test('version stamps as Kubernetes writes them, so the e2e suite and --version know the release', () => {
    const ldflags = kubernetesLdflags('v1.35.4');
    expect(ldflags).toContain('-X k8s.io/component-base/version.gitVersion=v1.35.4');
    expect(ldflags).toContain('-X k8s.io/component-base/version.gitMajor=1');
    expect(ldflags).toContain('-X k8s.io/component-base/version.gitMinor=35');
    expect(ldflags).toContain('-X k8s.io/client-go/pkg/version.gitVersion=v1.35.4');
  });
});
