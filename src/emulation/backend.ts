import { freemem } from 'node:os';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../core/context.js';
import { PrerequisiteMissingError } from '../core/errors.js';
import { makeDirectory } from '../core/paths.js';
import type { Arch, Board } from './boards.js';
import type { DiskPayload, GuestVariant } from './images/guest-images.js';
import type { BackendName, Machine } from './machine.js';
import type { HostRequirements } from './ssh/host-checks.js';
import type { HostEntry } from './ssh/hosts-file.js';

/** How many nodes of each role (the distribution's topology, as plain numbers). */
export interface NodeCounts {
  controlPlanes: number;
  workers: number;
}

/** Where the machines come from and how big they are, parsed once from the command line. */
export interface MachineSpec {
  board: Board;
  /** Per emulated board: memory in MiB (the board's own unless --memory), vCPUs (absent: the board's own). */
  memoryMiB: number;
  cpus?: number;
  nodes: NodeCounts;
  /** ssh: the hosts, control planes first, and the file they were read from. */
  hosts?: HostEntry[];
  hostsFile?: string;
  /** existing: the kubeconfig path. */
  kubeconfig?: string;
  /** Where images and snapshots are kept (the disk preflight checks it). */
  cacheDir?: string;
}

/**
 * What the distribution asks of the machines, as data: the backend knows no
 * distribution. Payloads are built (or fetched) for the machines' architecture.
 */
export interface MachineRecipe {
  packages(arch: Arch): string[];
  /** How the guest boots and what its image holds besides packages; absent: the fast init (FAST_INIT_VARIANT). */
  variant?(arch: Arch): GuestVariant;
  payloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]>;
  /** Guest TCP ports the harness reaches from the host (the distribution's API server). */
  ports: number[];
  /** What a real host must offer before install. */
  requirements?: HostRequirements;
}

/** The recipe's variant as a request field (absent: the fast init). */
export function variantOf(recipe: Pick<MachineRecipe, 'variant'>, arch: Arch): { variant?: GuestVariant } {
  return recipe.variant ? { variant: recipe.variant(arch) } : {};
}

/** What the machines run on, for the run's header and its environment record. */
export interface HostDescription {
  label: string;
  /** The timeout scale when the user gives none (checks.md): native 1, real boards 2, KVM 3, TCG 4 or 8. */
  defaultTimeoutScale: number;
  environment: Record<string, unknown>;
}

/**
 * Makes machines (or, for `existing`, none): one entry of BACKENDS. What
 * differs between backends is said here as data, so the run never asks
 * which backend it has.
 */
export interface Backend {
  readonly name: BackendName;
  /** False: the cluster already exists, there is nothing to start. */
  readonly machines: boolean;
  /** A machine's used memory before install is the baseline of its "whole guest" footprint (a VM's; a container has none of its own). */
  readonly measuresBaseline: boolean;
  /** Whole clusters can be saved and restored (when the distribution can resume one). */
  readonly snapshots: boolean;
  /** The architecture the distribution is installed for. */
  guestArch(spec: MachineSpec): Arch;
  describeHost(spec: MachineSpec): Promise<HostDescription>;
  /** Said before anything starts: not enough memory or disk. */
  preflight(spec: MachineSpec): void;
  /** Starts (or reaches) the machines, ready for the distribution; absent when `machines` is false. */
  startMachines?(ctx: RunContext, spec: MachineSpec, recipe: MachineRecipe): Promise<Machine[]>;
}

/** Node names in the outside world: ep-<tag>-cp-0, ep-<tag>-w-0 (unique per run, found by the reaper). */
export function nodeNames(tag: string, nodes: NodeCounts): string[] {
  return [
    ...Array.from({ length: nodes.controlPlanes }, (_, i) => `ep-${tag}-cp-${i}`),
    ...Array.from({ length: nodes.workers }, (_, i) => `ep-${tag}-w-${i}`),
  ];
}

export function nodeTotal(nodes: NodeCounts): number {
  return nodes.controlPlanes + nodes.workers;
}

/** Every backend keeps images under the cache dir: 8 GiB free there, or the run stops before it starts. */
export function checkCacheDisk(cacheDir: string | undefined): void {
  const dir = cacheDir ?? process.env.EDGEPROOF_CACHE_DIR ?? join(process.env.HOME ?? '/root', '.cache');
  makeDirectory(dir);
  const stats = statfsSync(dir);
  const freeGiB = (stats.bavail * stats.bsize) / 2 ** 30;
  if (freeGiB < 8) {
    throw new PrerequisiteMissingError(`8 GiB of free disk under ${dir} (${freeGiB.toFixed(1)} GiB free)`, 'free disk space or point EDGEPROOF_CACHE_DIR / --cache-dir at a larger disk');
  }
}

/** Emulated boards take their memory from the host: all of them, plus 512 MiB for the harness. */
export function checkFreeMemory(spec: MachineSpec): void {
  const count = nodeTotal(spec.nodes);
  const memoryMiB = spec.memoryMiB * count;
  const freeMiB = Math.round(freemem() / 2 ** 20);
  if (freeMiB < memoryMiB + 512) {
    throw new PrerequisiteMissingError(`${memoryMiB + 512} MiB of free memory for ${count} ${spec.board.name} board(s) (${freeMiB} MiB free)`, `free memory or choose a smaller --memory (${spec.board.memoryChoicesMiB.join(', ')} MiB)`);
  }
}
