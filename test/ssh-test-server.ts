import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { generateSshKey, type SshKeyPair } from '../src/emulation/guest/ssh-key.js';
import { keyFingerprint } from '../src/emulation/ssh/known-hosts.js';

export interface CommandAnswer {
  stdout?: string;
  stderr?: string;
  code?: number;
}

/** What reached the server: logins it accepted and every command, with the input it was sent. */
export interface ServerLog {
  logins: number;
  commands: { command: string; input: string }[];
}

/**
 * A real SSH server (ssh2's, on 127.0.0.1) standing in for a board in unit
 * tests of the client side: it presents its own ed25519 host key, lets in
 * one user key, answers each command through `answer`, and logs what
 * reached it, so a test can say what a refused connection never sent.
 */
export class SshTestServer {
  readonly log: ServerLog = { logins: 0, commands: [] };

  private constructor(
    private readonly server: ssh2.Server,
    readonly hostKey: SshKeyPair,
    readonly port: number,
    private readonly clients: Set<ssh2.Connection>,
  ) {}

  static async start(userKey: SshKeyPair, answer: (command: string) => CommandAnswer): Promise<SshTestServer> {
    const hostKey = generateSshKey('test-board-host-key');
    const allowed = ssh2.utils.parseKey(userKey.publicKey);
    if (allowed instanceof Error) throw allowed;
    let log: ServerLog | undefined;
    const clients = new Set<ssh2.Connection>();
    const server = new ssh2.Server({ hostKeys: [hostKey.privateKey] }, (client) => {
      clients.add(client);
      client.on('close', () => clients.delete(client));
      client.on('error', () => undefined);
      client.on('authentication', (auth) => {
        const matches = auth.method === 'publickey' && auth.key.algo === allowed.type && auth.key.data.equals(allowed.getPublicSSH());
        if (!matches) return auth.reject(['publickey']);
        if (auth.method === 'publickey' && auth.signature && allowed.verify(auth.blob!, auth.signature, auth.hashAlgo) !== true) return auth.reject(['publickey']);
        if (auth.method === 'publickey' && auth.signature) log!.logins++;
        auth.accept();
      });
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          const input: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => input.push(chunk));
          stream.on('end', () => {
            log!.commands.push({ command: info.command, input: Buffer.concat(input).toString() });
            const reply = answer(info.command);
            if (reply.stdout) stream.write(reply.stdout);
            if (reply.stderr) stream.stderr.write(reply.stderr);
            stream.exit(reply.code ?? 0);
            stream.end();
          });
        });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const started = new SshTestServer(server, hostKey, (server.address() as AddressInfo).port, clients);
    log = started.log;
    return started;
  }

  /** `SHA256:...` of the host key, as `ssh-keygen -lf` prints it. */
  get hostKeyFingerprint(): string {
    return `SHA256:${keyFingerprint(Buffer.from(this.hostKey.publicKey.split(' ')[1]!, 'base64'))}`;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
