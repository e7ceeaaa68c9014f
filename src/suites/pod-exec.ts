import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
// Not re-exported by the package index; used so a v5 close frame never ends the harness's own process.stdout.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { CommandFailedError, KubeApiError } from '../core/errors.js';

export interface PodExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface PodExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** From the request to the exit status, as the harness saw it (WebSocket set-up included). */
  durationMs: number;
}

/**
 * The exit code in the status the kubelet sends on the exec error channel:
 * `Success` is 0; `Failure` with reason `NonZeroExitCode` carries the code in
 * its `ExitCode` cause (kubelet's remotecommand ServeExec; client-go's
 * errorDecoderV4 reads it the same way). Undefined when the command did not run.
 */
export function exitCodeFromStatus(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.status !== 'Failure' || status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message && /^\d+$/.test(cause.message) ? Number(cause.message) : undefined;
}

/**
 * Runs a command in a running container through the API's exec endpoint
 * (WebSocket) and resolves with its output and exit code, whatever the code.
 * Rejects when the command could not run (KubeApiError) or did not finish
 * within `timeoutMs` (CommandFailedError, timedOut).
 */
export function execInPod(kc: KubeConfig, request: PodExecRequest): Promise<PodExecResult> {
  const where = `pod ${request.namespace}/${request.pod}`;
  const operation = `exec in ${where}`;
  const started = performance.now();
  const stdout = collector();
  const stderr = collector();
  const handler = new WebSocketHandler(kc, undefined, { stdin: Readable.from([]), stdout: stdout.stream, stderr: stderr.stream });
  return new Promise((resolve, reject) => {
    let socket: { close(): void; on(event: string, listener: (...args: unknown[]) => void): void } | undefined;
    let settled = false;
    const finish = (outcome: { status: V1Status } | { error: Error }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      socket?.close();
      const durationMs = Math.round(performance.now() - started);
      if ('error' in outcome) return reject(outcome.error);
      const exitCode = exitCodeFromStatus(outcome.status);
      if (exitCode === undefined) return reject(new KubeApiError(operation, outcome.status.code, outcome.status.message ?? outcome.status.reason ?? 'the command did not run'));
      resolve({ stdout: stdout.text(), stderr: stderr.text(), exitCode, durationMs });
    };
    const timer = setTimeout(() => {
      const durationMs = Math.round(performance.now() - started);
      finish({ error: new CommandFailedError({ command: request.command.join(' '), where, timedOut: true, durationMs, stdout: stdout.text(), stderr: stderr.text() }) });
    }, request.timeoutMs);
    const onAbort = () => finish({ error: request.signal!.reason instanceof Error ? request.signal!.reason : new Error(String(request.signal!.reason)) });
    if (request.signal?.aborted) return onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    new Exec(kc, handler)
      .exec(request.namespace, request.pod, request.container, request.command, stdout.stream, stderr.stream, null, false, (status) => finish({ status }))
      .then(
        (ws) => {
          socket = ws as unknown as typeof socket;
          if (settled) return socket!.close();
          socket!.on('close', () => finish({ error: new KubeApiError(operation, undefined, 'the exec stream closed without an exit status') }));
          socket!.on('error', (error) => finish({ error: new KubeApiError(operation, undefined, errorText(error), { cause: error }) }));
        },
        (error: unknown) => finish({ error: new KubeApiError(operation, undefined, errorText(error), { cause: error }) }),
      );
  });
}

/** ws rejects the upgrade with an ErrorEvent ({ message, error }), not an Error. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message ? message : String(error);
}

function collector(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
