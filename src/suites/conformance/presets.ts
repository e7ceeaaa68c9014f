import { parse as parseYaml } from 'yaml';
import { EdgeproofError } from '../../core/errors.js';

/**
 * What a conformance run selects (checks.md CONF-1..3). Focus and skip are
 * Ginkgo v1 regular expressions (Go RE2), matched anywhere in a spec's full
 * text; the ones here mean the same in JavaScript, which is how the expected
 * count is computed from the version's conformance.yaml.
 */
export interface ConformancePreset {
  name: ConformancePresetName;
  /** The catalog check this run is judged as. */
  checkId: 'CONF-1' | 'CONF-2' | 'CONF-3';
  title: string;
  focus: string;
  skip: string;
  /** Specs may run side by side (Ginkgo nodes); serial specs never do. */
  parallel: boolean;
  /** Whole-run budget at native speed (checks.md T), multiplied by the run's timeout scale. */
  baseTimeoutMs: number;
}

export const CONFORMANCE_PRESET_NAMES = ['quick', 'conformance', 'serial'] as const;
export type ConformancePresetName = (typeof CONFORMANCE_PRESET_NAMES)[number];

export const CONFORMANCE_PRESETS: Record<ConformancePresetName, ConformancePreset> = {
  // sonobuoy's quick mode and hydrophone's smoke test: one conformance spec, minutes.
  quick: {
    name: 'quick',
    checkId: 'CONF-1',
    title: 'e2e quick: one conformance spec passes',
    focus: 'Pods should be submitted and removed',
    skip: '',
    parallel: false,
    baseTimeoutMs: 10 * 60_000,
  },
  // The parallel part of certified conformance (what k3s CI runs).
  conformance: {
    name: 'conformance',
    checkId: 'CONF-2',
    title: 'e2e conformance (parallel part): every spec runs and passes',
    focus: '\\[Conformance\\]',
    skip: 'Serial|Flaky|\\[Disruptive\\]',
    parallel: true,
    baseTimeoutMs: 45 * 60_000,
  },
  // The rest of it, one spec at a time. Restricted to [Conformance] so the expected count is the documented one.
  serial: {
    name: 'serial',
    checkId: 'CONF-3',
    title: 'e2e conformance (serial part): every spec runs and passes',
    focus: '\\[Serial\\].*\\[Conformance\\]',
    skip: 'Flaky|\\[Disruptive\\]',
    parallel: false,
    baseTimeoutMs: 45 * 60_000,
  },
};

/** One entry of test/conformance/testdata/conformance.yaml. */
export interface ConformanceSpec {
  testname: string;
  codename: string;
  release: string;
  file: string;
}

/** The version's documented conformance specs (the file ships with the e2e binaries). */
export function parseConformanceYaml(text: string, source = 'conformance.yaml'): ConformanceSpec[] {
  const data: unknown = parseYaml(text);
  if (!Array.isArray(data) || data.some((entry) => typeof (entry as { codename?: unknown })?.codename !== 'string')) {
    throw new EdgeproofError('INPUT', `${source} is not a list of conformance specs with a codename each`, {
      hint: 'rebuild the e2e artifact (it copies test/conformance/testdata/conformance.yaml from the Kubernetes tree)',
    });
  }
  return (data as Record<string, unknown>[]).map((entry) => ({
    testname: String(entry.testname ?? ''),
    codename: String(entry.codename),
    release: String(entry.release ?? ''),
    file: String(entry.file ?? ''),
  }));
}

/** The specs a preset must run: the documented conformance specs its focus selects and its skip does not drop. */
export function expectedSpecs(specs: ConformanceSpec[], preset: Pick<ConformancePreset, 'focus' | 'skip'>): ConformanceSpec[] {
  const focus = new RegExp(preset.focus);
  const skip = preset.skip ? new RegExp(preset.skip) : undefined;
  return specs.filter((spec) => focus.test(spec.codename) && !(skip?.test(spec.codename) ?? false));
}

/** Ginkgo nodes for a preset: serial presets 1; otherwise the user's number, or half the host's CPUs (checks.md: ⌈ncpu/2⌉). */
export function ginkgoNodes(preset: ConformancePreset, requested: number | undefined, hostCpus: number): number {
  if (!preset.parallel) return 1;
  return requested ?? Math.max(1, Math.ceil(hostCpus / 2));
}
