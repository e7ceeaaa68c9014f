import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EdgeproofError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { conformanceImage, E2E_REGISTRY_DEFAULTS, localRepoList, LOCAL_E2E_IMAGES, mirrorPlan, parseImageList, parseMirror } from './images.js';
import { IN_CLUSTER, inClusterPlan, planManifest } from './in-cluster-plan.js';
import { CONFORMANCE_PRESETS, expectedSpecs, ginkgoNodes, parseConformanceYaml } from './presets.js';

const documented = parseConformanceYaml(readFileSync(fixturePath('samples', 'conformance', 'conformance-v1.20.2.yaml'), 'utf8'));

describe('expected spec counts from conformance.yaml of v1.20.2', () => {
  test('the version documents 311 conformance specs', () => {
    expect(documented).toHaveLength(311);
    expect(documented.every((s) => s.codename.includes('[Conformance]'))).toBe(true);
  });

  test('quick selects exactly the Pods lifecycle spec', () => {
    expect(expectedSpecs(documented, CONFORMANCE_PRESETS.quick).map((s) => s.codename)).toEqual(['[k8s.io] Pods should be submitted and removed [NodeConformance] [Conformance]']);
  });

  test('conformance (parallel) and serial split the non-disruptive specs between them: 291 + 18, plus 2 disruptive = 311', () => {
    const parallel = expectedSpecs(documented, CONFORMANCE_PRESETS.conformance);
    const serial = expectedSpecs(documented, CONFORMANCE_PRESETS.serial);
    expect(parallel).toHaveLength(291);
    expect(serial).toHaveLength(18);
    expect(parallel.some((s) => /Serial|Disruptive/.test(s.codename))).toBe(false);
    expect(serial.every((s) => s.codename.includes('[Serial]') && !s.codename.includes('[Disruptive]'))).toBe(true);
    const disruptive = documented.filter((s) => s.codename.includes('[Disruptive]'));
    expect(disruptive).toHaveLength(2);
    expect(new Set([...parallel, ...serial, ...disruptive].map((s) => s.codename)).size).toBe(311);
  });

  test('a file that is not a spec list is refused with the fix', () => {
    expect(() => parseConformanceYaml('kind: Pod\n', 'x.yaml')).toThrow(/x\.yaml is not a list of conformance specs/);
    expect(() => parseConformanceYaml('- testname: a\n', 'x.yaml')).toThrowError(EdgeproofError);
  });

  test('Ginkgo nodes: serial presets always 1; the parallel one takes the request or half the CPUs, rounded up', () => {
    expect(ginkgoNodes(CONFORMANCE_PRESETS.quick, 8, 16)).toBe(1);
    expect(ginkgoNodes(CONFORMANCE_PRESETS.serial, undefined, 16)).toBe(1);
    expect(ginkgoNodes(CONFORMANCE_PRESETS.conformance, undefined, 3)).toBe(2);
    expect(ginkgoNodes(CONFORMANCE_PRESETS.conformance, undefined, 1)).toBe(1);
    expect(ginkgoNodes(CONFORMANCE_PRESETS.conformance, 5, 2)).toBe(5);
  });
});

