import type { Arch } from '../emulation/boards.js';

/** Compares dotted numeric versions ('1.25' < '1.9.2' is false): negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split(/[.+-]/).map((part) => Number.parseInt(part, 10));
  const pb = b.replace(/^v/, '').split(/[.+-]/).map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.isNaN(pa[i] ?? 0) ? 0 : (pa[i] ?? 0);
    const y = Number.isNaN(pb[i] ?? 0) ? 0 : (pb[i] ?? 0);
    if (x !== y) return x - y;
  }
  return 0;
}

/** One row of a distribution's support table: from which version an architecture (or feature) is published. */
export interface SupportRow {
  arch: Arch;
  /** First version (inclusive) that runs on this arch. */
  since: string;
  /** Where this fact comes from. */
  source: string;
}

/** The first row for `arch`, or undefined when the distribution does not publish it at all. */
export function supportFor(table: readonly SupportRow[], arch: Arch): SupportRow | undefined {
  return table.find((row) => row.arch === arch);
}
