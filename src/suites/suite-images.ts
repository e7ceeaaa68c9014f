import type { Arch } from '../emulation/boards.js';
import type { NeededImage } from '../cluster/run-needs.js';
import { registryOf } from '../cluster/run-needs.js';
import { ADDON_IMAGES, ADDON_SUITE_NAMES, SUITE_ADDONS, type AddonSuiteName, type ImageEntry } from './addons/images.js';

/**
 * The images each suite runs beyond the distribution's own and edgeproof's
 * workload images (which every suite uses and every node already has).
 * One entry per suite that needs more; a new suite with images of its own
 * (the conformance suite's e2e.test images) adds its entry here, and
 * `edgeproof images` lists them with no other change.
 */
export const SUITE_IMAGE_SOURCES: Record<string, (arch: Arch, addons?: readonly string[]) => NeededImage[]> = Object.fromEntries(
  ADDON_SUITE_NAMES.map((suite) => [suite, (arch: Arch, addons?: readonly string[]) => addonSuiteImages(suite, arch, addons)]),
);

/** An addon suite's images for `arch`, limited to the addons asked for (--addon) when any. */
function addonSuiteImages(suite: AddonSuiteName, arch: Arch, addons?: readonly string[]): NeededImage[] {
  const chosen = SUITE_ADDONS[suite].filter((addon) => !addons?.length || addons.includes(addon));
  return chosen.flatMap((addon) => ADDON_IMAGES[addon].map((entry) => toNeeded(entry, `suite ${suite} (${addon})`)).filter((image) => image.archs.includes(arch)));
}

function toNeeded(entry: ImageEntry, neededBy: string): NeededImage {
  if ('ref' in entry) return { ref: entry.ref, registry: registryOf(entry.ref), archs: entry.archs, neededBy, ...(entry.note ? { note: entry.note } : {}) };
  return { ref: entry.manifest, registry: 'see manifest', archs: entry.archs, neededBy, listedIn: true, note: entry.note };
}

/** Every image the suites need on `arch`, each once (the first suite that needs it names it). */
export function suiteImageNeeds(suites: readonly string[], arch: Arch, addons?: readonly string[]): NeededImage[] {
  const seen = new Set<string>();
  return suites.flatMap((suite) => SUITE_IMAGE_SOURCES[suite]?.(arch, addons) ?? []).filter((image) => !seen.has(image.ref) && seen.add(image.ref));
}

/** Images the suites would need that have no build for `arch` (said, not silently dropped). */
export function suiteImagesWithoutArch(suites: readonly string[], arch: Arch, addons?: readonly string[]): string[] {
  const other: Arch = arch === 'arm64' ? 'amd64' : 'arm64';
  const here = new Set(suiteImageNeeds(suites, arch, addons).map((i) => i.ref));
  return suiteImageNeeds(suites, other, addons).filter((i) => !here.has(i.ref)).map((i) => `${i.ref} (${i.neededBy})`);
}
