/**
 * The CNI suite's connectivity matrix in a real process, for interrupt.test.ts:
 * a run context writing its events.jsonl into RUN_DIR, the Ctrl-C handling of
 * `edgeproof run`, and a two-node network where only node cp-0's pods answer
 * (the worker is cut off), so some cells pass in the first round and the
 * others stay open, retried round after round. Prints `second round` once a
 * cell is probed again: every cell that passes has passed by then.
 *   node --import tsx cni-interrupt-child.ts RUN_DIR CACHE_DIR
 */
import { RunContext } from '../../core/context.js';
import { cniPlan, type ClusterView, type Source } from '../../suites/cni-plan.js';
import { runConnectivityMatrix, type ProbeRun } from '../../suites/cni-matrix.js';
import { parseHttpProbeOutput } from '../../suites/workloads.js';
import { installInterruptHandlers, interruptSignal, runInterruptibly, type InterruptOptions } from '../../core/interrupt.js';

const [runDir, cacheDir] = process.argv.slice(2) as [string, string];
const mode: InterruptOptions = { graceful: false };
installInterruptHandlers(mode);

const CP = 'ep-1a2b-cp-0';
const WORKER = 'ep-1a2b-worker-0';
const plan = cniPlan([
  { name: CP, internalIp: '172.30.4.10', hasShell: true },
  { name: WORKER, internalIp: '172.30.4.11', hasShell: true },
]);
const pod = (ip: string, node: string, name: string) => ({ ip, node, running: true, ready: true, summary: `${name}: Running` });
const view: ClusterView = {
  pods: {
    'ep-echo-0': pod('10.244.0.5', CP, 'ep-echo-0'),
    'ep-client-0': pod('10.244.0.6', CP, 'ep-client-0'),
    'ep-echo-1': pod('10.244.1.5', WORKER, 'ep-echo-1'),
    'ep-client-1': pod('10.244.1.6', WORKER, 'ep-client-1'),
  },
  services: { 'ep-echo': { clusterIp: '10.96.0.20', nodePort: 31234 }, 'ep-echo-0': { clusterIp: '10.96.0.21' }, 'ep-echo-1': { clusterIp: '10.96.0.22' } },
  nodeIps: { [CP]: '172.30.4.10', [WORKER]: '172.30.4.11' },
};
/** What ep-echo-0 answers from cp-0; the worker and its pod are unreachable. */
const ANSWERED_BY_ECHO_0 = new Set(['http://10.244.0.5:8080/', 'http://10.96.0.20:80/', 'http://10.96.0.21:80/', 'http://172.30.4.10:31234/']);
const ANSWER = 'HTTP/1.0 200 OK\nContent-Type: text/plain\n\nedgeproof-marker ep-echo-0\nprobe-exit=0 uptime=100.01..100.03\n';
const NO_ANSWER = 'nc: 10.244.1.5 (10.244.1.5:8080): Operation timed out\nprobe-exit=1 uptime=100.01..102.01\n';

const probed = new Set<string>();
let secondRoundSaid = false;
async function probe(source: Source, url: string): Promise<ProbeRun> {
  const key = `${source.kind === 'pod' ? source.pod : source.node} ${url}`;
  if (probed.has(key) && !secondRoundSaid) {
    secondRoundSaid = true;
    process.stdout.write('second round\n');
  }
  probed.add(key);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const answers = source.node === CP && ANSWERED_BY_ECHO_0.has(url);
  return { result: parseHttpProbeOutput(answers ? ANSWER : NO_ANSWER), roundTripMs: 20 };
}

const code = await runInterruptibly(async () => {
  const ctx = new RunContext({ runDir, cacheDir, progress: false });
  interruptSignal().addEventListener('abort', () => ctx.abort(interruptSignal().reason), { once: true });
  try {
    await runConnectivityMatrix(ctx, plan.cells, { view }, probe, { budgetMs: 10 * 60_000, pauseMs: 200, concurrency: 4 });
    return 0;
  } finally {
    await ctx.dispose();
  }
}, mode);
process.exit(code);
