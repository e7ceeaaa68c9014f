/**
 * Emulation slowdown factor: a fixed, deterministic CPU loop in awk, timed
 * inside the machine that runs it, once in the guest and once on the host.
 * factor = guest ms / host ms (TCG arm64 is roughly 10x slower than the host).
 *
 * awk implementations differ several-fold in speed (mawk vs busybox awk), so
 * the host runs the same implementation the guest used, and both are recorded.
 * The loop takes about 50-100 ms on a current x86 host with busybox awk.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { EdgeproofError, PrerequisiteMissingError } from '../core/errors.js';
import { median } from './stats.js';
import type { NodeExec } from './footprint.js';

/** 'auto': busybox awk when the machine has busybox (the common denominator of edge images), else its awk. */
export type AwkChoice = 'auto' | 'busybox' | 'awk';

export interface CpuProbeOptions {
  /** Loop iterations; the default takes ~75 ms with busybox awk on the development host. */
  iterations?: number;
  repetitions?: number;
  awk?: AwkChoice;
}

export interface CpuProbeResult {
  /** `busybox` or `awk`, as the script resolved it. */
  awkKind: 'busybox' | 'awk';
  /** Which implementation exactly: busybox's banner line or the resolved path of awk. */
  awkIdentity: string;
  /** `date-ns` (date +%s%N) or `uptime-cs` (/proc/uptime, 10 ms steps: busybox date has no %N). */
  clock: 'date-ns' | 'uptime-cs';
  iterations: number;
  /** The loop's result; equal on every machine that did the same work. */
  checksum: string;
  durationsMs: number[];
  medianMs: number;
  minMs: number;
}

export const DEFAULT_PROBE_ITERATIONS = 100_000;
const DEFAULT_REPETITIONS = 3;
const AWK_LOOP = 'BEGIN { x = 1; s = 0; for (i = 0; i < n; i++) { x = (x * 69069 + 1) % 4294967296; s = (s + int(x / 65536)) % 1000003 } print s }';

/** POSIX sh (busybox sh, dash): picks awk, then times each repetition of the loop with the best clock it has. */
export function cpuProbeScript(options: CpuProbeOptions = {}): string {
  const iterations = options.iterations ?? DEFAULT_PROBE_ITERATIONS;
  const repetitions = options.repetitions ?? DEFAULT_REPETITIONS;
  if (!Number.isInteger(iterations) || iterations < 1) throw new EdgeproofError('INPUT', `CPU probe iterations must be a positive integer, got ${iterations}`);
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new EdgeproofError('INPUT', `CPU probe repetitions must be a positive integer, got ${repetitions}`);
  return [
    ...awkSelection(options.awk ?? 'auto'),
    'now() { t=$(date +%s%N 2>/dev/null); case "$t" in ""|*[!0-9]*) read -r u _ < /proc/uptime; echo "u $u" ;; *) echo "n $t" ;; esac; }',
    `echo "@@probe $K ${iterations}"`,
    'echo "@@awk $I"',
    `i=0; while [ $i -lt ${repetitions} ]; do`,
    `  s=$(now); r=$($A -v n=${iterations} '${AWK_LOOP}'); e=$(now)`,
    '  echo "@@rep $s $e $r"; i=$((i + 1))',
    'done',
    "echo '@@end'",
  ].join('\n');
}

function awkSelection(choice: AwkChoice): string[] {
  const busybox = `A='busybox awk'; K=busybox; I=$(busybox 2>&1 | head -n 1)`;
  const plain = `A=awk; K=awk; I=$(readlink -f "$(command -v awk)" 2>/dev/null || command -v awk)`;
  if (choice === 'busybox') return [busybox];
  if (choice === 'awk') return [plain];
  return [`if busybox awk 'BEGIN { }' </dev/null >/dev/null 2>&1; then ${busybox}; else ${plain}; fi`];
}

/** Parses the probe's output; throws when it is incomplete or the repetitions disagree. */
export function parseCpuProbe(text: string): CpuProbeResult {
  const lines = text.split(/\r?\n/);
  const header = lines.find((line) => line.startsWith('@@probe '))?.split(' ');
  const awkIdentity = lines.find((line) => line.startsWith('@@awk '))?.slice('@@awk '.length).trim();
  const reps = lines.filter((line) => line.startsWith('@@rep ')).map(parseRepetition);
  if (!header || awkIdentity === undefined || !lines.includes('@@end') || reps.length === 0) {
    throw probeError(text, 'incomplete output');
  }
  const checksums = new Set(reps.map((rep) => rep.checksum));
  const clocks = new Set(reps.map((rep) => rep.clock));
  if (checksums.size !== 1 || clocks.size !== 1 || reps.some((rep) => rep.checksum === '')) {
    throw probeError(text, 'repetitions disagree or awk printed nothing');
  }
  const durationsMs = reps.map((rep) => rep.durationMs);
  return {
    awkKind: header[1] === 'busybox' ? 'busybox' : 'awk',
    awkIdentity,
    clock: reps[0]!.clock,
    iterations: Number(header[2]),
    checksum: reps[0]!.checksum,
    durationsMs,
    medianMs: median(durationsMs),
    minMs: Math.min(...durationsMs),
  };
}

