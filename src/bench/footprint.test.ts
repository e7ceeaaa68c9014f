import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commMatches,
  footprintProbeScript,
  measureBaseline,
  normalizeCgroupPath,
  parseFootprintSample,
  sampleFootprint,
  summarizeFootprint,
  type NodeExec,
} from './footprint.js';

const run = promisify(execFile);
const golden = (name: string) => readFile(new URL(`../../fixtures/golden/bench/${name}`, import.meta.url), 'utf8');
const KiB = 1024;

/** The targets the golden files were captured with, on this (cgroup v1) host. */
const goldenTargets = {
  processNames: ['process_api', 'bash', 'kubelet', 'kube-controller-manager'],
  cgroupPaths: ['/process_api/', 'process_api/8bd88ad529de81d5baffb03296010fbb', 'kubepods', 'system.slice/k3s.service'],
};

/** Runs a script the way a guest would: `sh -c` (dash here) or busybox's ash. */
function hostExec(shell: 'dash' | 'busybox'): NodeExec {
  return async (command) => {
    const [file, args] = shell === 'busybox' ? ['busybox', ['sh', '-c', command]] : ['dash', ['-c', command]];
    return (await run(file, args as string[], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  };
}

describe('footprintProbeScript', () => {
  it('generates the script the golden outputs were captured with', async () => {
    expect(footprintProbeScript(goldenTargets) + '\n').toBe(await golden('footprint-probe.sh'));
  });

  it('matches long names on the 15-character comm the kernel keeps', () => {
    expect(commMatches(['kube-controller-manager', 'etcd', 'etcd'])).toEqual([
      { comm: 'kube-controller', name: 'kube-controller-manager' },
      { comm: 'etcd', name: 'etcd' },
    ]);
    expect(footprintProbeScript({ processNames: ['kube-controller-manager'], cgroupPaths: [] })).toContain(
      "'kube-controller') n='kube-controller-manager' ;;",
    );
  });

  it('refuses names that collide after truncation or are unsafe in a script', () => {
    expect(() => commMatches(['containerd-shim-runc-v2', 'containerd-shim-runc-v1'])).toThrow(/both appear as "containerd-shim"/);
    expect(() => commMatches(["kubelet'; rm -rf /"])).toThrow(/does not accept/);
    expect(() => normalizeCgroupPath('kubepods/../..')).toThrow(/does not accept/);
    expect(() => normalizeCgroupPath('a b')).toThrow(/does not accept/);
    expect(normalizeCgroupPath('/system.slice/k3s.service/')).toBe('system.slice/k3s.service');
    expect(() => footprintProbeScript({ processNames: [], cgroupPaths: ['x'], cgroupRoot: 'relative' })).toThrow(/absolute/);
  });
});

describe('parseFootprintSample on output captured from this host (dash, cgroup v1)', () => {
  let text: string;
  beforeAll(async () => {
    text = await golden('footprint-cgroup-v1-dash.txt');
  });

  it('reads meminfo in bytes and used = MemTotal - MemAvailable', () => {
    const sample = parseFootprintSample(text);
    expect(sample.memTotalBytes).toBe(24_683_620 * KiB);
    expect(sample.memAvailableBytes).toBe(sample.meminfo.MemAvailable);
    expect(sample.usedBytes).toBe(sample.memTotalBytes - sample.memAvailableBytes);
    expect(sample.meminfo.HugePages_Total).toBe(0);
    expect(sample.meminfo.Hugepagesize).toBe(2048 * KiB);
  });

  it('reads VmRSS and Pss per process, and leaves Pss null where smaps_rollup was unreadable', () => {
    const { processes } = parseFootprintSample(text);
    // pid 1 is outside this sandbox's ptrace reach: "Permission denied" on smaps_rollup.
    expect(processes[0]).toEqual({ pid: 1, name: 'process_api', rssBytes: 11_680 * KiB, pssBytes: null });
    const shells = processes.filter((p) => p.name === 'bash');
    expect(shells.length).toBeGreaterThan(3);
    for (const shell of shells) {
      expect(shell.pssBytes).toBeGreaterThan(0);
      expect(shell.pssBytes!).toBeLessThanOrEqual(shell.rssBytes!);
    }
    expect(processes.some((p) => p.name === 'kubelet' || p.name === 'kube-controller-manager')).toBe(false);
  });

  it('reads the cgroup v1 layout: usage, total_rss as anon, total_cache as file, working set', () => {
    const { cgroups } = parseFootprintSample(text);
    expect(cgroups.map((c) => [c.path, c.version])).toEqual([
      ['process_api', 1],
      ['process_api/8bd88ad529de81d5baffb03296010fbb', 1],
      ['kubepods', null],
      ['system.slice/k3s.service', null],
    ]);
    // Hand-checked against the golden lines.
    expect(cgroups[0]).toMatchObject({
      usageBytes: 3_816_460_288,
      anonBytes: 253_878_272,
      fileBytes: 3_244_376_064,
      workingSetBytes: 3_816_460_288 - 1_805_414_400,
    });
    expect(cgroups[2]).toMatchObject({ usageBytes: null, workingSetBytes: null, stat: {} });
  });

  it('gives the same structure from busybox sh as from dash', async () => {
    const fromDash = parseFootprintSample(text);
    const fromBusybox = parseFootprintSample(await golden('footprint-cgroup-v1-busybox.txt'));
    expect(fromBusybox.cgroups.map((c) => [c.path, c.version, Object.keys(c.stat)])).toEqual(
      fromDash.cgroups.map((c) => [c.path, c.version, Object.keys(c.stat)]),
    );
    expect(fromBusybox.processes.find((p) => p.pid === 1)).toMatchObject({ name: 'process_api', pssBytes: null });
    expect(fromBusybox.memTotalBytes).toBe(fromDash.memTotalBytes);
  });

  it('tolerates a login banner before the probe, and falls back when MemAvailable is absent (kernels < 3.14)', () => {
    const banner = 'Welcome to Debian\n\n' + text.replace(/^MemAvailable:.*\n/m, '');
    const sample = parseFootprintSample(banner);
    const { MemFree, Buffers, Cached } = sample.meminfo;
    expect(sample.memAvailableBytes).toBe(MemFree! + Buffers! + Cached!);
  });

  it('refuses output that was cut short or is not from the probe', () => {
    expect(() => parseFootprintSample(text.slice(0, text.indexOf('@@cgroup')))).toThrow(/no end marker/);
    expect(() => parseFootprintSample('sh: 1: cat: not found\n')).toThrow(/no probe header.*cat: not found/);
    expect(() => parseFootprintSample(text.replace('@@cgroup 1 process_api\n', '@@weird\n'))).toThrow(/unknown section line "@@weird"/);
  });
});

describe('the probe, run for real on this host', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ep-footprint-'));
    // A cgroup v2 unified layout (as k3s on a current Debian/Raspberry Pi OS sees it) next to a v1 memory controller.
    await mkdir(join(root, 'kubepods.slice'), { recursive: true });
    await writeFile(join(root, 'kubepods.slice/memory.current'), '207618048\n');
    await writeFile(
      join(root, 'kubepods.slice/memory.stat'),
      'anon 150994944\nfile 50331648\nkernel 6291456\nkernel_stack 1081344\nsock 0\nshmem 0\nfile_mapped 20971520\ninactive_anon 0\nactive_anon 150994944\ninactive_file 41943040\nactive_file 8388608\npgfault 123\n',
    );
    await mkdir(join(root, 'memory/kubepods'), { recursive: true });
    await writeFile(join(root, 'memory/kubepods/memory.usage_in_bytes'), '104857600\n');
    await writeFile(join(root, 'memory/kubepods/memory.stat'), 'cache 1\nrss 2\ntotal_cache 62914560\ntotal_rss 41943040\ntotal_inactive_file 10485760\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const shell of ['dash', 'busybox'] as const) {
    it(`${shell}: finds this test process and reads both cgroup layouts`, async () => {
      const comm = (await readFile('/proc/self/comm', 'utf8')).trim();
      const script = footprintProbeScript({ processNames: [comm], cgroupPaths: ['kubepods.slice', 'kubepods', 'absent'], cgroupRoot: root });
      const sample = parseFootprintSample(await hostExec(shell)(script));

      const self = sample.processes.find((p) => p.pid === process.pid);
      expect(self).toBeDefined();
      expect(self!.rssBytes).toBeGreaterThan(10 * 1024 * KiB);
      expect(self!.pssBytes).toBeGreaterThan(0);
      expect(sample.cgroups).toEqual([
        {
          path: 'kubepods.slice',
          version: 2,
          usageBytes: 207_618_048,
          anonBytes: 150_994_944,
          fileBytes: 50_331_648,
          workingSetBytes: 207_618_048 - 41_943_040,
          stat: { anon: 150_994_944, file: 50_331_648, kernel: 6_291_456, sock: 0, shmem: 0, file_mapped: 20_971_520, inactive_file: 41_943_040, active_file: 8_388_608 },
        },
        {
          path: 'kubepods',
          version: 1,
          usageBytes: 104_857_600,
          anonBytes: 41_943_040,
          fileBytes: 62_914_560,
          workingSetBytes: 104_857_600 - 10_485_760,
          stat: { total_cache: 62_914_560, total_rss: 41_943_040, total_inactive_file: 10_485_760 },
        },
        { path: 'absent', version: null, usageBytes: null, anonBytes: null, fileBytes: null, workingSetBytes: null, stat: {} },
      ]);
    });
  }
});

describe('summarizeFootprint', () => {
  it('gives the three figures over samples, leaving incomplete sums out', async () => {
    const samples = [
      parseFootprintSample(await golden('footprint-cgroup-v1-dash.txt')),
      parseFootprintSample(await golden('footprint-cgroup-v1-busybox.txt')),
    ];
    const baseline = 74 * 1024 * KiB;
    const summary = summarizeFootprint(samples, baseline, goldenTargets);

    expect(summary.samples).toBe(2);
    const used = samples.map((s) => s.usedBytes).sort((a, b) => a - b);
    expect(summary.guestUsedAboveBaseline).toMatchObject({ min: used[0]! - baseline, max: used[1]! - baseline, samples: 2 });
    // (1) the process set: RSS is complete; PSS is not (pid 1 unreadable), so no PSS sum is claimed.
    expect(summary.services.processRss?.samples).toBe(2);
    expect(summary.services.processPss).toBeNull();
    // ... the cgroups: only those that exist are summed.
    const first = samples[0]!.cgroups;
    expect(summary.services.cgroupUsage?.min).toBeLessThanOrEqual(first[0]!.usageBytes! + first[1]!.usageBytes!);
    expect(summary.cgroups.process_api?.version).toBe(1);
    // (3) per process name, summed over its pids.
    const bashRss = samples[0]!.processes.filter((p) => p.name === 'bash').reduce((sum, p) => sum + p.rssBytes!, 0);
    expect(summary.processes.bash?.rss?.samples).toBe(2);
    expect([summary.processes.bash?.rss?.min, summary.processes.bash?.rss?.max]).toContain(bashRss);
    expect(summary.processes.process_api?.pss).toBeNull();
    expect(summary.missingProcesses).toEqual(['kubelet', 'kube-controller-manager']);
    expect(summary.missingCgroups).toEqual(['kubepods', 'system.slice/k3s.service']);
  });
});

describe('sampleFootprint and measureBaseline through a real shell', () => {
  it('samples on a fixed interval and summarizes against the baseline', async () => {
    const exec = hostExec('dash');
    const baseline = await measureBaseline(exec);
    expect(baseline.usedBytes).toBeGreaterThan(0);
    expect(baseline.usedBytes).toBeLessThan(baseline.memTotalBytes);

    const comm = (await readFile('/proc/self/comm', 'utf8')).trim();
    const started = Date.now();
    const result = await sampleFootprint({
      exec,
      processNames: [comm],
      cgroupPaths: [],
      baselineUsedBytes: baseline.usedBytes,
      intervalMs: 250,
      durationMs: 1200,
    });

    // Ticks at 0, 250, 500, 750, 1000 ms.
    expect(result.samples.length).toBeGreaterThanOrEqual(4);
    expect(result.samples.length).toBeLessThanOrEqual(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(result).toMatchObject({ failedProbes: 0, interrupted: false });
    expect(result.samples[1]!.at - result.samples[0]!.at).toBeGreaterThanOrEqual(200);
    expect(result.summary.guestUsed?.samples).toBe(result.samples.length);
    expect(result.summary.processes[comm]?.pids).toContain(process.pid);
    expect(result.summary.guestUsedAboveBaseline!.p50).toBe(result.summary.guestUsed!.p50 - baseline.usedBytes);
  });

  it('stops on abort with the samples it has', async () => {
    const result = await sampleFootprint({
      exec: hostExec('dash'),
      processNames: [],
      cgroupPaths: [],
      baselineUsedBytes: 0,
      intervalMs: 100,
      durationMs: 60_000,
      signal: AbortSignal.timeout(350),
    });
    expect(result.interrupted).toBe(true);
    expect(result.samples.length).toBeGreaterThanOrEqual(2);
    expect(result.samples.length).toBeLessThanOrEqual(5);
  });

  it('fails with the reason when no probe ever worked', async () => {
    const broken: NodeExec = async () => (await run('dash', ['-c', 'echo "sh: 1: cat: not found"'])).stdout;
    await expect(
      sampleFootprint({ exec: broken, processNames: [], cgroupPaths: [], baselineUsedBytes: 0, intervalMs: 50, durationMs: 120 }),
    ).rejects.toThrow(/no sample in [1-9]\d* probes: .*cat: not found/);
  });
});
