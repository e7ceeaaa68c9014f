import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { logger } from '../../core/log.js';
import type { E2eExit } from './verdict.js';

const log = logger('conformance');

/** One run of `ginkgo ... e2e.test -- ...` (the Ginkgo v2 CLI) on the host against a cluster's apiserver. */
export interface E2eRunRequest {
  ginkgo: string;
  e2eTest: string;
  kubeconfigPath: string;
  /** The context of that file to use; absent: its current-context. */
  kubeContext?: string;
  /** Where junit_01.xml and e2e.log are written (verbatim, in the run dir). */
  reportDir: string;
  focus: string;
  skip: string;
  nodes: number;
  /** The whole run; at the end the suite is interrupted like Ctrl-C (so the finished specs keep their JUnit). */
  timeoutMs: number;
  /** After an interrupt, how long AfterSuite may take to write the reports before the process tree is killed. */
  graceMs: number;
  /** Framework waits before the first spec (system pods, node schedulability), already scaled. */
  setupTimeoutMs: number;
  /** KUBE_TEST_REPO_LIST: where the suite takes its images from. */
  repoListPath?: string;
  signal: AbortSignal;
  onProgress?: (progress: E2eProgress) => void;
}

export interface E2eOutcome extends E2eExit {
  e2eLog: string;
  junitFiles: string[];
  progress: E2eProgress;
}

/**
 * Exactly the argv the host runs; also what the docs show. The Ginkgo v2 CLI,
 * not e2e.test alone: only the CLI runs a suite's parallel processes (it
 * starts them and serves their shared state); e2e.test by itself runs serially.
 */
export function e2eArgv(request: Omit<E2eRunRequest, 'signal' | 'onProgress' | 'graceMs'>): string[] {
  const secs = (ms: number) => `${Math.ceil(ms / 1000)}s`;
  return [
    `--nodes=${request.nodes}`,
    '--no-color',
    '-v',
    `--focus=${request.focus}`,
    ...(request.skip ? [`--skip=${request.skip}`] : []),
    // A backstop only (Ginkgo's own default is 1h): the harness interrupts first, so the report says why.
    `--timeout=${secs(request.timeoutMs + 15 * 60_000)}`,
    request.e2eTest,
    '--',
    `--kubeconfig=${request.kubeconfigPath}`,
    ...(request.kubeContext ? [`--context=${request.kubeContext}`] : []),
    '--provider=skeleton',
    `--report-dir=${request.reportDir}`,
    '--disable-log-dump',
    `--system-pods-startup-timeout=${secs(request.setupTimeoutMs)}`,
    `--node-schedulable-timeout=${secs(request.setupTimeoutMs)}`,
  ];
}

/**
 * Runs the suite, writing its output to e2e.log as it comes and counting
 * finished specs from Ginkgo's verbose output. An abort (Ctrl-C) or the
 * timeout interrupts it the way Ctrl-C would (SIGINT to the process group:
 * AfterSuite runs, JUnit is written), then kills the group after the grace
 * period. Resolves in every case; the caller judges the outcome.
 */
export async function runE2e(request: E2eRunRequest): Promise<E2eOutcome> {
  const e2eLog = join(request.reportDir, 'e2e.log');
  const out = createWriteStream(e2eLog, { flags: 'w' });
  const counter = new E2eProgressCounter();
  const argv = e2eArgv(request);
  log('run %s %o', request.ginkgo, argv);
  const started = Date.now();
  const child = execa(request.ginkgo, argv, {
    reject: false,
    stdin: 'ignore',
    buffer: false,
    detached: true,
    env: { ...process.env, KUBECONFIG: request.kubeconfigPath, ...(request.repoListPath ? { KUBE_TEST_REPO_LIST: request.repoListPath } : {}) },
  });
  let pending = '';
  const onData = (chunk: Buffer) => {
    out.write(chunk);
    const text = pending + chunk.toString('utf8');
    const lines = text.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (counter.feed(line)) request.onProgress?.(counter.state);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let interrupted = false;
  let timedOut = false;
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'interrupt' | 'timeout') => {
    if (killTimer) return;
    if (why === 'interrupt') interrupted = true;
    else timedOut = true;
    log('%s: SIGINT to the e2e process group, SIGKILL in %d ms', why, request.graceMs);
    group('SIGINT');
    killTimer = setTimeout(() => group('SIGKILL'), request.graceMs);
  };
  const onAbort = () => stop('interrupt');
  if (request.signal.aborted) onAbort();
  request.signal.addEventListener('abort', onAbort, { once: true });
  const deadline = setTimeout(() => stop('timeout'), request.timeoutMs);

  const result = await child;
  clearTimeout(deadline);
  if (killTimer) clearTimeout(killTimer);
  request.signal.removeEventListener('abort', onAbort);
  // Whatever the suite left running in its group (a stuck e2e.test node) goes with it.
  group('SIGKILL');
  if (pending && counter.feed(pending)) request.onProgress?.(counter.state);
  await new Promise<void>((resolve) => out.end(resolve));
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    timedOut,
    interrupted,
    durationMs: Date.now() - started,
    e2eLog,
    junitFiles: junitFilesIn(request.reportDir),
    progress: counter.state,
  };
}

