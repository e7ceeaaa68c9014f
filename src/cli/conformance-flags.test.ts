import { describe, expect, test } from 'vitest';
import { EdgeproofError } from '../core/errors.js';
import { fixturePath } from '../core/paths.js';
import { parseConformanceOptions } from './run-options.js';

describe('--conformance-* flags', () => {
  test('defaults to the quick preset; parallel, image and repo list are parsed', () => {
    expect(parseConformanceOptions({})).toEqual({ preset: 'quick' });
    expect(parseConformanceOptions({ conformanceRepoList: fixturePath('samples', 'conformance', 'quick-v1.20.2', 'repo-list.yaml') }).repoList).toBe(fixturePath('samples', 'conformance', 'quick-v1.20.2', 'repo-list.yaml'));
    expect(parseConformanceOptions({ conformancePreset: ' serial ', conformanceParallel: '4', conformanceImage: 'registry.lan:5000/k8s.gcr.io/conformance:v1.20.2' })).toEqual({
      preset: 'serial',
      parallel: 4,
      image: 'registry.lan:5000/k8s.gcr.io/conformance:v1.20.2',
    });
  });

  test('bad values are usage errors (exit 2) that say what to write', () => {
    expect(() => parseConformanceOptions({ conformancePreset: 'quik' })).toThrow(/Unknown conformance preset "quik" for --conformance-preset/);
    expect(() => parseConformanceOptions({ conformanceParallel: '0' })).toThrow(/whole number of Ginkgo nodes/);
    expect(() => parseConformanceOptions({ conformanceParallel: '2.5' })).toThrow(/--conformance-parallel "2.5"/);
    expect(() => parseConformanceOptions({ conformanceRepoList: '/nonexistent/repo-list.yaml' })).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/conformance-images --mirror/) }));
    expect(() => parseConformanceOptions({ conformanceImage: 'conformance' })).toThrow(expect.objectContaining({ message: 'Invalid --conformance-image "conformance"', hint: expect.stringMatching(/full image reference with a tag/) }));
    try {
      parseConformanceOptions({ conformancePreset: 'nope' });
    } catch (error) {
      expect((error as EdgeproofError).code).toBe('USAGE');
      expect((error as EdgeproofError).hint).toContain('quick, conformance, serial');
    }
  });
});
