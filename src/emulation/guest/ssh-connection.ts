import ssh2, { type ConnectConfig } from 'ssh2';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;
import { createHash } from 'node:crypto';
import { CommandFailedError, EdgeproofError, WaitTimeoutError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { sleep } from '../../core/wait.js';
import type { ExecOptions, ExecResult } from '../machine.js';

const log = logger('ssh');

export { generateSshKey, type SshKeyPair } from './ssh-key.js';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** Name used in errors: the machine name. */
  where: string;
  /** SHA-256 of the host key seen first; later connections must see the same (trust on first use). */
  hostKeySha256?: string;
}

/** One SSH connection to a guest, with exec that carries output tails in its errors. */
export class SshConnection {
  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    readonly hostKeySha256: string,
  ) {}

  static open(target: SshTarget, readyTimeoutMs = 20_000): Promise<SshConnection> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let seenKey = '';
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: readyTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 8,
        hostVerifier: (key: Buffer) => {
          seenKey = createHash('sha256').update(key).digest('base64');
          return !target.hostKeySha256 || target.hostKeySha256 === seenKey;
        },
      };
      // A connection can fail again after it settled (QEMU killed mid-handshake or
      // after ready): keep a handler for the whole life of the client, or Node
      // treats the event as an uncaught exception.
      client.on('error', (error: Error) => log('ssh %s: %s', target.where, error.message));
      client
        .once('ready', () => resolve(new SshConnection(client, target, seenKey)))
        .once('error', (error) => {
          client.end();
          reject(
            target.hostKeySha256 && seenKey && seenKey !== target.hostKeySha256
              ? new EdgeproofError('INTERNAL', `SSH host key of ${target.where} changed (expected ${target.hostKeySha256}, got ${seenKey})`)
              : error,
          );
        })
        .connect(config);
    });
  }

  /** Retries until the guest's sshd accepts the key, within the budget. */
  static async waitFor(target: SshTarget, budgetMs: number, signal?: AbortSignal, isAlive?: () => string | undefined): Promise<SshConnection> {
    const unusable = utils.parseKey(target.privateKey);
    // A key that does not parse fails the same way on every try: say so at once.
    if (unusable instanceof Error) throw new EdgeproofError('INTERNAL', `${target.where}: the SSH key for ${target.username}@${target.host}:${target.port} does not parse: ${unusable.message}`);
    const deadline = Date.now() + budgetMs;
    let last = '';
    while (Date.now() < deadline) {
      signal?.throwIfAborted();
      const dead = isAlive?.();
      if (dead) throw new EdgeproofError('BOOT_FAILED', `${target.where}: ${dead} while waiting for SSH`);
      try {
        return await SshConnection.open(target, Math.min(20_000, Math.max(2_000, deadline - Date.now())));
      } catch (error) {
        last = (error as Error).message;
        log('ssh %s not ready: %s', target.where, last);
        await sleep(500, signal);
      }
    }
    throw new WaitTimeoutError(`SSH on ${target.host}:${target.port}`, budgetMs, last, { where: target.where });
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      let settled = false;
      const finish = (timedOut: boolean) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const result: ExecResult = { stdout, stderr, exitCode, durationMs: Date.now() - started, ...(exitSignal ? { signal: exitSignal } : {}) };
        const aborted = options.signal?.aborted ?? false;
        if ((exitCode !== 0 || timedOut || aborted) && options.check !== false) {
          reject(
            new CommandFailedError({
              command,
              where: this.target.where,
              exitCode,
              signal: exitSignal ?? null,
              timedOut,
              durationMs: result.durationMs,
              stdout,
              stderr: stderr || (aborted ? 'aborted' : ''),
            }),
          );
        } else resolve(result);
      };
      // A frozen or dead guest never closes the channel: settle on the timer, not on close.
      const timer = options.timeoutMs ? setTimeout(() => finish(true), options.timeoutMs) : undefined;
      const onAbort = () => finish(false);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.client.exec(command, (error, channel) => {
        if (error) {
          settled = true;
          if (timer) clearTimeout(timer);
          return reject(error);
        }
        if (settled) return channel.close();
        channel.on('data', (data: Buffer) => (stdout += data.toString()));
        channel.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
        channel.on('exit', (code: number | null, signalName?: string) => {
          exitCode = code;
          exitSignal = signalName;
        });
        channel.on('close', () => finish(false));
        if (options.input !== undefined) channel.end(options.input);
        else channel.end();
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

/**
 * Runs a command on the current connection; when the connection itself
 * dropped (guest thawed or rebooted, network blip; not a failed command),
 * opens a fresh one and runs it once more.
 */
export async function execReconnecting(
  current: () => Promise<SshConnection>,
  reconnect: () => Promise<SshConnection>,
  command: string,
  options: ExecOptions = {},
): Promise<ExecResult> {
  const ssh = await current();
  try {
    return await ssh.exec(command, options);
  } catch (error) {
    if (!(error instanceof Error) || error instanceof EdgeproofError) throw error;
    return (await reconnect()).exec(command, options);
  }
}
