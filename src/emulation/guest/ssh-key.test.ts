import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSshKey } from './ssh-key.js';

const { utils } = ssh2;

describe('generateSshKey', () => {
  it('every key of 3000 parses as a private and a public ed25519 key (one in 256 public keys starts with a zero byte)', () => {
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const pair = generateSshKey('edgeproof-test');
      const parsedPrivate = utils.parseKey(pair.privateKey);
      const parsedPublic = utils.parseKey(pair.publicKey);
      if (parsedPrivate instanceof Error) failures.push(`private: ${parsedPrivate.message}`);
      else if (parsedPublic instanceof Error) failures.push(`public: ${parsedPublic.message}`);
      else if (!parsedPrivate.getPublicSSH().equals(parsedPublic.getPublicSSH())) failures.push('public halves differ');
    }
    expect(failures).toEqual([]);
  });

  it('keys whose public half starts with a zero byte keep all 32 bytes', () => {
    let pair = generateSshKey('c');
    while (publicRaw(pair.publicKey)[0] !== 0) pair = generateSshKey('c');
    expect(publicRaw(pair.publicKey)).toHaveLength(32);
    expect(utils.parseKey(pair.privateKey)).not.toBeInstanceOf(Error);
  });

  it('never hangs in Node\'s crypto under constant garbage collection (4 processes x 20000 keys)', async () => {
    // With keys read from a KeyObject's JWK export, 3 runs in 5 of this size hung
    // for good (Node 20: ExportJWKEdKey and ~KeyGenJob wait on the same mutex).
    const module = fileURLToPath(new URL('./ssh-key.ts', import.meta.url));
    const script = `const { generateSshKey } = await import(${JSON.stringify(module)}); for (let i = 0; i < 20000; i++) generateSshKey('k'); console.log('done');`;
    const child = () =>
      new Promise<string>((resolve) => {
        execFile(process.execPath, ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', script], { timeout: 45_000, killSignal: 'SIGKILL' }, (error, stdout) =>
          resolve(error ? `hung or failed: ${error.signal ?? error.message}` : stdout.trim()),
        );
      });
    expect(await Promise.all([child(), child(), child(), child()])).toEqual(['done', 'done', 'done', 'done']);
  }, 60_000);

  const dir = mkdtempSync(join(tmpdir(), 'edgeproof-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("OpenSSH's ssh-keygen reads the private key and derives the same public key and comment", () => {
    const pair = generateSshKey('edgeproof run 1');
    const file = join(dir, 'key');
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()).toBe(pair.publicKey);
  });
});

/** The 32 key bytes inside an authorized_keys line. */
function publicRaw(line: string): Buffer {
  const blob = Buffer.from(line.split(' ')[1]!, 'base64');
  const typeLength = blob.readUInt32BE(0);
  const keyLength = blob.readUInt32BE(4 + typeLength);
  return blob.subarray(8 + typeLength, 8 + typeLength + keyLength);
}
