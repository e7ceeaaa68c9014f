/**
 * The hosts file of the ssh backend: boards or VMs a team owns. Validated with
 * zod; every error names the file and line, what is wrong and the fix.
 *
 *   hosts:
 *     - name: pi-1               # node name (Kubernetes node names are lowercase)
 *       address: 192.168.1.50    # IPv4 or host name: where SSH (and, by default, the apiserver) is reached
 *       port: 22                 # default 22
 *       user: root               # default root; another user needs passwordless sudo
 *       key: ~/.ssh/id_ed25519   # private key (unencrypted, or loaded from an agent-less file)
 *       arch: arm64              # arm64 | amd64, checked against `uname -m`
 *       role: control-plane      # control-plane | worker
 *       hostKey: SHA256:...      # pin of the host key (ssh-keygen -lf); without it, ~/.ssh/known_hosts must know the host
 *       nodeAddress: 10.0.0.5    # optional IPv4: the address other nodes use (default: detected)
 *       ports: { 6443: 16443 }   # optional: node port -> port the harness connects to (NAT)
 *       powerOff: pdu-ctl 3 off  # optional, run on the harness: without it power-off checks are not applicable
 *       powerOn: pdu-ctl 3 on
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import ssh2 from 'ssh2';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const HostSchema = z
  .object({
    name: z.string().regex(NAME, 'a lowercase DNS label (letters, digits, dashes), as Kubernetes node names are'),
    address: z.string().min(1, 'an IP address or host name'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1).default('root'),
    key: z.string().min(1, 'the path of an SSH private key'),
    arch: z.enum(['arm64', 'amd64']),
    role: z.enum(['control-plane', 'worker']),
    hostKey: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'the SHA256 fingerprint as `ssh-keygen -lf` prints it (SHA256:...)')
      .optional(),
    nodeAddress: z.string().min(1).optional(),
    ports: z.record(z.string().regex(/^\d+$/, 'a port number'), z.number().int().min(1).max(65535)).optional(),
    powerOff: z.string().min(1).optional(),
    powerOn: z.string().min(1).optional(),
  })
  .strict();

const HostsFileSchema = z.object({ hosts: z.array(HostSchema).min(1, 'at least one host') }).strict();

export interface HostEntry {
  name: string;
  address: string;
  port: number;
  user: string;
  /** Absolute path of the private key. */
  keyPath: string;
  arch: 'arm64' | 'amd64';
  role: 'control-plane' | 'worker';
  /** Base64 SHA-256 of the host key (without the SHA256: prefix). */
  hostKeySha256?: string;
  nodeAddress?: string;
  ports: Record<number, number>;
  powerOff?: string;
  powerOn?: string;
  /** Where it is written, for errors: hosts.yaml:12. */
  source: string;
}

/** Parses and validates a hosts file's text; `file` is used for messages and to resolve relative key paths. */
export function parseHostsFile(text: string, file: string): HostEntry[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined) => (offset === undefined ? file : `${file}:${lines.linePos(offset).line}`);
  if (doc.errors.length) {
    const error = doc.errors[0]!;
    throw new UsageError(`${at(error.pos[0])}: not valid YAML: ${error.message.split('\n')[0]}`, 'see the hosts file format in README.md (ssh backend)');
  }
  const parsed = HostsFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    // A misspelt field explains the "Required" issues that come with it: say it first, at its own line.
    const issues = parsed.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const where = at(offsetOf(doc, unknown ? [...issue.path, unknown] : issue.path));
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
    const what = unknown ? `unknown field "${unknown}"` : issue.message;
    const hint = unknown ? `fields: ${Object.keys(HostSchema.shape).join(', ')}` : 'see the hosts file format in README.md (ssh backend)';
    throw new UsageError(`${where}: ${path || 'hosts file'}: ${what}`, hint);
  }
  const base = dirname(resolve(file));
  const entries = parsed.data.hosts.map((host, i): HostEntry => {
    const source = at(offsetOf(doc, ['hosts', i]));
    checkAddresses(host, (field) => at(offsetOf(doc, ['hosts', i, field])));
    return {
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      keyPath: expandPath(host.key, base),
      arch: host.arch,
      role: host.role,
      ports: Object.fromEntries(Object.entries(host.ports ?? {}).map(([k, v]) => [Number(k), v])),
      source,
      ...(host.hostKey ? { hostKeySha256: host.hostKey.slice('SHA256:'.length).replace(/=$/, '') } : {}),
      ...(host.nodeAddress ? { nodeAddress: host.nodeAddress } : {}),
      ...(host.powerOff ? { powerOff: host.powerOff } : {}),
      ...(host.powerOn ? { powerOn: host.powerOn } : {}),
    };
  });
  checkUnique(entries, (h) => h.name, 'name');
  checkUnique(entries, (h) => `${h.address}:${h.port}`, 'address and port');
  if (!entries.some((h) => h.role === 'control-plane')) {
    throw new UsageError(`${file}: no host has role control-plane`, 'give at least one host `role: control-plane`');
  }
  return entries;
}