describe('images', () => {
  test('the local repo list sends Docker library images to the stand-ins the workload image build makes', () => {
    expect(parseYaml(localRepoList())).toEqual({ dockerLibraryRegistry: 'edgeproof.local/e2e-library' });
    const script = readFileSync(fixturePath('build', 'workload-images.sh'), 'utf8');
    for (const image of LOCAL_E2E_IMAGES) expect(script).toContain(`image_tar ${image} `);
    // nginx:1.14-alpine is what the quick spec runs (test/utils/image/manifest.go of v1.20: dockerLibraryRegistry/nginx:1.14-alpine).
    expect(LOCAL_E2E_IMAGES).toContain('edgeproof.local/e2e-library/nginx:1.14-alpine');
  });

  test('a mirror gets every image under its own host as a path, and a repo list for every registry key', () => {
    const plan = mirrorPlan(['docker.io/library/nginx:1.14-alpine', 'k8s.gcr.io/e2e-test-images/agnhost:2.21'], 'registry.lan:5000', 'v1.20.2');
    expect(plan.copies).toEqual([
      { source: 'docker.io/library/nginx:1.14-alpine', target: 'registry.lan:5000/docker.io/library/nginx:1.14-alpine' },
      { source: 'k8s.gcr.io/e2e-test-images/agnhost:2.21', target: 'registry.lan:5000/k8s.gcr.io/e2e-test-images/agnhost:2.21' },
      { source: 'k8s.gcr.io/conformance:v1.20.2', target: 'registry.lan:5000/k8s.gcr.io/conformance:v1.20.2' },
    ]);
    const repoList = parseYaml(plan.repoListYaml) as Record<string, string>;
    expect(Object.keys(repoList).sort()).toEqual(Object.keys(E2E_REGISTRY_DEFAULTS).sort());
    // The suite builds <registry>/<name>:<tag>; with the mirror's registries that is exactly each copy's target.
    expect(`${repoList.promoterE2eRegistry}/agnhost:2.21`).toBe(plan.copies[1]!.target);
    expect(`${repoList.dockerLibraryRegistry}/nginx:1.14-alpine`).toBe(plan.copies[0]!.target);
  });

  test('the real `e2e.test --list-images` of v1.20.2: 38 images; a mirror copies all but the deliberately invalid one', () => {
    const images = parseImageList(readFileSync(fixturePath('samples', 'conformance', 'list-images-v1.20.2.txt'), 'utf8'));
    expect(images).toHaveLength(38);
    expect(images).toEqual(expect.arrayContaining(['docker.io/library/nginx:1.14-alpine', 'k8s.gcr.io/e2e-test-images/agnhost:2.21', 'k8s.gcr.io/pause:3.2']));
    const plan = mirrorPlan(images, 'm.lan', 'v1.20.2');
    expect(plan.copies).toHaveLength(38);
    expect(plan.copies.some((c) => c.source.startsWith('invalid.com/'))).toBe(false);
    expect((parseYaml(plan.repoListYaml) as Record<string, string>).invalidRegistry).toBe('invalid.com/invalid');
    // The local stand-ins cover the Docker library images the quick spec needs, under the names the repo list yields.
    const local = parseYaml(localRepoList()) as { dockerLibraryRegistry: string };
    const nginx = images.find((i) => i.startsWith('docker.io/library/nginx:1.14'))!;
    expect(nginx.replace('docker.io/library', local.dockerLibraryRegistry)).toBe(LOCAL_E2E_IMAGES[0]);
  });

  test('mirror names are checked', () => {
    expect(parseMirror(' registry.lan:5000/k8s/ ')).toBe('registry.lan:5000/k8s');
    expect(() => parseMirror('https://registry.lan')).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/without a scheme/) }));
    expect(() => parseMirror('')).toThrow(/Invalid mirror registry/);
  });

  test('an image list keeps image references only, sorted and unique', () => {
    expect(parseImageList('k8s.gcr.io/pause:3.2\nnoise line\ndocker.io/library/busybox:1.29\nk8s.gcr.io/pause:3.2\n')).toEqual(['docker.io/library/busybox:1.29', 'k8s.gcr.io/pause:3.2']);
    expect(conformanceImage('v1.20.2')).toBe('k8s.gcr.io/conformance:v1.20.2');
  });
});

describe('in-cluster plan (hydrophone / sonobuoy way)', () => {
  const preset = CONFORMANCE_PRESETS.conformance;

  test('RBAC, the runner and a sleeping output container sharing the results dir', () => {
    const plan = inClusterPlan({ image: 'registry.lan:5000/k8s.gcr.io/conformance:v1.20.2', outputImage: 'edgeproof.local/busybox:1.35', preset, nodes: 2 });
    expect(plan.objects.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Pod']);
    const pod = plan.objects[4] as { spec: { containers: { name: string; image: string; env?: { name: string; value: string }[]; volumeMounts: { mountPath: string }[] }[]; serviceAccountName: string; restartPolicy: string } };
    expect(pod.spec.serviceAccountName).toBe(IN_CLUSTER.serviceAccount);
    expect(pod.spec.restartPolicy).toBe('Never');
    const [runner, output] = pod.spec.containers;
    expect(runner!.image).toBe('registry.lan:5000/k8s.gcr.io/conformance:v1.20.2');
    expect(Object.fromEntries(runner!.env!.map((e) => [e.name, e.value]))).toMatchObject({
      E2E_FOCUS: '\\[Conformance\\]',
      E2E_SKIP: 'Serial|Flaky|\\[Disruptive\\]',
      E2E_USE_GO_RUNNER: 'true',
      E2E_EXTRA_GINKGO_ARGS: '--nodes=2 -v',
      RESULTS_DIR: '/tmp/results',
    });
    expect(output!.image).toBe('edgeproof.local/busybox:1.35');
    expect(output!.volumeMounts[0]!.mountPath).toBe(runner!.volumeMounts[0]!.mountPath);
  });

  test('the steps read e2e.log and one JUnit file per node, then delete', () => {
    const plan = inClusterPlan({ image: 'x.io/conformance:v1.20.2', outputImage: 'b.io/busybox:1', preset, nodes: 3 });
    expect(plan.steps.map((s) => (s.kind === 'read-file' ? `read ${s.saveAs}${s.optional ? '?' : ''}` : s.kind))).toEqual([
      'apply',
      'wait-container-terminated',
      'read e2e.log',
      'read junit_01.xml?',
      'read junit_02.xml?',
      'read junit_03.xml?',
      'delete',
    ]);
  });

  test('a mirror repo list is mounted from a ConfigMap and named by KUBE_TEST_REPO_LIST', () => {
    const plan = inClusterPlan({ image: 'x.io/conformance:v1.20.2', outputImage: 'b.io/busybox:1', preset, nodes: 1, repoListYaml: 'dockerLibraryRegistry: m.lan/docker.io/library\n' });
    expect(plan.objects.map((o) => o.kind)).toContain('ConfigMap');
    const manifest = planManifest(plan);
    expect(manifest.split('---\n')).toHaveLength(plan.objects.length);
    expect(manifest).toContain('name: KUBE_TEST_REPO_LIST');
    expect(manifest).toContain('value: /etc/edgeproof-e2e/repo-list.yaml');
    expect(manifest).toContain('dockerLibraryRegistry: m.lan/docker.io/library');
  });
});
