import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuePki, type PkiRequest } from './pki.js';

describe('cluster PKI from node names and addresses', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ep-pki-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const request = (changes: Partial<PkiRequest>): PkiRequest => ({ dir: join(root, 'pki'), apiServerNames: ['kubernetes', 'cp-0'], apiServerIps: ['127.0.0.1', '10.0.0.1'], clients: [], ...changes });

  it('issues the apiserver certificate with exactly the names and addresses asked for', async () => {
    const pki = await issuePki(request({ peers: [{ name: 'etcd-peer-cp-0', commonName: 'cp-0', ips: ['10.0.0.1'] }] }));
    const text = execFileSync('openssl', ['x509', '-in', pki.file('apiserver.crt'), '-noout', '-ext', 'subjectAltName,basicConstraints'], { encoding: 'utf8' });
    expect(text).toContain('DNS:kubernetes, DNS:cp-0, IP Address:127.0.0.1, IP Address:10.0.0.1');
    expect(text).toContain('CA:FALSE');
  });

  it('refuses, before openssl reads anything, an address or name that would add names, fields or extensions', async () => {
    const hostile: [string, Partial<PkiRequest>][] = [
      ['apiserver address "10.0.0.1,DNS:evil.example" is not an IP address', { apiServerIps: ['10.0.0.1,DNS:evil.example'] }],
      ['apiserver address "10.0.0.1\\nbasicConstraints=critical,CA:TRUE" is not an IP address', { apiServerIps: ['10.0.0.1\nbasicConstraints=critical,CA:TRUE'] }],
      ['apiserver name "cp-0,IP:192.0.2.1" is not a DNS name', { apiServerNames: ['cp-0,IP:192.0.2.1'] }],
      ['address of etcd-peer-cp-0 "$(id)" is not an IP address', { peers: [{ name: 'etcd-peer-cp-0', commonName: 'cp-0', ips: ['$(id)'] }] }],
      ['subject of etcd-peer-cp-0 "cp-0/O=system:masters" is not a plain name', { peers: [{ name: 'etcd-peer-cp-0', commonName: 'cp-0/O=system:masters', ips: ['10.0.0.1'] }] }],
      ['client "../kubelet" is not a plain file name', { clients: [{ name: '../kubelet', commonName: 'system:node:x' }] }],
    ];
    for (const [message, changes] of hostile) {
      await expect(issuePki(request(changes))).rejects.toThrow(expect.objectContaining({ code: 'INPUT', message: `certificate request: ${message}` }));
      expect(existsSync(join(root, 'pki'))).toBe(false);
    }
  });
});
