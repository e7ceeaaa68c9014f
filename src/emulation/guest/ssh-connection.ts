import ssh2, { type AlgorithmList, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';

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
  /** When set, the only host keys accepted (none: every key is refused); hostKeySha256 is then ignored. */
  trustedHostKeys?: readonly TrustedHostKey[];
}

export interface TrustedHostKey {
  /** Base64 SHA-256 of the key blob, with or without padding. */
  sha256: string;
  /** Key type (ssh-ed25519, ssh-rsa...), when known: the server is asked for that type. */
  type?: string;
}

/** The key a server presented: its type and its SHA-256 (unpadded base64, as `ssh-keygen -lf` prints it). */
export interface PresentedHostKey {
  type: string;
  sha256: string;
}

/** The server presented a host key the target does not accept; nothing was sent to it. */
export class HostKeyRefusedError extends EdgeproofError {
  constructor(
    readonly where: string,
    readonly presented: PresentedHostKey,
    message: string,
  ) {
    super('INTERNAL', message);
  }
}

const unpadded = (sha256: string) => sha256.replace(/=+$/, '');

/** Host key algorithms (ssh2 supports these) that prove a key of each type. */
const ALGORITHMS_OF_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

function presentedKey(blob: Buffer): PresentedHostKey {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + length).toString('latin1') || 'unknown';
  return { type, sha256: unpadded(createHash('sha256').update(blob).digest('base64')) };
}

function acceptsHostKey(target: SshTarget, sha256: string): boolean {
  if (target.trustedHostKeys) return target.trustedHostKeys.some((key) => unpadded(key.sha256) === sha256);
  return !target.hostKeySha256 || unpadded(target.hostKeySha256) === sha256;
}

/**
 * The trusted keys' types first, as ssh orders them for a host known_hosts
 * lists: the server then proves a key that can be checked. Other types stay
 * (a host without them presents another key, refused with its fingerprint).
 */
function hostKeyPreference(target: SshTarget): AlgorithmList<ServerHostKeyAlgorithm> | undefined {
  const types = [...new Set(target.trustedHostKeys?.flatMap((key) => (key.type ? [key.type] : [])) ?? [])];
  if (!types.length) return undefined;
  const preferred = types.flatMap((type) => ALGORITHMS_OF_TYPE[type] ?? []);
  if (!preferred.length) return undefined;
  // ssh2 prepends only what its list lacks: take them out first (keys apply in this order).
  return { remove: preferred, prepend: preferred, append: [] };
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
      let presented: PresentedHostKey | undefined;
      let refused = false;
      const serverHostKey = hostKeyPreference(target);
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: readyTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 8,
        ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
        hostVerifier: (key: Buffer) => {
          presented = presentedKey(key);
          refused = !acceptsHostKey(target, presented.sha256);
          return !refused;
        },
      };
      // A connection can fail again after it settled (QEMU killed mid-handshake or
      // after ready): keep a handler for the whole life of the client, or Node
      // treats the event as an uncaught exception.
      client.on('error', (error: Error) => log('ssh %s: %s', target.where, error.message));
      client
        .once('ready', () => resolve(new SshConnection(client, target, presented?.sha256 ?? '')))
        .once('error', (error) => {
          client.end();
          reject(refused && presented ? refusal(target, presented) : error);
        })
        .connect(config);
    });
  }

  /** Retries until the guest's sshd accepts the key, within the budget; a refused host key is not retried. */
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
        if (error instanceof HostKeyRefusedError) throw error;
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

function refusal(target: SshTarget, presented: PresentedHostKey): HostKeyRefusedError {
  const expected = target.trustedHostKeys ? target.trustedHostKeys.map((key) => `SHA256:${unpadded(key.sha256)}`).join(', ') || 'no known key' : `SHA256:${target.hostKeySha256}`;
  return new HostKeyRefusedError(target.where, presented, `SSH host key of ${target.where} is not the expected one (expected ${expected}, got ${presented.type} SHA256:${presented.sha256})`);
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
