import { boardByName, boardMemory } from '../emulation/boards.js';
import { BACKENDS } from '../emulation/backends.js';
import { VENDOR_MEMORY_CLAIMS_MB } from '../distros/registry.js';
import { exitCodeFor } from '../reports/write-reports.js';
import { renderConsoleSummary } from '../reports/summary-md.js';
import { runPipeline } from '../run/pipeline.js';
import { BACKEND_DEFAULT_SCALE, type RunSpec } from '../run/run-spec.js';
import type { RunOptions } from './run-options.js';

/** `edgeproof run`: options -> run spec -> pipeline -> summary. Resolves to the exit code. */
export async function runCommand(options: RunOptions): Promise<number> {
  const { result, error, interrupted, runDir } = await runPipeline(runSpec(options), options);
  process.stdout.write(`\n${renderConsoleSummary(result, { claims: VENDOR_MEMORY_CLAIMS_MB })}\n`);
  process.stdout.write(`Reports: ${runDir}/{report.html,summary.md,result.json,junit.xml,events.jsonl}\n`);
  if (error && !interrupted) throw error;
  return exitCodeFor(result);
}

/** The validated options as the run's machines: the board looked up and its memory parsed here, once. */
export function runSpec(options: RunOptions): RunSpec {
  const board = boardByName(options.board);
  const source = options.clusterSource;
  return {
    backend: BACKENDS[options.backend],
    board,
    memoryMiB: boardMemory(board, options.memory),
    ...(options.cpus ? { cpus: options.cpus } : {}),
    nodes: options.topology,
    timeoutScale: options.timeoutScale === undefined ? BACKEND_DEFAULT_SCALE : { kind: 'given', scale: options.timeoutScale },
    ...(source.hosts ? { hosts: source.hosts } : {}),
    ...(source.hostsFile ? { hostsFile: source.hostsFile } : {}),
    ...(source.kubeconfig ? { kubeconfig: source.kubeconfig } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  };
}
