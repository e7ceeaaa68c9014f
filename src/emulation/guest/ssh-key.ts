import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../core/context.js';

export interface SshKeyPair {
  /** OpenSSH private key (kept 0600 in the run dir, never logged). */
  privateKey: string;
  /** authorized_keys line. */
  publicKey: string;
}

const KEY_TYPE = 'ssh-ed25519';

/** DER headers of an ed25519 SubjectPublicKeyInfo and PKCS#8 key (RFC 8410); the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A fresh ed25519 key pair in OpenSSH's formats, encoded here from Node's
 * crypto. ssh2's own generator strips leading zero bytes of the public key,
 * so about one key in 256 is malformed (mscdex/ssh2#1390, #1513); one such key
 * made a CI boot wait 4 minutes for an SSH login that could never work.
 * The key bytes come from DER, never from a KeyObject's JWK export: on Node 20
 * that export can deadlock with the garbage collector (a hung unit-test worker,
 * stuck in ExportJWKEdKey waiting on a key mutex taken by ~KeyGenJob).
 */
export function generateSshKey(comment: string): SshKeyPair {
  const der = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const publicRaw = keyBytes(der.publicKey, SPKI_PREFIX);
  const privateRaw = keyBytes(der.privateKey, PKCS8_PREFIX);
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(publicRaw)]);
  return {
    privateKey: openSshPrivateKey(publicBlob, publicRaw, privateRaw, comment),
    publicKey: `${KEY_TYPE} ${publicBlob.toString('base64')} ${comment}`,
  };
}

/** The unencrypted "openssh-key-v1" container (PROTOCOL.key of OpenSSH). */
function openSshPrivateKey(publicBlob: Buffer, publicRaw: Buffer, privateRaw: Buffer, comment: string): string {
  const check = randomBytes(4);
  const section = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(publicRaw),
    sshString(Buffer.concat([privateRaw, publicRaw])),
    sshString(comment),
  ]);
  const padLength = (8 - (section.length % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([section, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g)!;
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
}

function keyBytes(der: Buffer, prefix: Buffer): Buffer {
  if (der.length !== prefix.length + 32 || !der.subarray(0, prefix.length).equals(prefix)) {
    throw new Error(`unexpected ed25519 DER encoding from Node's crypto (${der.length} bytes)`);
  }
  return der.subarray(prefix.length);
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** The run's own SSH key, kept 0600 in its secrets while it runs (a snapshot's guests are moved over to it). */
export function runSshKey(ctx: RunContext): SshKeyPair {
  const key = generateSshKey(`edgeproof-${ctx.runId}`);
  writeFileSync(join(ctx.secretsDir(), 'ssh_key'), key.privateKey, { mode: 0o600 });
  return key;
}
