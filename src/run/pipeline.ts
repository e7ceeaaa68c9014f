import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { RunContext } from '../core/context.js';
import { interruptSignal } from '../core/interrupt.js';
import { cacheDir as defaultCacheDir, newRunId, projectRoot } from '../core/paths.js';
import { sweepStaleSessions } from '../core/session.js';
import { distributionByName, VENDOR_MEMORY_CLAIMS_MB } from '../distros/registry.js';
import { formatTopology, nodeCount } from '../cluster/topology.js';
import { sweepContainers } from '../emulation/container/docker-engine.js';
import type { RunResult } from '../reports/result-model.js';
import { bringUpAndTest } from './bring-up.js';
import { endRun } from './run-end.js';
import type { RunOptions } from './run-options.js';
import { timeoutScaleFor, type RunSpec } from './run-spec.js';

export interface RunOutcome {
  result: RunResult;
  runDir: string;
  /** What stopped the run, when something did (already in the result). */
  error?: unknown;
  interrupted: boolean;
}

/**
 * One run: stale sessions swept, the host checked, the cluster brought up (or
 * restored, or reached), the suites run, and the results written whatever
 * happened. Printing and the exit code are the caller's.
 */
export async function runPipeline(spec: RunSpec, options: RunOptions): Promise<RunOutcome> {
  const distribution = distributionByName(options.distro, options.clusterSource.distroOptions);
  const host = await spec.backend.describeHost(spec);
  // Before the preflight: what killed runs left (disks, containers) must not be what stops this one.
  const swept = await sweepStaleSessions(options.cacheDir ?? defaultCacheDir(), sweepContainers);
  spec.backend.preflight(spec);

  const runId = newRunId();
  const ctx = new RunContext({
    runDir: join(options.reportsDir, runId),
    runId,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    timeoutScale: timeoutScaleFor(spec.timeoutScale, host),
  });
  if (swept.sessions.length) ctx.progress.info(`swept ${swept.sessions.length} stale session(s): ${swept.killed.length} process(es) killed, ${swept.containers.length} container(s), ${swept.removedDirs.length} dir(s) removed`);
  for (const problem of swept.errors) ctx.progress.info(`sweep: ${problem}`);
  const onInterrupt = () => ctx.abort(interruptSignal().reason);
  interruptSignal().addEventListener('abort', onInterrupt, { once: true });

  const topology = formatTopology(spec.nodes);
  ctx.progress.info(`run ${runId}: ${distribution.name} ${distribution.version}, topology ${topology}, on ${host.label}, timeout scale ${ctx.timeoutScale}`);
  ctx.progress.info(`results: ${ctx.runDir}`);
  ctx.events.emit({ type: 'run-start', runId, argv: process.argv.slice(2), config: { ...options } as Record<string, unknown> });
  ctx.events.emit({
    type: 'environment',
    environment: {
      host: hostname(), hostKernel: release(), hostCpus: cpus().length, hostCpuModel: cpus()[0]?.model ?? 'unknown', hostMemoryMiB: Math.round(totalmem() / 2 ** 20),
      ...host.environment, backend: spec.backend.name, topology, nodeCount: nodeCount(spec.nodes),
      distro: distribution.name, k8sVersion: distribution.version, claims: distribution.claims, timeoutScale: ctx.timeoutScale, node: process.version,
      edgeproofVersion: packageVersion(), ...(process.env.GITHUB_SHA ? { gitCommit: process.env.GITHUB_SHA } : {}),
    },
  });

  const startedAt = Date.now();
  let runError: unknown;
  try {
    await bringUpAndTest(ctx, spec, options, distribution);
  } catch (error) {
    runError = error;
  }
  const ended = await endRun(ctx, {
    startedAt,
    claims: VENDOR_MEMORY_CLAIMS_MB,
    ...(runError ? { error: runError } : {}),
    ...(options.budgetsFile ? { budgetsFile: options.budgetsFile } : {}),
  });
  interruptSignal().removeEventListener('abort', onInterrupt);
  return { ...ended, runDir: ctx.runDir };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
