import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { EdgeproofError } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';

/**
 * The cluster's PKI, issued by the harness with the host's openssl: one CA,
 * the apiserver's serving certificate, a client certificate per component,
 * and the service-account key pair. Keys are ECDSA P-256 (fast under
 * emulation) and stay 0600 in the run's secrets while it runs.
 */
export interface ClientIdentity {
  name: string;
  commonName: string;
  organization?: string;
}

export interface Pki {
  dir: string;
  caCert: string;
  file(name: string): string;
  read(name: string): string;
}

/** A certificate for both ends of a TLS link (etcd peers): serverAuth and clientAuth, with IP SANs. */
export interface PeerIdentity {
  name: string;
  commonName: string;
  ips: string[];
}

export interface PkiRequest {
  dir: string;
  apiServerNames: string[];
  apiServerIps: string[];
  clients: ClientIdentity[];
  peers?: PeerIdentity[];
  validDays?: number;
}

export async function issuePki(request: PkiRequest): Promise<Pki> {
  checkRequest(request);
  const { dir } = request;
  const days = String(request.validDays ?? 30);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => hostRun('openssl', args, { cwd: dir });

  await newKey(dir, 'ca.key');
  await openssl('req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', days, '-subj', '/CN=edgeproof-ca', '-out', 'ca.crt');

  const sans = [...request.apiServerNames.map((n) => `DNS:${n}`), ...request.apiServerIps.map((ip) => `IP:${ip}`)].join(',');
  await issue(dir, days, 'apiserver', '/CN=kube-apiserver', `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment`);
  for (const client of request.clients) {
    const subject = `${client.organization ? `/O=${client.organization}` : ''}/CN=${client.commonName}`;
    await issue(dir, days, client.name, subject, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment');
  }
  for (const peer of request.peers ?? []) {
    const ips = peer.ips.map((ip) => `IP:${ip}`).join(',');
    await issue(dir, days, peer.name, `/CN=${peer.commonName}`, `subjectAltName=${ips}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment`);
  }
  await newKey(dir, 'sa.key');
  await openssl('pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');

  return {
    dir,
    caCert: path('ca.crt'),
    file: path,
    read: (name) => readFileSync(path(name), 'utf8'),
  };
}

/** A DNS name for a SAN; subject parts and file names: no separators openssl or the file system would read. */
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const SUBJECT_PART = /^[A-Za-z0-9][A-Za-z0-9:._-]*$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Names and addresses reach openssl's -subj and extension files, where a
 * comma, slash or line break would add names, subject fields or extensions
 * (a CA flag): every one is checked before anything is issued.
 */
function checkRequest(request: PkiRequest): void {
  const refuse = (what: string, value: string, expected: string) => {
    throw new EdgeproofError('INPUT', `certificate request: ${what} ${JSON.stringify(value)} is not ${expected}`, { hint: 'node names are DNS names and node addresses IP addresses; check the hosts file or the backend that reported it' });
  };
  for (const name of request.apiServerNames) if (!DNS_NAME.test(name)) refuse('apiserver name', name, 'a DNS name');
  for (const ip of request.apiServerIps) if (!isIP(ip)) refuse('apiserver address', ip, 'an IP address');
  for (const client of request.clients) {
    if (!FILE_NAME.test(client.name)) refuse('client', client.name, 'a plain file name');
    for (const part of [client.commonName, ...(client.organization ? [client.organization] : [])]) if (!SUBJECT_PART.test(part)) refuse(`subject of ${client.name}`, part, 'a plain name');
  }
  for (const peer of request.peers ?? []) {
    if (!FILE_NAME.test(peer.name)) refuse('peer', peer.name, 'a plain file name');
    if (!SUBJECT_PART.test(peer.commonName)) refuse(`subject of ${peer.name}`, peer.commonName, 'a plain name');
    for (const ip of peer.ips) if (!isIP(ip)) refuse(`address of ${peer.name}`, ip, 'an IP address');
  }
}

async function newKey(dir: string, name: string): Promise<void> {
  await hostRun('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name], { cwd: dir });
  await hostRun('chmod', ['600', join(dir, name)]);
}

async function issue(dir: string, days: string, name: string, subject: string, extensions: string): Promise<void> {
  await newKey(dir, `${name}.key`);
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
  await hostRun('openssl', ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], { cwd: dir });
  await hostRun(
    'openssl',
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', days, '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`],
    { cwd: dir },
  );
}

/**
 * One more client certificate from an existing CA (`ca.crt` and `ca.key` in
 * `dir`): how a cluster restored from a snapshot gets this run's own admin
 * credentials instead of the ones of the run that saved it.
 */
export async function issueClient(dir: string, client: ClientIdentity, validDays = 30): Promise<void> {
  const subject = `${client.organization ? `/O=${client.organization}` : ''}/CN=${client.commonName}`;
  await issue(dir, String(validDays), client.name, subject, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment');
}
