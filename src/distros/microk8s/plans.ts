/**
 * MicroK8s command plans as data, from its own documentation:
 *   install:   https://microk8s.io/docs/getting-started (snap install microk8s --classic --channel=<track>/<risk>)
 *   strict:    https://microk8s.io/docs/strict-confinement (no --classic on <track>-strict channels)
 *   ready:     microk8s status --wait-ready
 *   cluster:   https://microk8s.io/docs/clustering (add-node, join [--worker])
 *   HA:        https://microk8s.io/docs/high-availability (automatic at 3 nodes; status shows the datastore voters)
 *   addons:    https://microk8s.io/docs/addon-metallb (microk8s enable metallb:10.64.140.43-10.64.140.49)
 *   config:    https://microk8s.io/docs/working-with-kubectl (microk8s config)
 *   air gap:   https://microk8s.io/docs/install-offline (snap download + snap ack + snap install ./microk8s.snap)
 */
import { UsageError } from '../../core/errors.js';
import type { AddonRequest, FootprintTargets, NodeRole } from '../../cluster/distribution.js';
import type { AirgapFile } from '../../cluster/install-source.js';
import type { PlanStep } from '../plan.js';
import type { Microk8sChannel } from './channel.js';

/** The API port of MicroK8s' apiserver. */
export const MICROK8S_API_PORT = 16443;
/** Where the cluster agent listens for joins. */
export const MICROK8S_AGENT_PORT = 25000;
const AIRGAP_DIR = '/var/tmp/edgeproof-airgap';

export interface Microk8sAirgapFiles {
  /** Host paths, as resolved in --airgap. */
  snap: string;
  assert: string;
  baseSnap: string;
  baseAssert: string;
}

/** What an offline install needs in --airgap, and how to fetch each on a machine with internet. */
export function microk8sAirgapFiles(channel: Microk8sChannel): AirgapFile[] {
  const download = `snap download microk8s --channel=${channel.text} --basename microk8s`;
  return [
    { what: 'microk8s.snap', name: 'microk8s.snap', kind: 'snap', source: `snap store, channel ${channel.text}`, pattern: /^microk8s(_\d+)?\.snap$/, fetch: download },
    { what: 'microk8s.assert', name: 'microk8s.assert', kind: 'assertion', source: `snap store, channel ${channel.text}`, pattern: /^microk8s(_\d+)?\.assert$/, fetch: download },
    { what: 'base snap (core22 or core20)', name: 'core22.snap', kind: 'snap', source: 'snap store (the base in `snap info --verbose microk8s`)', pattern: /^core(18|20|22|24)(_\d+)?\.snap$/, fetch: 'snap download core22 --basename core22 (the base named in `snap info --verbose microk8s`)' },
    { what: 'base snap assertion', name: 'core22.assert', kind: 'assertion', source: 'snap store', pattern: /^core(18|20|22|24)(_\d+)?\.assert$/, fetch: 'snap download core22 --basename core22' },
  ];
}

export const SNAP_STORE_URL = 'https://api.snapcraft.io';

export function installPlan(channel: Microk8sChannel, airgap?: Microk8sAirgapFiles): PlanStep[] {
  const confinement = channel.strict ? [] : ['--classic'];
  const seeded: PlanStep = { name: 'snapd ready', argv: ['snap', 'wait', 'system', 'seed.loaded'], timeoutMs: 120_000 };
  if (!airgap) {
    return [seeded, { name: `snap install microk8s (${channel.text})`, argv: ['snap', 'install', 'microk8s', ...confinement, `--channel=${channel.text}`], timeoutMs: 600_000 }];
  }
  const on = (hostPath: string) => `${AIRGAP_DIR}/${hostPath.split('/').at(-1)}`;
  return [
    seeded,
    {
      name: 'copy air-gap snaps',
      argv: ['ls', '-l', AIRGAP_DIR],
      uploads: [airgap.baseSnap, airgap.baseAssert, airgap.snap, airgap.assert].map((hostPath) => ({ hostPath, path: on(hostPath), mode: 0o644 })),
      timeoutMs: 300_000,
    },
    { name: 'snap ack base', argv: ['snap', 'ack', on(airgap.baseAssert)], timeoutMs: 60_000 },
    { name: 'snap install base', argv: ['snap', 'install', on(airgap.baseSnap)], timeoutMs: 300_000 },
    { name: 'snap ack microk8s', argv: ['snap', 'ack', on(airgap.assert)], timeoutMs: 60_000 },
    { name: `snap install microk8s (air gap, ${channel.text})`, argv: ['snap', 'install', on(airgap.snap), ...confinement], timeoutMs: 600_000 },
  ];
}

