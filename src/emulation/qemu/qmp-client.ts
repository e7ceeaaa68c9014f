import { createConnection, type Socket } from 'node:net';
import { EdgeproofError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { sleep } from '../../core/wait.js';

const log = logger('qmp');

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/**
 * A small QMP client: one unix socket, capabilities negotiated, commands
 * answered in order (QMP answers in order, so a FIFO of pending calls is
 * enough), asynchronous events delivered to listeners.
 */
export class QmpClient {
  #socket: Socket;
  #buffer = '';
  #pending: Pending[] = [];
  #listeners: ((event: QmpEvent) => void)[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('close', () => this.#onClose());
    socket.on('error', (error) => log('socket error %s', error.message));
  }

  /**
   * Connects, retrying while QEMU creates the socket, then negotiates
   * capabilities; gives up at once when `gone()` says why QEMU never will answer.
   */
  static async connect(path: string, budgetMs = 10_000, gone?: () => string | undefined): Promise<QmpClient> {
    const deadline = Date.now() + budgetMs;
    for (;;) {
      try {
        const socket = await openSocket(path);
        const client = new QmpClient(socket);
        await client.#greeting();
        await client.execute('qmp_capabilities');
        return client;
      } catch (error) {
        const reason = gone?.();
        if (reason) throw new EdgeproofError('BOOT_FAILED', `QMP socket ${path} will not answer: ${reason}`);
        if (Date.now() > deadline) {
          throw new EdgeproofError('BOOT_FAILED', `QMP socket ${path} did not answer within ${budgetMs} ms: ${(error as Error).message}`);
        }
        await sleep(100);
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(new EdgeproofError('INTERNAL', `QMP ${command}: connection closed`));
    log('-> %s %o', command, args ?? {});
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ resolve: resolve as (v: unknown) => void, reject });
      this.#socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  /** Human monitor commands that have no QMP equivalent on QEMU 7.2 (savevm, loadvm). */
  async humanMonitor(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  onEvent(listener: (event: QmpEvent) => void): void {
    this.#listeners.push(listener);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #greeting(): Promise<unknown> {
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line) this.#onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  #onMessage(message: Record<string, unknown>): void {
    if ('event' in message) {
      log('<- event %s', message.event);
      for (const listener of this.#listeners) listener(message as unknown as QmpEvent);
      return;
    }
    const pending = this.#pending.shift();
    if (!pending) return;
    if ('QMP' in message) pending.resolve(message.QMP);
    else if ('return' in message) pending.resolve(message.return);
    else if ('error' in message) {
      const error = message.error as { class: string; desc: string };
      pending.reject(new EdgeproofError('INTERNAL', `QMP error ${error.class}: ${error.desc}`));
    }
  }

  #onClose(): void {
    this.#closed = true;
    for (const pending of this.#pending.splice(0)) {
      pending.reject(new EdgeproofError('INTERNAL', 'QMP connection closed (QEMU exited)'));
    }
  }
}

function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
