/**
 * MicroK8s snap channels: `<track>/<risk>[/<branch>]`, tracks `1.NN` (classic),
 * `1.NN-strict` (strict confinement, from 1.25) and `latest`.
 *   https://microk8s.io/docs/setting-snap-channel
 *   https://canonical.com/blog/strictly-confined-microk8s ("available as a strictly confined snap on 1.25")
 *   https://microk8s.io/docs/high-availability ("New in 1.19, high availability is automatically enabled ... three or more nodes")
 */
import { UsageError } from '../../core/errors.js';
import type { Arch } from '../../emulation/boards.js';
import type { Topology } from '../../cluster/distribution.js';
import { compareVersions, supportFor, type SupportRow } from '../versions.js';

export const RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;
export type Risk = (typeof RISKS)[number];

export interface Microk8sChannel {
  /** As given, normalised to track/risk[/branch]. */
  text: string;
  track: string;
  risk: Risk;
  branch?: string;
  /** Kubernetes minor of the track ('1.30'); absent for `latest`. */
  kubernetes?: string;
  strict: boolean;
}

/** The oldest track edgeproof drives: the first with automatic HA and the add-node/join flow it parses. */
export const MIN_TRACK = '1.19';
/** `microk8s join ... --worker` (a node without the control plane) came with the dqlite worker-only nodes. */
export const WORKER_JOIN_SINCE = '1.23';
export const STRICT_SINCE = '1.25';

/**
 * Which architectures MicroK8s publishes: the snap is built for amd64 and arm64
 * (and s390x) on every track edgeproof supports; core addons declare their own
 * architectures (e.g. gpu is amd64-only).
 */
export const MICROK8S_ARCH_SUPPORT: readonly SupportRow[] = [
  { arch: 'amd64', since: MIN_TRACK, source: 'https://microk8s.io/docs (snap published for amd64, arm64, s390x)' },
  { arch: 'arm64', since: MIN_TRACK, source: 'https://microk8s.io/docs/install-raspberry-pi' },
];

const TRACK = /^(latest|1\.(\d+))(-strict)?$/;

export function parseChannel(text: string): Microk8sChannel {
  const trimmed = text.trim();
  const parts = trimmed.split('/');
  if (parts.length > 3 || parts.some((p) => !p)) throw badChannel(text);
  // A lone risk ('stable') means latest/<risk>; a lone track means <track>/stable (snap's own rules).
  const [first, second, third] = parts as [string, string?, string?];
  const loneRisk = parts.length === 1 && (RISKS as readonly string[]).includes(first);
  const track = loneRisk ? 'latest' : first;
  const risk = loneRisk ? first : (second ?? 'stable');
  const match = TRACK.exec(track);
  if (!match || !(RISKS as readonly string[]).includes(risk)) throw badChannel(text);
  const channel: Microk8sChannel = {
    text: [track, risk, third].filter(Boolean).join('/'),
    track,
    risk: risk as Risk,
    strict: Boolean(match[3]),
    ...(match[2] ? { kubernetes: `1.${match[2]}` } : {}),
    ...(third ? { branch: third } : {}),
  };
  return channel;
}

function badChannel(text: string): UsageError {
  return new UsageError(
    `Invalid MicroK8s channel "${text}"`,
    `write <track>/<risk>: e.g. 1.32/stable, 1.32-strict/stable or latest/edge (risks: ${RISKS.join(', ')})`,
  );
}

/** Throws a UsageError when the channel cannot run on `arch` or cannot form `topology`. */
export function validateChannel(channel: Microk8sChannel, arch: Arch, topology?: Topology): void {
  const row = supportFor(MICROK8S_ARCH_SUPPORT, arch);
  if (!row) throw new UsageError(`MicroK8s is not published for ${arch}`, `choose a board of another architecture (${MICROK8S_ARCH_SUPPORT.map((r) => r.arch).join(', ')})`);
  const k8s = channel.kubernetes;
  if (k8s && compareVersions(k8s, row.since) < 0) {
    throw new UsageError(`MicroK8s channel ${channel.text} is older than ${row.since}, the oldest edgeproof drives on ${arch}`, `use ${row.since}/stable or newer (HA and the add-node flow start at ${MIN_TRACK})`);
  }
  if (channel.strict && k8s && compareVersions(k8s, STRICT_SINCE) < 0) {
    throw new UsageError(`MicroK8s channel ${channel.text} does not exist: strict confinement starts with ${STRICT_SINCE}-strict`, `use ${STRICT_SINCE}-strict/stable or newer, or the classic track ${k8s}/${channel.risk}`);
  }
  if (topology && topology.workers > 0 && k8s && compareVersions(k8s, WORKER_JOIN_SINCE) < 0) {
    throw new UsageError(`MicroK8s ${channel.text} cannot join worker-only nodes (\`microk8s join --worker\` arrived in ${WORKER_JOIN_SINCE})`, `use ${WORKER_JOIN_SINCE}/stable or newer, or a topology without workers`);
  }
}