export function waitReadyPlan(timeoutS: number): PlanStep {
  return { name: 'microk8s status --wait-ready', argv: ['microk8s', 'status', '--wait-ready', '--timeout', String(timeoutS)], timeoutMs: (timeoutS + 30) * 1000 };
}

/** Workload images (busybox, pause) built by edgeproof, imported into MicroK8s' containerd. */
export function importImagesPlan(guestImageDir: string): PlanStep {
  return {
    name: 'import workload images',
    shell: `for f in ${guestImageDir}/*.tar; do microk8s ctr image import "$f" || exit 1; done`,
    timeoutMs: 300_000,
  };
}

/** A join token edgeproof chooses (32 hex characters, as add-node requires), valid for `ttlS`. */
export function addNodePlan(token: string, ttlS: number): PlanStep {
  if (!/^[0-9a-f]{32}$/.test(token)) throw new UsageError('a MicroK8s join token must be 32 hexadecimal characters');
  return { name: 'microk8s add-node', argv: ['microk8s', 'add-node', '--token', token, '--token-ttl', String(ttlS)], secrets: [token], timeoutMs: 60_000 };
}

/** `microk8s join <ip>:25000/<token>/<check> [--worker]`; the token is a secret. */
export function joinPlan(url: string, role: NodeRole): PlanStep {
  const token = url.split('/').slice(1).join('/');
  return {
    name: role === 'worker' ? 'microk8s join --worker' : 'microk8s join',
    argv: ['microk8s', 'join', url, ...(role === 'worker' ? ['--worker'] : [])],
    secrets: [token, ...token.split('/')],
    timeoutMs: 600_000,
  };
}

export function statusPlan(): PlanStep {
  return { name: 'microk8s status', argv: ['microk8s', 'status', '--format', 'yaml'], timeoutMs: 60_000 };
}

const ADDON_NAME = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)?$/;

export function addonEnablePlan(addons: AddonRequest[]): PlanStep[] {
  return addons.map((addon) => {
    if (!ADDON_NAME.test(addon.name)) throw new UsageError(`Invalid MicroK8s addon name "${addon.name}"`, 'addon names are lowercase words, optionally repository/name (e.g. core/metallb)');
    const word = addon.args ? `${addon.name}:${addon.args}` : addon.name;
    return { name: `microk8s enable ${addon.name}`, argv: ['microk8s', 'enable', word], timeoutMs: 600_000 };
  });
}

export function kubeconfigPlan(): PlanStep {
  return { name: 'microk8s config', argv: ['microk8s', 'config'], timeoutMs: 60_000 };
}

/**
 * The Kubernetes services of a MicroK8s node (what its 540 MB covers): the
 * snap's daemons, each its own systemd unit. Since 1.26 one `kubelite`
 * process runs apiserver, controller-manager, scheduler, kubelet and proxy;
 * dqlite is the datastore; workers run no datastore but an apiserver proxy.
 */
export function microk8sFootprint(role: NodeRole): FootprintTargets {
  const daemons = role === 'control-plane' ? ['kubelite', 'containerd', 'k8s-dqlite', 'cluster-agent', 'apiserver-kicker'] : ['kubelite', 'containerd', 'apiserver-proxy'];
  return {
    processNames: role === 'control-plane' ? ['kubelite', 'containerd', 'k8s-dqlite', 'containerd-shim-runc-v2'] : ['kubelite', 'containerd', 'containerd-shim-runc-v2'],
    cgroupPaths: daemons.map((daemon) => `system.slice/snap.microk8s.daemon-${daemon}.service`),
    definition: `MicroK8s services only: the snap.microk8s.daemon-* units (${daemons.join(', ')}) and their processes (the scope of Canonical's 540 MB)`,
  };
}
