import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EdgeproofError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { LOCAL_E2E_IMAGES, LOCAL_E2E_REGISTRIES } from '../../cluster/e2e-images.js';
import { conformanceImage, E2E_REGISTRY_DEFAULTS, localRepoList, mirrorPlan, parseImageList, parseMirror, pulledAs } from './images.js';
import { IN_CLUSTER, inClusterPlan, planManifest } from './in-cluster-plan.js';
import { CONFORMANCE_PRESETS, expectedSpecs, ginkgoNodes, parseConformanceYaml } from './presets.js';

const documented = parseConformanceYaml(readFileSync(fixturePath('samples', 'conformance', 'conformance-v1.20.2.yaml'), 'utf8'));
/** test/conformance/testdata/conformance.yaml of k8s.io/kubernetes@v1.35.4, verbatim: what the baseline's expected counts come from. */
const documentedNow = parseConformanceYaml(readFileSync(fixturePath('samples', 'conformance', 'conformance-v1.35.4.yaml'), 'utf8'));

describe('expected spec counts from conformance.yaml of v1.35.4 (the baseline)', () => {
  test('the version documents 441 conformance specs', () => {
    expect(documentedNow).toHaveLength(441);
    expect(documentedNow.every((s) => s.codename.includes('[Conformance]'))).toBe(true);
  });

  test('quick selects exactly the Pods lifecycle spec, under its v1.35 name', () => {
    expect(expectedSpecs(documentedNow, CONFORMANCE_PRESETS.quick).map((s) => s.codename)).toEqual(['[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]']);
  });

  test('conformance (parallel) and serial split the non-disruptive specs between them: 412 + 27, plus 2 disruptive = 441', () => {
    const parallel = expectedSpecs(documentedNow, CONFORMANCE_PRESETS.conformance);
    const serial = expectedSpecs(documentedNow, CONFORMANCE_PRESETS.serial);
    expect(parallel).toHaveLength(412);
    expect(serial).toHaveLength(27);
    expect(parallel.some((s) => /Serial|Disruptive/.test(s.codename))).toBe(false);
    const disruptive = documentedNow.filter((s) => s.codename.includes('[Disruptive]'));
    expect(new Set([...parallel, ...serial, ...disruptive].map((s) => s.codename)).size).toBe(441);
  });
});

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
  test('the local repo list points the e2e registries at the images built for the nodes; agnhost is the real one', () => {
    expect(parseYaml(localRepoList())).toEqual({ promoterE2eRegistry: 'edgeproof.local/e2e-test-images', gcRegistry: 'edgeproof.local/e2e-registry' });
    expect(Object.keys(LOCAL_E2E_REGISTRIES).every((key) => key in E2E_REGISTRY_DEFAULTS)).toBe(true);
    expect(LOCAL_E2E_IMAGES.filter((i) => i.real).map((i) => i.ref)).toEqual(['edgeproof.local/e2e-test-images/agnhost:2.59']);
    const script = readFileSync(fixturePath('build', 'e2e-images.sh'), 'utf8');
    for (const kind of new Set(LOCAL_E2E_IMAGES.map((i) => i.kind))) expect(script).toContain(`    ${kind}) `);
  });

  test('a mirror gets every image under its own host as a path, and a repo list for every registry key', () => {
    const plan = mirrorPlan(['registry.k8s.io/e2e-test-images/agnhost:2.59', 'registry.k8s.io/pause:3.10.1'], 'registry.lan:5000', 'v1.35.4');
    expect(plan.copies).toEqual([
      { source: 'registry.k8s.io/e2e-test-images/agnhost:2.59', target: 'registry.lan:5000/registry.k8s.io/e2e-test-images/agnhost:2.59' },
      { source: 'registry.k8s.io/pause:3.10.1', target: 'registry.lan:5000/registry.k8s.io/pause:3.10.1' },
      { source: 'registry.k8s.io/conformance:v1.35.4', target: 'registry.lan:5000/registry.k8s.io/conformance:v1.35.4' },
    ]);
    const repoList = parseYaml(plan.repoListYaml) as Record<string, string>;
    expect(Object.keys(repoList).sort()).toEqual(Object.keys(E2E_REGISTRY_DEFAULTS).sort());
    // The suite builds <registry>/<name>:<tag>; with the mirror's registries that is exactly each copy's target.
    expect(`${repoList.promoterE2eRegistry}/agnhost:2.59`).toBe(plan.copies[0]!.target);
    expect(`${repoList.gcRegistry}/pause:3.10.1`).toBe(plan.copies[1]!.target);
  });

  test('the repo list keys are those of test/utils/image/manifest.go RegistryList in v1.35.4', () => {
    expect(Object.keys(E2E_REGISTRY_DEFAULTS)).toEqual([
      'promoterE2eRegistry', 'buildImageRegistry', 'invalidRegistry', 'gcEtcdRegistry', 'gcRegistry',
      'sigStorageRegistry', 'privateRegistry', 'dockerLibraryRegistry', 'cloudProviderGcpRegistry',
    ]);
  });

  test('the real `e2e.test --list-images` of v1.35.4: 49 images, each under a registry of the repo list; a mirror copies all but the deliberately invalid one', () => {
    const images = parseImageList(readFileSync(fixturePath('samples', 'conformance', 'list-images-v1.35.4.txt'), 'utf8'));
    expect(images).toHaveLength(49);
    expect(images).toEqual(expect.arrayContaining(['registry.k8s.io/e2e-test-images/agnhost:2.59', 'registry.k8s.io/pause:3.10.1', 'invalid.registry.k8s.io/invalid/alpine:3.1']));
    const registries = Object.values(E2E_REGISTRY_DEFAULTS);
    for (const image of images) expect(registries.some((r) => image.startsWith(`${r}/`)), image).toBe(true);
    const plan = mirrorPlan(images, 'm.lan', 'v1.35.4');
    expect(plan.copies).toHaveLength(49);
    expect(plan.copies.some((c) => c.source.startsWith('invalid.registry.k8s.io/'))).toBe(false);
    const repoList = parseYaml(plan.repoListYaml) as Record<string, string>;
    expect(repoList.invalidRegistry).toBe('invalid.registry.k8s.io/invalid');
    // A CSI manifest's image is listed as written and mapped when deployed (ReplaceRegistryInImageURL): to its copy's target.
    expect(images).toContain('registry.k8s.io/sig-storage/csi-attacher:v4.10.0');
    expect(pulledAs('registry.k8s.io/sig-storage/csi-attacher:v4.10.0', repoList)).toBe('m.lan/registry.k8s.io/sig-storage/csi-attacher:v4.10.0');
    // One of manifest.go's, listed already under the mirror's registry, stays as it is.
    expect(pulledAs('m.lan/registry.k8s.io/e2e-test-images/agnhost:2.59', repoList)).toBe('m.lan/registry.k8s.io/e2e-test-images/agnhost:2.59');
    // Each image built for the nodes is one the suite names, with the local registry in place of the default.
    const local = parseYaml(localRepoList()) as Record<keyof typeof LOCAL_E2E_REGISTRIES, string>;
    for (const image of LOCAL_E2E_IMAGES) {
      const key = (Object.keys(local) as (keyof typeof LOCAL_E2E_REGISTRIES)[]).find((k) => image.ref.startsWith(`${local[k]}/`))!;
      expect(images).toContain(image.ref.replace(local[key], E2E_REGISTRY_DEFAULTS[key]));
    }
  });

  test('mirror names are checked', () => {
    expect(parseMirror(' registry.lan:5000/k8s/ ')).toBe('registry.lan:5000/k8s');
    expect(() => parseMirror('https://registry.lan')).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/without a scheme/) }));
    expect(() => parseMirror('')).toThrow(/Invalid mirror registry/);
  });

  test('an image list keeps image references only, sorted and unique', () => {
    expect(parseImageList('k8s.gcr.io/pause:3.2\nnoise line\ndocker.io/library/busybox:1.29\nk8s.gcr.io/pause:3.2\n')).toEqual(['docker.io/library/busybox:1.29', 'k8s.gcr.io/pause:3.2']);
    expect(conformanceImage('v1.35.4')).toBe('registry.k8s.io/conformance:v1.35.4');
  });
});