/** `@@rep n <ns> n <ns> <checksum>` or `@@rep u <s.cc> u <s.cc> <checksum>`. */
function parseRepetition(line: string): { clock: CpuProbeResult['clock']; durationMs: number; checksum: string } {
  const [, startClock, start, endClock, end, checksum = ''] = line.split(' ');
  if (startClock !== endClock || !start || !end) throw probeError(line, 'a repetition mixes clocks');
  if (startClock === 'n') return { clock: 'date-ns', durationMs: Number(BigInt(end) - BigInt(start)) / 1e6, checksum };
  return { clock: 'uptime-cs', durationMs: Math.round((Number(end) - Number(start)) * 1000), checksum };
}

function probeError(text: string, reason: string): EdgeproofError {
  const last = text.trim().split('\n').at(-1) ?? '';
  return new EdgeproofError('INPUT', `CPU probe output is unusable: ${reason}; last line: "${last.slice(0, 200)}"`);
}

const execFileAsync = promisify(execFile);

/** Runs the probe on this host with `sh -c`. */
export async function runCpuProbeOnHost(options: CpuProbeOptions = {}): Promise<CpuProbeResult> {
  const { stdout } = await execFileAsync('sh', ['-c', cpuProbeScript(options)], { timeout: 120_000 });
  return parseCpuProbe(stdout);
}

export async function runCpuProbeOnNode(exec: NodeExec, options: CpuProbeOptions = {}): Promise<CpuProbeResult> {
  return parseCpuProbe(await exec(cpuProbeScript(options)));
}

/** guest / host; > 1 means the guest is slower. */
export function slowdownFactor(guestMs: number, hostMs: number): number {
  if (!(Number.isFinite(guestMs) && guestMs > 0 && Number.isFinite(hostMs) && hostMs > 0)) {
    throw new EdgeproofError('INPUT', `Slowdown factor needs two positive durations, got guest ${guestMs} ms, host ${hostMs} ms`);
  }
  return guestMs / hostMs;
}

export interface SlowdownMeasurement {
  /** Median guest ms / median host ms. */
  factor: number;
  guest: CpuProbeResult;
  host: CpuProbeResult;
  /** Both ran the same awk implementation (same busybox or same awk binary name); the factor means less when false. */
  sameAwk: boolean;
  hostCpu: { model: string; arch: string; cpus: number };
}

/** Probes the guest first, then the host with the awk the guest used. */
export async function measureSlowdown(exec: NodeExec, options: Omit<CpuProbeOptions, 'awk'> = {}): Promise<SlowdownMeasurement> {
  const guest = await runCpuProbeOnNode(exec, { ...options, awk: 'auto' });
  const host = await runCpuProbeOnHost({ ...options, awk: guest.awkKind }).catch((error: unknown) => {
    if (guest.awkKind !== 'busybox') throw error;
    throw new PrerequisiteMissingError('busybox on the host (to time the same awk as the guest)', 'apt-get install busybox', { cause: error });
  });
  if (host.checksum !== guest.checksum) {
    throw new EdgeproofError('INTERNAL', `CPU probe computed ${guest.checksum} in the guest but ${host.checksum} on the host: not the same work`);
  }
  const cpus = os.cpus();
  return {
    factor: slowdownFactor(guest.medianMs, host.medianMs),
    guest,
    host,
    sameAwk: awkImplementation(guest) === awkImplementation(host),
    hostCpu: { model: cpus[0]?.model ?? 'unknown', arch: os.arch(), cpus: cpus.length },
  };
}

/** `busybox` or the awk binary's name (`mawk`, `gawk`): versions may differ, implementations may not. */
export function awkImplementation(result: Pick<CpuProbeResult, 'awkKind' | 'awkIdentity'>): string {
  return result.awkKind === 'busybox' ? 'busybox' : (result.awkIdentity.split('/').at(-1) ?? result.awkIdentity);
}
