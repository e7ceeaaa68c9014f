/**
 * Memory footprint of a node, three figures, never one (design, "Measuring"):
 * (1) the distribution's own cgroups / process set ("k8s services only"),
 * (2) the guest's used memory (MemTotal - MemAvailable) minus a baseline
 *     taken before install,
 * (3) RSS and PSS per process.
 * One POSIX sh probe (busybox sh and dash) prints everything a sample needs in
 * one `exec`; a pure parser turns its output into numbers (bytes).
 */
import { performance } from 'node:perf_hooks';
import { EdgeproofError } from '../core/errors.js';
import { sleep } from '../core/wait.js';
import { summarizeIfAny, type Summary } from './stats.js';

/** Runs a shell command on the node and resolves with its stdout. */
export type NodeExec = (command: string) => Promise<string>;

export interface FootprintTargets {
  /** Process names as the distribution knows them (`kube-controller-manager`); matched on /proc/<pid>/comm. */
  processNames: string[];
  /** Cgroup paths relative to the hierarchy root (`kubepods`, `system.slice/k3s.service`). */
  cgroupPaths: string[];
}

export interface FootprintProbeOptions extends FootprintTargets {
  /** Where the cgroup hierarchy is mounted; default /sys/fs/cgroup (v1 controllers below it as memory/). */
  cgroupRoot?: string;
}

export interface ProcessMemory {
  pid: number;
  /** The name as asked for, not the kernel's 15-character comm. */
  name: string;
  rssBytes: number | null;
  pssBytes: number | null;
}

export interface CgroupMemory {
  path: string;
  /** Null when the cgroup does not exist (in either layout). */
  version: 1 | 2 | null;
  /** v1 memory.usage_in_bytes, v2 memory.current (both include page cache). */
  usageBytes: number | null;
  /** v1 total_rss, v2 anon. */
  anonBytes: number | null;
  /** v1 total_cache, v2 file. */
  fileBytes: number | null;
  /** usage - inactive file: the kubelet / cAdvisor working set. */
  workingSetBytes: number | null;
  /** The memory.stat keys the probe keeps, as printed. */
  stat: Record<string, number>;
}

export interface FootprintSample {
  /** Host wall-clock time the probe started (epoch ms); 0 until a sampler stamps it. */
  at: number;
  /** How long the exec took, as seen by the host; 0 until a sampler stamps it. */
  probeMs: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** MemTotal - MemAvailable. */
  usedBytes: number;
  /** /proc/meminfo in bytes (the few unit-less entries, like HugePages_Total, as printed). */
  meminfo: Record<string, number>;
  processes: ProcessMemory[];
  cgroups: CgroupMemory[];
}

const PROBE_HEADER = '@@edgeproof-footprint 1';
const PROBE_END = '@@end';
/** The kernel keeps 15 characters of a command name in /proc/<pid>/comm. */
export const COMM_LENGTH = 15;
const SAFE_NAME = /^[A-Za-z0-9._:@+-]+$/;
const SAFE_PATH = /^[A-Za-z0-9._:@+\-/]*$/;
const V1_STAT_KEYS = ['total_rss', 'total_cache', 'total_shmem', 'total_mapped_file', 'total_inactive_file', 'total_active_file'];
const V2_STAT_KEYS = ['anon', 'file', 'shmem', 'file_mapped', 'inactive_file', 'active_file', 'kernel', 'sock'];

// ---------------------------------------------------------------- the probe

/**
 * A POSIX sh script (busybox sh, dash) printing /proc/meminfo, then for every
 * process whose comm matches one of `processNames` its VmRSS and Pss, then for
 * every cgroup path its memory usage in whichever layout exists (v2 first).
 */
export function footprintProbeScript(targets: FootprintProbeOptions): string {
  const matches = commMatches(targets.processNames);
  const root = cgroupRootOf(targets.cgroupRoot);
  return [
    `echo '${PROBE_HEADER}'`,
    `echo '@@meminfo'`,
    'cat /proc/meminfo',
    ...(matches.length > 0 ? processLoop(matches) : []),
    ...(targets.cgroupPaths.length > 0 ? [...cgroupFunction(root), ...targets.cgroupPaths.map((path) => `cg '${normalizeCgroupPath(path)}'`)] : []),
    `echo '${PROBE_END}'`,
  ].join('\n');
}