describe('in-cluster plan (hydrophone / sonobuoy way)', () => {
  const preset = CONFORMANCE_PRESETS.conformance;

  test('RBAC, the runner and a sleeping output container sharing the results dir', () => {
    const plan = inClusterPlan({ image: 'registry.lan:5000/registry.k8s.io/conformance:v1.35.4', outputImage: 'edgeproof.local/busybox:1.35', preset, nodes: 2 });
    expect(plan.objects.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Pod']);
    const pod = plan.objects[4] as { spec: { containers: { name: string; image: string; env?: { name: string; value: string }[]; volumeMounts: { mountPath: string }[] }[]; serviceAccountName: string; restartPolicy: string } };
    expect(pod.spec.serviceAccountName).toBe(IN_CLUSTER.serviceAccount);
    expect(pod.spec.restartPolicy).toBe('Never');
    const [runner, output] = pod.spec.containers;
    expect(runner!.image).toBe('registry.lan:5000/registry.k8s.io/conformance:v1.35.4');
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

  test('the steps read e2e.log and the one JUnit file Ginkgo v2 merges all processes into, then delete', () => {
    const plan = inClusterPlan({ image: 'x.io/conformance:v1.35.4', outputImage: 'b.io/busybox:1', preset, nodes: 3 });
    expect(plan.steps.map((s) => (s.kind === 'read-file' ? `read ${s.saveAs}${s.optional ? '?' : ''}` : s.kind))).toEqual([
      'apply',
      'wait-container-terminated',
      'read e2e.log',
      'read junit_01.xml?',
      'delete',
    ]);
  });

  test('a mirror repo list is mounted from a ConfigMap and named by KUBE_TEST_REPO_LIST', () => {
    const plan = inClusterPlan({ image: 'x.io/conformance:v1.35.4', outputImage: 'b.io/busybox:1', preset, nodes: 1, repoListYaml: 'promoterE2eRegistry: m.lan/registry.k8s.io/e2e-test-images\n' });
    expect(plan.objects.map((o) => o.kind)).toContain('ConfigMap');
    const manifest = planManifest(plan);
    expect(manifest.split('---\n')).toHaveLength(plan.objects.length);
    expect(manifest).toContain('name: KUBE_TEST_REPO_LIST');
    expect(manifest).toContain('value: /etc/edgeproof-e2e/repo-list.yaml');
    expect(manifest).toContain('promoterE2eRegistry: m.lan/registry.k8s.io/e2e-test-images');
  });
});
