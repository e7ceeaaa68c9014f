import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeExec } from './footprint.js';
import {
  DEFAULT_PROBE_ITERATIONS,
  awkImplementation,
  cpuProbeScript,
  measureSlowdown,
  parseCpuProbe,
  runCpuProbeOnHost,
  runCpuProbeOnNode,
  slowdownFactor,
} from './slowdown.js';

const run = promisify(execFile);
/** The checksum of the loop at the default iteration count, the same from every awk. */
const DEFAULT_CHECKSUM = '302974';

describe('runCpuProbeOnHost (for real, with sh -c)', () => {
  it('takes tens of milliseconds with busybox awk and gives the known checksum', async () => {
    const result = await runCpuProbeOnHost({ awk: 'busybox' });
    expect(result).toMatchObject({ awkKind: 'busybox', clock: 'date-ns', iterations: DEFAULT_PROBE_ITERATIONS, checksum: DEFAULT_CHECKSUM });
    expect(result.awkIdentity).toMatch(/^BusyBox v\d/);
    expect(result.durationsMs).toHaveLength(3);
    // ~65 ms on the development host; generous bounds that still catch a loop that does nothing or runs away.
    expect(result.minMs).toBeGreaterThan(10);
    expect(result.medianMs).toBeLessThan(2000);
  });

  it('computes the same checksum with the system awk', async () => {
    const result = await runCpuProbeOnHost({ awk: 'awk', repetitions: 1 });
    expect(result.awkKind).toBe('awk');
    expect(result.awkIdentity).toMatch(/^\//);
    expect(result.checksum).toBe(DEFAULT_CHECKSUM);
  });

  it('scales with the iteration count', async () => {
    const small = await runCpuProbeOnHost({ awk: 'busybox', iterations: 20_000, repetitions: 3 });
    const large = await runCpuProbeOnHost({ awk: 'busybox', iterations: 200_000, repetitions: 3 });
    expect(large.checksum).not.toBe(small.checksum);
    expect(large.minMs).toBeGreaterThan(2 * small.minMs);
  });
});

describe('the probe where date has no %N (busybox date, as in a busybox initramfs)', () => {
  let binDir: string;
  beforeAll(async () => {
    binDir = await mkdtemp(join(tmpdir(), 'ep-slowdown-'));
    await symlink('/usr/bin/busybox', join(binDir, 'date'));
  });
  afterAll(async () => {
    await rm(binDir, { recursive: true, force: true });
  });

  it('falls back to /proc/uptime in 10 ms steps', async () => {
    const busyboxNode: NodeExec = async (command) =>
      (await run('busybox', ['sh', '-c', command], { env: { ...process.env, PATH: `${binDir}:${process.env.PATH}` } })).stdout;
    const result = await runCpuProbeOnNode(busyboxNode, { iterations: 200_000 });
    expect(result).toMatchObject({ clock: 'uptime-cs', awkKind: 'busybox' });
    for (const ms of result.durationsMs) expect(ms % 10).toBe(0);
    expect(result.medianMs).toBeGreaterThanOrEqual(10);
  });
});

describe('measureSlowdown', () => {
  it('with the host itself as the "guest" gives a factor near 1, same awk on both sides', async () => {
    const dash: NodeExec = async (command) => (await run('dash', ['-c', command])).stdout;
    const measurement = await measureSlowdown(dash, { repetitions: 5 });
    expect(measurement.sameAwk).toBe(true);
    expect(measurement.guest.checksum).toBe(measurement.host.checksum);
    expect(measurement.factor).toBeGreaterThan(0.33);
    expect(measurement.factor).toBeLessThan(3);
    expect(measurement.hostCpu.cpus).toBeGreaterThan(0);
  });
});

describe('pure parts', () => {
  it('slowdownFactor is guest over host and refuses nonsense', () => {
    expect(slowdownFactor(1000, 80)).toBe(12.5);
    expect(() => slowdownFactor(0, 80)).toThrow(/positive/);
    expect(() => slowdownFactor(1000, Number.NaN)).toThrow(/positive/);
  });

  it('parseCpuProbe reads nanosecond clocks without losing precision', () => {
    const text = [
      '@@probe awk 100000',
      '@@awk /usr/bin/mawk',
      '@@rep n 1763970000123456789 n 1763970000148456789 302974',
      '@@rep n 1763970001000000000 n 1763970001030000001 302974',
      '@@end',
    ].join('\n');
    const result = parseCpuProbe(text);
    expect(result.durationsMs).toEqual([25, 30.000001]);
    expect(result).toMatchObject({ awkKind: 'awk', clock: 'date-ns', minMs: 25 });
    expect(result.medianMs).toBeCloseTo(27.5000005, 9);
    expect(awkImplementation(result)).toBe('mawk');
  });

  it('parseCpuProbe refuses cut-short output and disagreeing repetitions', () => {
    expect(() => parseCpuProbe('@@probe busybox 10\n@@awk BusyBox\n')).toThrow(/incomplete/);
    expect(() => parseCpuProbe('@@probe busybox 10\n@@awk x\n@@rep n 1 n 2 5\n@@rep n 3 n 4 6\n@@end')).toThrow(/disagree/);
    expect(() => parseCpuProbe('@@probe busybox 10\n@@awk x\n@@rep n 1 n 2 \n@@end')).toThrow(/printed nothing/);
    expect(() => parseCpuProbe('@@probe busybox 10\n@@awk x\n@@rep n 1 u 2 5\n@@end')).toThrow(/mixes clocks/);
  });

  it('cpuProbeScript refuses iteration counts that are not positive integers', () => {
    expect(() => cpuProbeScript({ iterations: 0 })).toThrow(/iterations/);
    expect(() => cpuProbeScript({ repetitions: 1.5 })).toThrow(/repetitions/);
  });
});