/** Pairs each name with the comm the kernel shows for it; refuses names unsafe in a script or colliding after truncation. */
export function commMatches(processNames: string[]): Array<{ comm: string; name: string }> {
  const byComm = new Map<string, string>();
  for (const name of new Set(processNames)) {
    if (!SAFE_NAME.test(name)) throw new EdgeproofError('INPUT', `Process name "${name}" has characters the footprint probe does not accept`);
    const comm = name.slice(0, COMM_LENGTH);
    const other = byComm.get(comm);
    if (other) throw new EdgeproofError('INPUT', `Process names "${other}" and "${name}" both appear as "${comm}" in /proc/<pid>/comm`);
    byComm.set(comm, name);
  }
  return [...byComm].map(([comm, name]) => ({ comm, name }));
}

export function normalizeCgroupPath(path: string): string {
  if (!SAFE_PATH.test(path) || path.split('/').includes('..')) {
    throw new EdgeproofError('INPUT', `Cgroup path "${path}" has characters the footprint probe does not accept`);
  }
  return path.replace(/^\/+|\/+$/g, '');
}

function processLoop(matches: Array<{ comm: string; name: string }>): string[] {
  return [
    'for d in /proc/[0-9]*; do',
    '  { read -r c < "$d/comm"; } 2>/dev/null || continue',
    '  case "$c" in',
    ...matches.map(({ comm, name }) => `    '${comm}') n='${name}' ;;`),
    '    *) continue ;;',
    '  esac',
    '  echo "@@process ${d#/proc/} $n"',
    '  { while IFS= read -r l; do case "$l" in VmRSS:*) echo "$l" ;; esac; done < "$d/status"; } 2>/dev/null',
    '  if [ -e "$d/smaps_rollup" ]; then',
    '    { while IFS= read -r l; do case "$l" in Pss:*) echo "$l" ;; esac; done < "$d/smaps_rollup"; } 2>/dev/null',
    '  else',
    `    awk '/^Pss:/ { s += $2; n++ } END { if (n) print "Pss: " s " kB" }' "$d/smaps" 2>/dev/null`,
    '  fi',
    'done',
  ];
}

function cgroupRootOf(root = '/sys/fs/cgroup'): string {
  if (!root.startsWith('/') || normalizeCgroupPath(root) === '') throw new EdgeproofError('INPUT', `Cgroup root "${root}" must be an absolute path`);
  return `/${normalizeCgroupPath(root)}`;
}

function cgroupFunction(root: string): string[] {
  const keep = (keys: string[]) => `while read -r k v; do case "$k" in ${keys.join('|')}) echo "$k $v" ;; esac; done`;
  return [
    'cg() {',
    `  v2='${root}'/"$1"; v1='${root}/memory'/"$1"`,
    '  if [ -r "$v2/memory.current" ]; then',
    '    echo "@@cgroup 2 $1"; echo "usage $(cat "$v2/memory.current")"',
    `    ${keep(V2_STAT_KEYS)} < "$v2/memory.stat"`,
    '  elif [ -r "$v1/memory.usage_in_bytes" ]; then',
    '    echo "@@cgroup 1 $1"; echo "usage $(cat "$v1/memory.usage_in_bytes")"',
    `    ${keep(V1_STAT_KEYS)} < "$v1/memory.stat"`,
    '  else',
    '    echo "@@cgroup missing $1"',
    '  fi',
    '}',
  ];
}

// ---------------------------------------------------------------- parsing

type Section = { kind: 'meminfo' } | { kind: 'process'; entry: ProcessMemory } | { kind: 'cgroup'; entry: CgroupMemory } | { kind: 'none' };

