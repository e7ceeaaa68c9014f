/**
 * OpenSSH known_hosts files, read as ssh reads them: comma-separated host
 * patterns with `*`, `?` and `!` negation, `[host]:port` for ports other than
 * 22, hashed names (`|1|salt|hmac`, from `ssh-keygen -H`), and `@revoked`
 * keys. `@cert-authority` lines are skipped: edgeproof does not verify host
 * certificates.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface KnownHostKey {
  /** Key type as written: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa... */
  type: string;
  /** Base64 SHA-256 of the key blob without padding, as `ssh-keygen -lf` prints it after SHA256:. */
  sha256: string;
  /** file:line, for messages. */
  source: string;
}

export interface KnownHostKeys {
  trusted: KnownHostKey[];
  revoked: KnownHostKey[];
}

/** The files ssh itself reads by default. */
export function defaultKnownHostsFiles(): string[] {
  return [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** Base64 SHA-256 of an SSH public key blob, without padding. */
export function keyFingerprint(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The keys these files list for any of `names` (a host name and its address) on `port`; missing files list none. */
export function readKnownHostKeys(files: readonly string[], names: readonly string[], port: number): KnownHostKeys {
  const found: KnownHostKeys = { trusted: [], revoked: [] };
  for (const file of files) {
    if (!existsSync(file)) continue;
    const keys = knownHostKeys(readFileSync(file, 'utf8'), file, names, port);
    found.trusted.push(...keys.trusted);
    found.revoked.push(...keys.revoked);
  }
  const revoked = new Set(found.revoked.map((k) => k.sha256));
  return { trusted: found.trusted.filter((k) => !revoked.has(k.sha256)), revoked: found.revoked };
}

/** The keys one file's text lists for `names` on `port`. */
export function knownHostKeys(text: string, file: string, names: readonly string[], port: number): KnownHostKeys {
  const hosts = names.map((name) => (port === 22 ? name : `[${name}]:${port}`).toLowerCase());
  const found: KnownHostKeys = { trusted: [], revoked: [] };
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, base64] = fields;
    if (!patterns || !type || !base64 || marker === '@cert-authority') return;
    if (!hosts.some((host) => hostMatches(patterns, host))) return;
    const key = { type, sha256: keyFingerprint(Buffer.from(base64, 'base64')), source: `${file}:${index + 1}` };
    (marker === '@revoked' ? found.revoked : found.trusted).push(key);
  });
  return found;
}

/** OpenSSH's match_hostname: a hashed entry, or patterns where any negated match excludes the host. */
function hostMatches(patterns: string, host: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(host).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of patterns.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, host)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatches(pattern: string, text: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(text);
}
