import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SshTestServer, type CommandAnswer } from '../../../test/ssh-test-server.js';
import { RunContext } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { generateSshKey } from '../guest/ssh-key.js';
import { loadHostsFile, type HostEntry } from './hosts-file.js';
import { knownHostKeys } from './known-hosts.js';
import { SshMachine } from './ssh-machine.js';

const realBoardFacts = readFileSync(fixturePath('samples', 'ssh', 'facts-rpi4-raspios.txt'), 'utf8');

/**
 * The ssh backend's trust in a board, against a real SSH server on
 * 127.0.0.1: a board is reached only when it proves the key the hosts file
 * pins or known_hosts lists; otherwise nothing (no login, no command, so no
 * key or token) is sent to it.
 */
describe('host keys of ssh hosts', () => {
  const userKey = generateSshKey('edgeproof-test');
  let facts: string;
  let board: SshTestServer;
  let root: string;
  let ctx: RunContext;

  beforeAll(async () => {
    board = await SshTestServer.start(userKey, (command): CommandAnswer => (command.includes('@@fact machine') ? { stdout: facts } : { code: 0 }));
  });
  afterAll(() => board.close());

  beforeEach(() => {
    facts = realBoardFacts;
    root = mkdtempSync(join(tmpdir(), 'ep-host-trust-'));
    writeFileSync(join(root, 'id_ed25519'), userKey.privateKey, { mode: 0o600 });
    writeFileSync(join(root, 'host_key.pub'), `${board.hostKey.publicKey}\n`);
    ctx = new RunContext({ runDir: join(root, 'run'), cacheDir: join(root, 'cache'), progress: false });
    board.log.logins = 0;
    board.log.commands = [];
  });
  afterEach(async () => {
    await ctx.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const hostsFile = (extra = ''): HostEntry => {
    const path = join(root, 'hosts.yaml');
    writeFileSync(path, `hosts:\n  - name: pi-1\n    address: 127.0.0.1\n    port: ${board.port}\n    key: id_ed25519\n    arch: arm64\n    role: control-plane\n${extra}`);
    return loadHostsFile(path)[0]!;
  };
  const knownHosts = (text: string) => {
    const path = join(root, 'known_hosts');
    writeFileSync(path, text);
    return [path];
  };
  const noKnownHosts = () => [join(root, 'no-known_hosts')];
  const connectError = (host: HostEntry, knownHostsFiles = noKnownHosts()) => SshMachine.connect(ctx, host, { knownHostsFiles }).then(() => undefined, (error: unknown) => error);
  const nothingSent = () => expect(board.log).toEqual({ logins: 0, commands: [] });

  it('reaches a host whose key the hosts file pins as ssh-keygen -lf prints it', async () => {
    const pin = execFileSync('ssh-keygen', ['-lf', join(root, 'host_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;
    expect(pin).toBe(board.hostKeyFingerprint);
    const machine = await SshMachine.connect(ctx, hostsFile(`    hostKey: ${pin}\n`), { knownHostsFiles: noKnownHosts() });
    expect(machine.address).toBe('192.168.1.50');
    expect(board.log.logins).toBe(1);
  });

  it('refuses a host that is neither pinned nor in known_hosts before anything is sent, saying how to pin it', async () => {
    const error = await connectError(hostsFile());
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({
      message: `SSH host "pi-1" (root@127.0.0.1:${board.port}) is not known: its ssh-ed25519 key ${board.hostKeyFingerprint} is neither pinned at ${join(root, 'hosts.yaml')}:2 nor listed in ${noKnownHosts()[0]}`,
      hint: expect.stringContaining(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), and if it is ${board.hostKeyFingerprint}, write \`hostKey: ${board.hostKeyFingerprint}\` for pi-1 at ${join(root, 'hosts.yaml')}:2`),
    });
    nothingSent();
  });

  it('refuses a host whose key is not the pinned one before anything is sent', async () => {
    const other = `SHA256:${knownHostKeys(`x ${generateSshKey('other').publicKey}`, 'k', ['x'], 22).trusted[0]!.sha256}`;
    const error = await connectError(hostsFile(`    hostKey: ${other}\n`));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`SSH host "pi-1" (root@127.0.0.1:${board.port}) presented the ssh-ed25519 key ${board.hostKeyFingerprint}, but ${join(root, 'hosts.yaml')}:2 pins ${other}`);
    expect((error as UsageError).hint).toContain('nothing was sent to it');
    nothingSent();
  });

  it('trusts the key ssh-keyscan wrote to known_hosts, plain or hashed, and nothing else listed there', async () => {
    // Asynchronously: the server runs in this process.
    const { stdout: scanned } = await promisify(execFile)('ssh-keyscan', ['-p', String(board.port), '-t', 'ed25519', '127.0.0.1'], { encoding: 'utf8' });
    expect(scanned).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${board.port} ssh-ed25519 `, 'm'));
    const files = knownHosts(scanned);
    expect((await SshMachine.connect(ctx, hostsFile(), { knownHostsFiles: files })).address).toBe('192.168.1.50');
    execFileSync('ssh-keygen', ['-H', '-f', files[0]!], { stdio: 'ignore' });
    expect(readFileSync(files[0]!, 'utf8')).toMatch(/^\|1\|/);
    expect((await SshMachine.connect(ctx, hostsFile(), { knownHostsFiles: files })).address).toBe('192.168.1.50');
    expect(board.log.logins).toBe(2);

    board.log.logins = 0;
    board.log.commands = [];
    const otherKey = generateSshKey('reinstalled').publicKey;
    const otherSha256 = knownHostKeys(`x ${otherKey}`, 'k', ['x'], 22).trusted[0]!.sha256;
    const stale = await connectError(hostsFile(), knownHosts(`[127.0.0.1]:${board.port} ${otherKey}\n`));
    expect((stale as UsageError).message).toMatch(/^SSH host "pi-1" /);
    expect((stale as UsageError).message).toContain(`presented the ssh-ed25519 key ${board.hostKeyFingerprint}, but known_hosts lists ssh-ed25519 SHA256:${otherSha256} (${files[0]}:1)`);
    expect((stale as UsageError).hint).toContain('ssh-keygen -R 127.0.0.1');
    const revoked = await connectError(hostsFile(), knownHosts(`${scanned.trim()}\n@revoked [127.0.0.1]:${board.port} ${board.hostKey.publicKey}\n`));
    expect((revoked as UsageError).message).toMatch(/marks @revoked$/);
    const otherPort = await connectError(hostsFile(), knownHosts(scanned.replace(`:${board.port}`, `:${board.port + 1}`)));
    expect((otherPort as UsageError).message).toMatch(/is not known/);
    nothingSent();
  });

  it('refuses a host that reports a default-route address that is not IPv4, naming the host', async () => {
    facts = realBoardFacts.replace(/^@@fact defaultaddr .*$/m, '@@fact defaultaddr 10.0.0.1;reboot');
    const error = await connectError(hostsFile(), knownHosts(`[127.0.0.1]:${board.port} ${board.hostKey.publicKey}\n`));
    expect(error).toMatchObject({ code: 'INPUT', message: expect.stringContaining('host "pi-1" reported "10.0.0.1;reboot" as the source address of its default route') });
  });
});

describe('known_hosts patterns', () => {
  const key = generateSshKey('k').publicKey;
  const lists = (hosts: string, name: string, port = 22) => knownHostKeys(`${hosts} ${key}\n`, 'kh', [name], port).trusted.length === 1;

  it('matches names as ssh does: lists, wildcards, negation, [host]:port for other ports', () => {
    expect(lists('pi-1,192.168.1.50', '192.168.1.50')).toBe(true);
    expect(lists('PI-1', 'pi-1')).toBe(true);
    expect(lists('*.lan,!nas.lan', 'pi-1.lan')).toBe(true);
    expect(lists('*.lan,!nas.lan', 'nas.lan')).toBe(false);
    expect(lists('192.168.1.5?', '192.168.1.50')).toBe(true);
    expect(lists('192.168.1.5', '192.168.1.50')).toBe(false);
    expect(lists('192.168.1.50', '192.168.1.50', 2222)).toBe(false);
    expect(lists('[192.168.1.50]:2222', '192.168.1.50', 2222)).toBe(true);
    expect(lists('[192.168.1.50]:2222', '192.168.1.50')).toBe(false);
    expect(knownHostKeys(`# comment\n\n@cert-authority * ${key}\n`, 'kh', ['pi-1'], 22)).toEqual({ trusted: [], revoked: [] });
  });
});