/** Parses one probe output. Throws when the output is not a complete probe run. */
export function parseFootprintSample(text: string): FootprintSample {
  const lines = text.split(/\r?\n/);
  const start = lines.indexOf(PROBE_HEADER);
  if (start < 0 || !lines.slice(start).includes(PROBE_END)) {
    throw malformed(text, start < 0 ? 'no probe header' : 'no end marker (output cut short?)');
  }
  const meminfo: Record<string, number> = {};
  const processes: ProcessMemory[] = [];
  const cgroups: CgroupMemory[] = [];
  let section: Section = { kind: 'none' };
  for (const line of lines.slice(start + 1)) {
    if (line === PROBE_END) break;
    if (line.startsWith('@@')) {
      section = openSection(line, text);
      if (section.kind === 'process') processes.push(section.entry);
      if (section.kind === 'cgroup') cgroups.push(section.entry);
      continue;
    }
    if (section.kind === 'meminfo') readMeminfoLine(line, meminfo);
    if (section.kind === 'process') readProcessLine(line, section.entry);
    if (section.kind === 'cgroup') readCgroupLine(line, section.entry);
  }
  for (const cgroup of cgroups) deriveCgroupFigures(cgroup);
  return { at: 0, probeMs: 0, ...usedMemory(meminfo, text), meminfo, processes, cgroups };
}

function openSection(line: string, text: string): Section {
  const [marker, first, second] = line.split(' ');
  if (marker === '@@meminfo') return { kind: 'meminfo' };
  if (marker === '@@process' && first && second) {
    return { kind: 'process', entry: { pid: Number(first), name: second, rssBytes: null, pssBytes: null } };
  }
  if (marker === '@@cgroup' && first) {
    const version = first === '1' ? 1 : first === '2' ? 2 : null;
    const entry: CgroupMemory = { path: second ?? '', version, usageBytes: null, anonBytes: null, fileBytes: null, workingSetBytes: null, stat: {} };
    return { kind: 'cgroup', entry };
  }
  throw malformed(text, `unknown section line "${line}"`);
}