export function junitFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^junit_.*\.xml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export interface E2eProgress {
  /** Ginkgo's "Will run N of M specs". */
  willRun?: number;
  totalSpecs?: number;
  finished: number;
  failed: number;
  /** The spec Ginkgo announced last (verbose mode prints its text before running it): the one running, or the last one. */
  current?: string;
  /** Ginkgo's closing "Ran N of M Specs", when it got there. */
  ranReported?: number;
}

/** A spec's closing line in Ginkgo v2's verbose output: "• [2.345 seconds]", "• [FAILED] [30.1 seconds]", "• [INTERRUPTED] ...". */
const V2_DENOTER = /^\u2022 (?:\[(FAILED|TIMEDOUT|INTERRUPTED|ABORTED|PANICKED!?)\] )?\[[\d.]+ seconds\]/;
const V1_FAILURE = /^\u2022(\s+Failure|\.\.\. Timeout|! Panic)/;
/** Ginkgo v2's source location of a spec, module-relative (-trimpath): "k8s.io/kubernetes@v1.35.4/test/e2e/common/node/pods.go:230". */
const V2_LOCATION = /^[\w.-]+\/\S+\.go:\d+$/;
/** Ginkgo v2's suite-level nodes, which are not specs: "[SynchronizedBeforeSuite] PASSED [1.2 seconds]". */
const V2_SUITE_NODE = /^\[(?:Synchronized|Report)?(?:Before|After)Suite\]|^\[DeferCleanup \(Suite\)\]/;

/**
 * Reads Ginkgo's verbose, colourless console output line by line (v2, and
 * v1 for older versions' logs). A finished spec is a line starting with "•":
 * v2 "• [2.3 seconds]", "• [FAILED] [12.3 seconds]" (TIMEDOUT, INTERRUPTED,
 * ABORTED, PANICKED); v1 "•", "• [SLOW TEST:...]", "• Failure [...]",
 * "•... Timeout [...]", "•! Panic [...]". In a serial run the spec's text
 * comes before it runs; in a v2 parallel run only after its closing line, so
 * there `current` is the last one finished.
 */
export class E2eProgressCounter {
  readonly state: E2eProgress = { finished: 0, failed: 0 };
  /** Lines since the last delimiter. */
  #sinceSeparator = Number.POSITIVE_INFINITY;
  #afterDenoter = false;
  #opening: string | undefined;

  /** True when the line changed what is worth showing (the plan is known, a spec started or finished). */
  feed(line: string): boolean {
    const text = line.replace(/\r$/, '');
    this.#sinceSeparator = /^-{20,}$/.test(text) ? 0 : this.#sinceSeparator + 1;
    let match: RegExpMatchArray | null;
    if ((match = text.match(/^Will run (\d+) of (\d+) specs/))) {
      this.state.willRun = Number(match[1]);
      this.state.totalSpecs = Number(match[2]);
      return true;
    }
    if ((match = text.match(/^Ran (\d+) of (\d+) Specs in /))) {
      this.state.ranReported = Number(match[1]);
      return false;
    }
    if (text.startsWith('\u2022')) return this.#finished(V2_DENOTER.exec(text)?.[1] !== undefined || V1_FAILURE.test(text));
    return this.#specText(text);
  }

  #finished(failed: boolean): boolean {
    this.state.finished += 1;
    if (failed) this.state.failed += 1;
    this.#afterDenoter = true;
    return true;
  }

  /**
   * A spec's text opens right after the delimiter (v2 serial, v1) or right
   * after its closing line (v2 parallel); it counts once the next line shows
   * which Ginkgo wrote it: v2 follows it with its source location, v1 with
   * the spec's own text, indented (the first line held its containers).
   */
  #specText(text: string): boolean {
    const opening = this.#opening;
    this.#opening = undefined;
    const opensSpec = (this.#sinceSeparator === 1 || this.#afterDenoter) && text.startsWith('[') && !V2_SUITE_NODE.test(text);
    this.#afterDenoter = false;
    if (opensSpec) {
      // A failed spec's closing block marks the failing node: "[sig-node] Pods [It] should ...".
      this.#opening = text.trim().replace(/ \[It\] /, ' ');
      return false;
    }
    if (opening && V2_LOCATION.test(text)) {
      this.state.current = opening;
      return true;
    }
    if (opening && this.#sinceSeparator === 2 && /^ {2}\S/.test(text)) {
      this.state.current = `${opening} ${text.trim()}`;
      return true;
    }
    return false;
  }
}