/**
 * Reads, parses and checks every key file; the whole file is wrong before
 * any connection is tried. Its commands often carry credentials: from here
 * on they are redacted from events, results, reports and logs.
 */
export function loadHostsFile(file: string): HostEntry[] {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`--hosts ${file} does not exist`, 'write a hosts file (see README.md, ssh backend) and pass its path');
  const entries = parseHostsFile(readFileSync(file, 'utf8'), file);
  for (const entry of entries) {
    configuredCommands(entry).forEach(registerSecret);
    readPrivateKey(entry);
  }
  return entries;
}

/** The commands a host entry configures, run on the harness host. */
export function configuredCommands(entry: HostEntry): string[] {
  return [entry.powerOff, entry.powerOn].filter((command): command is string => command !== undefined);
}

/** The private key of a host, checked: present, readable, unencrypted. */
export function readPrivateKey(entry: HostEntry): string {
  if (!existsSync(entry.keyPath)) throw new UsageError(`${entry.source}: host "${entry.name}": key ${entry.keyPath} does not exist`, `create one with ssh-keygen -t ed25519 -f ${entry.keyPath}, then ssh-copy-id -i ${entry.keyPath}.pub ${entry.user}@${entry.address}`);
  const key = readFileSync(entry.keyPath, 'utf8');
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    throw new UsageError(
      `${entry.source}: host "${entry.name}": key ${entry.keyPath} cannot be used: ${parsed.message}`,
      encrypted ? `edgeproof reads keys without a passphrase: use a dedicated key (ssh-keygen -t ed25519 -N '' -f ~/.ssh/edgeproof) and authorize it on ${entry.name}` : 'give the path of an OpenSSH private key',
    );
  }
  return key;
}

/**
 * Addresses end up in other nodes' root start-up scripts, haproxy and
 * certificates: only an IPv4 address (or, for SSH, a host name) gets through.
 */
function checkAddresses(host: { name: string; address: string; nodeAddress?: string | undefined }, at: (field: string) => string): void {
  if (!isIPv4(host.address) && !HOST_NAME.test(host.address)) {
    throw new UsageError(`${at('address')}: host "${host.name}": address ${JSON.stringify(host.address)} is neither an IPv4 address nor a host name`, 'write the address SSH reaches the host at, e.g. 192.168.1.50 or pi-1.lan');
  }
  if (host.nodeAddress !== undefined && !isIPv4(host.nodeAddress)) {
    throw new UsageError(`${at('nodeAddress')}: host "${host.name}": nodeAddress ${JSON.stringify(host.nodeAddress)} is not an IPv4 address`, `write the IPv4 address the other nodes reach ${host.name} at, e.g. 10.0.0.5, or drop nodeAddress: to use the source address of its default route`);
  }
}

function checkUnique(entries: HostEntry[], key: (h: HostEntry) => string, what: string): void {
  const seen = new Map<string, HostEntry>();
  for (const entry of entries) {
    const previous = seen.get(key(entry));
    if (previous) throw new UsageError(`${entry.source}: host "${entry.name}" has the same ${what} as "${previous.name}" (${previous.source})`, `each host needs its own ${what}`);
    seen.set(key(entry), entry);
  }
}

/** Offset of the deepest node on `path` that exists (a missing key points at its parent). */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return undefined;
}

function expandPath(path: string, base: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(base, path);
}