/** `MemTotal:       24576000 kB` -> MemTotal = bytes; `HugePages_Total:       0` kept as printed. */
function readMeminfoLine(line: string, meminfo: Record<string, number>): void {
  const match = /^([^:]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
  if (match) meminfo[match[1]!] = Number(match[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1);
}

function readProcessLine(line: string, entry: ProcessMemory): void {
  const match = /^(VmRSS|Pss):\s+(\d+)\s+kB/.exec(line);
  if (!match) return;
  const bytes = Number(match[2]) * 1024;
  if (match[1] === 'VmRSS') entry.rssBytes = bytes;
  else entry.pssBytes = bytes;
}

function readCgroupLine(line: string, entry: CgroupMemory): void {
  const match = /^(\w+) (\d+)$/.exec(line.trim());
  if (!match) return;
  if (match[1] === 'usage') entry.usageBytes = Number(match[2]);
  else entry.stat[match[1]!] = Number(match[2]);
}

function deriveCgroupFigures(cgroup: CgroupMemory): void {
  const key = (v1: string, v2: string) => cgroup.stat[cgroup.version === 1 ? v1 : v2] ?? null;
  cgroup.anonBytes = key('total_rss', 'anon');
  cgroup.fileBytes = key('total_cache', 'file');
  const inactiveFile = key('total_inactive_file', 'inactive_file');
  cgroup.workingSetBytes = cgroup.usageBytes === null || inactiveFile === null ? null : Math.max(0, cgroup.usageBytes - inactiveFile);
}

/** Used = MemTotal - MemAvailable; kernels before 3.14 lack MemAvailable: MemFree + Buffers + Cached stands in. */
function usedMemory(meminfo: Record<string, number>, text: string): Pick<FootprintSample, 'memTotalBytes' | 'memAvailableBytes' | 'usedBytes'> {
  const total = meminfo.MemTotal;
  const available = meminfo.MemAvailable ?? sumIfAll(meminfo, ['MemFree', 'Buffers', 'Cached']);
  if (total === undefined || available === undefined) throw malformed(text, 'no MemTotal / MemAvailable in /proc/meminfo');
  return { memTotalBytes: total, memAvailableBytes: available, usedBytes: total - available };
}

function sumIfAll(record: Record<string, number>, keys: string[]): number | undefined {
  const values = keys.map((key) => record[key]);
  return values.every((value) => value !== undefined) ? values.reduce((a, b) => a! + b!, 0) : undefined;
}

function malformed(text: string, reason: string): EdgeproofError {
  const lastLine = text.trim().split('\n').at(-1) ?? '';
  return new EdgeproofError('INPUT', `Footprint probe output is unusable: ${reason}; last line: "${lastLine.slice(0, 200)}"`);
}

// ---------------------------------------------------------------- sampling

export interface MemoryBaseline {
  usedBytes: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** Epoch ms. */
  takenAt: number;
}

/** Used memory on the node now (MemTotal - MemAvailable): take it before the distribution is installed. */
export async function measureBaseline(exec: NodeExec): Promise<MemoryBaseline> {
  const takenAt = Date.now();
  const sample = parseFootprintSample(await exec(footprintProbeScript({ processNames: [], cgroupPaths: [] })));
  return { usedBytes: sample.usedBytes, memTotalBytes: sample.memTotalBytes, memAvailableBytes: sample.memAvailableBytes, takenAt };
}

export interface SampleFootprintOptions extends FootprintProbeOptions {
  exec: NodeExec;
  baselineUsedBytes: number;
  intervalMs?: number;
  durationMs: number;
  signal?: AbortSignal;
}

export interface FootprintRun {
  intervalMs: number;
  durationMs: number;
  baselineUsedBytes: number;
  targets: FootprintTargets;
  samples: FootprintSample[];
  /** Probes that failed (exec error or unusable output), with the first messages. */
  failedProbes: number;
  failureSamples: string[];
  /** True when the signal stopped sampling before durationMs. */
  interrupted: boolean;
  summary: FootprintSummary;
}

/**
 * Probes the node every `intervalMs` (starts on a fixed grid; a probe slower
 * than the interval delays the next one, never overlaps it) for `durationMs`.
 * An abort ends sampling early and still returns the samples taken.
 */
export async function sampleFootprint(options: SampleFootprintOptions): Promise<FootprintRun> {
  const intervalMs = options.intervalMs ?? 1000;
  const script = footprintProbeScript(options);
  const samples: FootprintSample[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  let interrupted = false;
  for (let tick = 0; ; tick++) {
    interrupted = !(await waitForTick(t0 + tick * intervalMs, options.signal));
    if (interrupted || performance.now() - t0 >= options.durationMs) break;
    const outcome = await probeOnce(options.exec, script);
    if (typeof outcome === 'string') failures.push(outcome);
    else samples.push(outcome);
  }
  if (samples.length === 0 && !interrupted) {
    throw new EdgeproofError('INPUT', `Footprint sampling got no sample in ${failures.length} probes: ${failures[0] ?? 'no probe ran'}`);
  }
  return footprintRun(options, intervalMs, samples, failures, interrupted);
}

function footprintRun(options: SampleFootprintOptions, intervalMs: number, samples: FootprintSample[], failures: string[], interrupted: boolean): FootprintRun {
  const targets = { processNames: options.processNames, cgroupPaths: options.cgroupPaths };
  return {
    intervalMs,
    durationMs: options.durationMs,
    baselineUsedBytes: options.baselineUsedBytes,
    targets,
    samples,
    failedProbes: failures.length,
    failureSamples: [...new Set(failures)].slice(0, 5),
    interrupted,
    summary: summarizeFootprint(samples, options.baselineUsedBytes, targets),
  };
}

/** False when aborted. */
async function waitForTick(at: number, signal: AbortSignal | undefined): Promise<boolean> {
  const wait = at - performance.now();
  try {
    if (wait > 0) await sleep(Math.ceil(wait), signal);
  } catch {
    return false;
  }
  return !signal?.aborted;
}

/** A sample stamped with when it was taken and how long the exec took, or the reason the probe failed. */
async function probeOnce(exec: NodeExec, script: string): Promise<FootprintSample | string> {
  const at = Date.now();
  const started = performance.now();
  try {
    const sample = parseFootprintSample(await exec(script));
    return { ...sample, at, probeMs: performance.now() - started };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

// ---------------------------------------------------------------- summary

export interface CgroupSummary {
  version: 1 | 2 | null;
  usage: Summary | null;
  anon: Summary | null;
  file: Summary | null;
  workingSet: Summary | null;
}

export interface ProcessSummary {
  /** Per sample, the sum over every pid with this name (containerd-shim runs once per pod). */
  rss: Summary | null;
  pss: Summary | null;
  pids: number[];
}

export interface FootprintSummary {
  samples: number;
  /**
   * (1) "k8s services only": the distribution's cgroups and its process set, per sample.
   * A sample where one figure is missing (an unreadable smaps_rollup, a process that
   * exited mid-probe) is left out of that series rather than summed short; `samples`
   * in each summary says how many remained.
   */
  services: {
    /** Sum of usage over the cgroups that exist (nested paths count twice: pass disjoint ones). */
    cgroupUsage: Summary | null;
    cgroupAnon: Summary | null;
    cgroupWorkingSet: Summary | null;
    /** Sum of RSS over matched processes (shared pages count once per process). */
    processRss: Summary | null;
    /** Sum of PSS over matched processes (shared pages split: the set's real share). */
    processPss: Summary | null;
  };
  /** (2) MemTotal - MemAvailable - baseline. */
  guestUsedAboveBaseline: Summary | null;
  guestUsed: Summary | null;
  /** (3) per process name. */
  processes: Record<string, ProcessSummary>;
  cgroups: Record<string, CgroupSummary>;
  /** Asked-for processes never seen / cgroups never found in any sample. */
  missingProcesses: string[];
  missingCgroups: string[];
}

/** The three figures over a set of samples (bytes). Pure. */
export function summarizeFootprint(samples: FootprintSample[], baselineUsedBytes: number, targets?: FootprintTargets): FootprintSummary {
  const present = (cgroups: CgroupMemory[]) => cgroups.filter((cgroup) => cgroup.version !== null);
  const series = (pick: (sample: FootprintSample) => number | null) => summarizeIfAny(samples.map(pick).filter(isNumber));
  const processes = summarizeProcesses(samples);
  const cgroups = summarizeCgroups(samples);
  return {
    samples: samples.length,
    services: {
      cgroupUsage: series((s) => sumIfComplete(present(s.cgroups).map((c) => c.usageBytes))),
      cgroupAnon: series((s) => sumIfComplete(present(s.cgroups).map((c) => c.anonBytes))),
      cgroupWorkingSet: series((s) => sumIfComplete(present(s.cgroups).map((c) => c.workingSetBytes))),
      processRss: series((s) => sumIfComplete(s.processes.map((p) => p.rssBytes))),
      processPss: series((s) => sumIfComplete(s.processes.map((p) => p.pssBytes))),
    },
    guestUsedAboveBaseline: series((s) => s.usedBytes - baselineUsedBytes),
    guestUsed: series((s) => s.usedBytes),
    processes,
    cgroups,
    missingProcesses: (targets?.processNames ?? []).filter((name) => !(name in processes)),
    missingCgroups: Object.entries(cgroups)
      .filter(([, summary]) => summary.version === null)
      .map(([path]) => path),
  };
}

function summarizeProcesses(samples: FootprintSample[]): Record<string, ProcessSummary> {
  const names = [...new Set(samples.flatMap((sample) => sample.processes.map((p) => p.name)))];
  return Object.fromEntries(
    names.map((name) => {
      const perSample = samples.map((sample) => sample.processes.filter((p) => p.name === name)).filter((list) => list.length > 0);
      return [
        name,
        {
          rss: summarizeIfAny(perSample.map((list) => sumIfComplete(list.map((p) => p.rssBytes))).filter(isNumber)),
          pss: summarizeIfAny(perSample.map((list) => sumIfComplete(list.map((p) => p.pssBytes))).filter(isNumber)),
          pids: [...new Set(perSample.flat().map((p) => p.pid))],
        },
      ];
    }),
  );
}

function summarizeCgroups(samples: FootprintSample[]): Record<string, CgroupSummary> {
  const paths = [...new Set(samples.flatMap((sample) => sample.cgroups.map((c) => c.path)))];
  return Object.fromEntries(
    paths.map((path) => {
      const seen = samples.flatMap((sample) => sample.cgroups.filter((c) => c.path === path && c.version !== null));
      const series = (pick: (cgroup: CgroupMemory) => number | null) => summarizeIfAny(seen.map(pick).filter(isNumber));
      return [
        path,
        {
          version: seen[0]?.version ?? null,
          usage: series((c) => c.usageBytes),
          anon: series((c) => c.anonBytes),
          file: series((c) => c.fileBytes),
          workingSet: series((c) => c.workingSetBytes),
        },
      ];
    }),
  );
}

/** Sum when every value is known; null when one is missing (a partial sum would understate) or there are none. */
function sumIfComplete(values: Array<number | null>): number | null {
  if (values.length === 0 || !values.every(isNumber)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0);
}

function isNumber(value: number | null): value is number {
  return value !== null;
}


// ---------------------------------------------------------------- in-guest sampling

const SAMPLE_AT = '@@sample-at-ms';

/**
 * A loop that runs the probe in the node itself on a fixed grid (`intervalMs`)
 * and prints each sample after a timestamp line. Under emulation an SSH round
 * trip per sample costs more than the interval; this costs one exec in all.
 */
export function footprintLoopScript(targets: FootprintProbeOptions, intervalMs: number, count: number): string {
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || !Number.isInteger(count) || count < 1) {
    throw new EdgeproofError('INPUT', `footprint loop needs an interval >= 100 ms and a count >= 1 (got ${intervalMs}, ${count})`);
  }
  const probe = footprintProbeScript(targets)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return [
    'now_ms() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}0"; }',
    `start=$(now_ms); i=0`,
    `while [ "$i" -lt ${count} ]; do`,
    `  echo "${SAMPLE_AT} $(date +%s%3N)"`,
    probe,
    '  i=$((i + 1))',
    `  wait_ms=$(( start + i * ${intervalMs} - $(now_ms) ))`,
    '  if [ "$wait_ms" -gt 0 ]; then sleep "$((wait_ms / 1000)).$(printf %03d $((wait_ms % 1000)))"; fi',
    'done',
  ].join('\n');
}

/** Splits the loop's output into samples stamped with the guest's wall clock. */
export function parseFootprintLoop(text: string): { samples: FootprintSample[]; failures: string[] } {
  const samples: FootprintSample[] = [];
  const failures: string[] = [];
  const chunks = text.split(`${SAMPLE_AT} `).slice(1);
  chunks.forEach((chunk, index) => {
    const at = Number(chunk.slice(0, chunk.indexOf('\n')));
    try {
      const sample = parseFootprintSample(chunk);
      const next = Number(chunks[index + 1]?.slice(0, chunks[index + 1]!.indexOf('\n')));
      samples.push({ ...sample, at, probeMs: Number.isFinite(next) ? next - at : 0 });
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  });
  return { samples, failures };
}

/** Like sampleFootprint, but the sampling loop runs in the node: one exec for the whole window. */
export async function sampleFootprintInGuest(options: SampleFootprintOptions): Promise<FootprintRun> {
  const intervalMs = options.intervalMs ?? 1000;
  const count = Math.max(1, Math.floor(options.durationMs / intervalMs));
  const output = await options.exec(footprintLoopScript(options, intervalMs, count));
  const { samples, failures } = parseFootprintLoop(output);
  if (samples.length === 0) throw new EdgeproofError('INPUT', `Footprint sampling got no sample: ${failures[0] ?? 'empty output'}`);
  return footprintRun(options, intervalMs, samples, failures, false);
}
