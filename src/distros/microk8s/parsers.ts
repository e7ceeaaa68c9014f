/**
 * Parsers of MicroK8s output, tested against samples written from its docs
 * and its own printing code (fixtures/samples/microk8s/):
 *   `microk8s add-node`: https://microk8s.io/docs/clustering (pretty and --format short)
 *   `microk8s status --format yaml`: https://microk8s.io/docs/high-availability ("Check the status")
 */
import { parse } from 'yaml';
import { EdgeproofError } from '../../core/errors.js';

export interface JoinUrl {
  /** host:port/token[/check], as `microk8s join` takes it. */
  url: string;
  address: string;
  port: number;
}

export interface AddNodeOutput {
  /** token/check (or just the token before 1.23). */
  token: string;
  /** The join URL on the default interface, first in the output. */
  defaultUrl: JoinUrl;
  /** Every distinct join URL printed, default first. */
  urls: JoinUrl[];
  /** The output offered `--worker` (dqlite clusters only). */
  workerSupported: boolean;
}

const JOIN_LINE = /^microk8s join (\S+):(\d+)\/([0-9a-f]+(?:\/[0-9a-f]+)?)(\s+--worker)?\s*$/;

export function parseAddNode(output: string): AddNodeOutput {
  const urls: JoinUrl[] = [];
  let token: string | undefined;
  let workerSupported = false;
  for (const line of output.split('\n').map((l) => l.trim())) {
    const match = JOIN_LINE.exec(line);
    if (!match) continue;
    const [, address, port, lineToken, worker] = match as unknown as [string, string, string, string, string?];
    if (token && token !== lineToken) throw new EdgeproofError('INTERNAL', `microk8s add-node printed two different tokens`);
    token = lineToken;
    if (worker) workerSupported = true;
    const url = `${address}:${port}/${lineToken}`;
    if (!urls.some((u) => u.url === url)) urls.push({ url, address, port: Number(port) });
  }
  if (!token || !urls[0]) {
    throw new EdgeproofError('INTERNAL', `microk8s add-node printed no join command: ${output.trim().split('\n').at(-1)?.slice(0, 200) ?? '(nothing)'}`);
  }
  return { token, defaultUrl: urls[0], urls, workerSupported };
}

/** The join URL to use from a joining node: the one on `preferred` (the first node's address) if printed, else the default. */
export function joinUrlFor(output: AddNodeOutput, preferred?: string): JoinUrl {
  return output.urls.find((u) => u.address === preferred) ?? output.defaultUrl;
}

export type DatastoreRole = 'voter' | 'standby' | 'spare';

export interface Microk8sStatus {
  running: boolean;
  ha: {
    enabled: boolean;
    /** Three or more voters: the datastore survives one node's loss (MicroK8s' own rule). */
    formed: boolean;
    nodes: { address: string; role: DatastoreRole }[];
    voters: string[];
  };
  addons: { name: string; repository?: string; version?: string; enabled: boolean }[];
  /** Said when not running. */
  message?: string;
}

interface RawStatus {
  microk8s?: { running?: unknown };
  'high-availability'?: { enabled?: unknown; nodes?: { address?: unknown; role?: unknown }[] | null; message?: unknown };
  addons?: { name?: unknown; repository?: unknown; version?: unknown; status?: unknown }[] | null;
}

export function parseStatusYaml(text: string): Microk8sStatus {
  let raw: RawStatus;
  try {
    raw = parse(text) as RawStatus;
  } catch (error) {
    throw new EdgeproofError('INTERNAL', `microk8s status --format yaml printed invalid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!raw || typeof raw.microk8s?.running !== 'boolean') {
    throw new EdgeproofError('INTERNAL', `microk8s status --format yaml printed no "microk8s.running": ${text.trim().split('\n')[0]?.slice(0, 200)}`);
  }
  const ha = raw['high-availability'];
  const nodes = (ha?.nodes ?? [])
    .filter((n) => typeof n.address === 'string' && ['voter', 'standby', 'spare'].includes(String(n.role)))
    .map((n) => ({ address: n.address as string, role: n.role as DatastoreRole }));
  const voters = nodes.filter((n) => n.role === 'voter').map((n) => n.address);
  const message = typeof ha?.message === 'string' ? ha.message : undefined;
  return {
    running: raw.microk8s.running,
    ha: { enabled: ha?.enabled === true, formed: ha?.enabled === true && voters.length >= 3, nodes, voters },
    addons: (raw.addons ?? [])
      .filter((a) => typeof a.name === 'string')
      .map((a) => ({
        name: a.name as string,
        enabled: a.status === 'enabled',
        ...(typeof a.repository === 'string' ? { repository: a.repository } : {}),
        ...(a.version !== null && a.version !== undefined ? { version: String(a.version) } : {}),
      })),
    ...(message ? { message } : {}),
  };
}
