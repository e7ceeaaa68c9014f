import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { describeError, formatMs, WaitTimeoutError } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import { addonsOfArea, type AddonSpec } from '../cluster/addons/catalog.js';
import type { ClusterNode, StartedCluster } from '../cluster/distribution.js';
import { shellQuote, type Machine } from '../emulation/machine.js';
import { fail, notApplicable, pass, type CheckOutcome } from './check.js';
import { canPowerOff, canPowerOn, powerOffNode, powerOnNode } from './faults.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import type { ReplicatedVolumeStatus } from './addons/parsers/storage-status.js';
import { kube } from '../cluster/kube-access.js';
import { runProbePod } from './probe-pods.js';
import { backendFor, localBackend, localPersistentVolume, localStorageClass, readPv, replicatedStorageClass, type VolumeBackend } from './storage-engines.js';
import { describePods, nodeInfos, runNamespace, SuiteRun, unlessTimeout, type CheckRef } from './suite-kit.js';
import { hostnameAffinity, MANAGED_BY, oneShotPod } from './workloads.js';

export const STORAGE_CHECKS = {
  defaultClass: { id: 'STO-1', name: 'the default StorageClass gives a volume whose data survives its pod' },
  pinnedNode: { id: 'STO-2', name: 'a volume for a pod pinned to a non-primary node is created on that node' },
  replicatedInstall: { id: 'STO-3', name: 'the replicated storage engine is installed and Ready' },
  replicatedIo: { id: 'STO-4', name: 'a replicated volume takes N MB with a recorded checksum, all replicas healthy' },
  replicaLoss: { id: 'STO-5', name: 'after the node holding a copy is powered off, the volume is degraded but reads back the same checksum' },
  rebuild: { id: 'STO-5b', name: 'after that node returns, the volume rebuilds and the replica count is restored' },
  reclaim: { id: 'STO-6', name: 'deleting the claim removes the volume per its reclaim policy' },
} satisfies Record<string, CheckRef>;

export interface StorageOptions extends AddonGateOptions {
  /** Data written per volume, MB (default 16). */
  sizeMB?: number;
  /** Base budgets (scaled): bind + write (300 s), reading after the loss (600 s), rebuild (1200 s). */
  writeBudgetMs?: number;
  readBudgetMs?: number;
  rebuildBudgetMs?: number;
  faults?: boolean;
}

/**
 * Storage suite: the default class (STO-1, STO-2 on several nodes), and a
 * replicated engine (Longhorn, OpenEBS Jiva or Mayastor) proven by losing a
 * node that holds a copy (STO-3..6).
 */
export async function runStorageSuite(ctx: RunContext, cluster: StartedCluster, options: StorageOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'storage');
  const sizeMB = options.sizeMB ?? 16;
  const writeBudget = ctx.scaled(options.writeBudgetMs ?? 300_000);
  await run.withNamespace('default', async (namespace) => {
    const sc = await defaultStorageClass(run);
    const none = 'no default StorageClass on this cluster (no storage provisioner)';
    await run.check(STORAGE_CHECKS.defaultClass, async () => (sc ? defaultClassPersists(run, namespace, writeBudget) : notApplicable(none)));
    await run.check(STORAGE_CHECKS.pinnedNode, async () => (sc ? volumeOnPinnedNode(run, namespace, writeBudget) : notApplicable(none)));
  });

  const gate = await gateArea(run, addonsOfArea('storage'), options);
  const replicated = [STORAGE_CHECKS.replicatedIo, STORAGE_CHECKS.replicaLoss, STORAGE_CHECKS.rebuild, STORAGE_CHECKS.reclaim];
  if (!gate.ready) {
    await run.notRun([STORAGE_CHECKS.replicatedInstall, ...replicated], gate.verdict, gate.reason, gate.evidence);
    return run.outcomes;
  }
  await run.check(STORAGE_CHECKS.replicatedInstall, async () => pass(gate.evidence));
  await run.withNamespace('replicated', async (namespace) => {
    const volume = await replicatedVolume(run, namespace, gate.addon);
    const written = await run.check(STORAGE_CHECKS.replicatedIo, () => writeAndVerifyReplicas(run, namespace, volume, sizeMB, writeBudget));
    if (written.verdict !== 'pass') {
      await run.notRun(replicated.slice(1), 'skipped', `${STORAGE_CHECKS.replicatedIo.id} did not pass: ${written.reason}`);
      return;
    }
    const data = written.evidence as unknown as WrittenData;
    let victim: VictimState | undefined;
    await run.check(STORAGE_CHECKS.replicaLoss, async () => {
      if (options.faults === false) return notApplicable('faults are off for this run');
      const result = await replicaLoss(run, namespace, volume, data, { readBudgetMs: ctx.scaled(options.readBudgetMs ?? 600_000) });
      victim = result.victim;
      return result.outcome;
    });
    await run.check(STORAGE_CHECKS.rebuild, async () => (victim ? rebuildAfterReturn(run, volume, data, victim, ctx.scaled(options.rebuildBudgetMs ?? 1_200_000)) : notApplicable(`${STORAGE_CHECKS.replicaLoss.id} powered no node off`)));
    await run.check(STORAGE_CHECKS.reclaim, () => reclaim(run, namespace, volume.claim, data.pv));
  });
  return run.outcomes;
}

export interface VolumeUnderTest {
  claim: string;
  storageClass: string;
  backend: VolumeBackend;
  wantedReplicas: number;
}

export interface WrittenData {
  sha256: string;
  pv: string;
  writerNode: string;
  sizeMB: number;
}

interface VictimState {
  node: ClusterNode & { machine: Machine };
}

async function defaultStorageClass(run: SuiteRun): Promise<string | undefined> {
  const classes = await kube('list storage classes', () => run.clients.storage.listStorageClass());
  return classes.items.find((c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')?.metadata?.name;
}

export function claim(name: string, storageClassName: string | undefined, size = '1Gi'): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: MANAGED_BY },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...(storageClassName !== undefined ? { storageClassName } : {}) },
  };
}

const WRITE_SCRIPT = [
  'set -e',
  'dd if=/dev/urandom of=/data/blob bs=1048576 count="$MB" 2>/dev/null',
  'sync',
  'sha=$(sha256sum /data/blob | cut -d" " -f1)',
  'echo "$sha" > /data/blob.sha256',
  'sync',
  'echo "sha256=$sha"',
  'echo "node=$NODE"',
].join('\n');

const READ_SCRIPT = [
  '[ -f /data/blob ] || { echo "read-error=/data/blob is missing"; exit 3; }',
  'echo "sha256=$(sha256sum /data/blob | cut -d" " -f1)"',
  'echo "stored=$(cat /data/blob.sha256)"',
  'echo "node=$NODE"',
].join('\n');

/** A pod that writes (or reads back) the data of a claim; its container is `probe`, so runProbePod awaits its exit. */
export function dataPod(name: string, image: string, claimName: string, mode: 'write' | 'read', options: { sizeMB?: number; avoidNodes?: string[]; nodeName?: string } = {}): V1Pod {
  const avoid = options.avoidNodes?.length ? hostnameAffinity('NotIn', options.avoidNodes) : {};
  return oneShotPod(
    name,
    {
      image,
      command: ['sh', '-c', mode === 'write' ? WRITE_SCRIPT : READ_SCRIPT],
      env: [{ name: 'MB', value: String(options.sizeMB ?? 16) }, { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    },
    { ...(options.nodeName ? { nodeName: options.nodeName } : {}), ...avoid, volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
  );
}

export function parseDataLog(log: string): { sha256?: string; stored?: string; node?: string; error?: string } {
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(log)?.[1]?.trim();
  const sha256 = value('sha256');
  const stored = value('stored');
  const node = value('node');
  const error = value('read-error');
  return { ...(sha256 && /^[0-9a-f]{64}$/.test(sha256) ? { sha256 } : {}), ...(stored ? { stored } : {}), ...(node ? { node } : {}), ...(error ? { error } : {}) };
}

/** Writes `sizeMB` through a pod and waits for the claim to be bound; the evidence is a WrittenData. */
export async function writeData(run: SuiteRun, namespace: string, claimName: string, sizeMB: number, budgetMs: number, podName = 'ep-writer', nodeName?: string): Promise<CheckOutcome> {
  const started = Date.now();
  let probe;
  try {
    probe = await runProbePod(run.ctx, run.clients, namespace, dataPod(podName, run.cluster.workloadImage, claimName, 'write', { sizeMB, ...(nodeName ? { nodeName } : {}) }), budgetMs);
  } catch (error) {
    if (error instanceof WaitTimeoutError) return fail(`writing through claim ${claimName} did not finish: ${error.message}`, { claim: claimName, pvc: await claimState(run, namespace, claimName) });
    throw error;
  }
  const parsed = parseDataLog(probe.log);
  const pvc = await kube('read claim', () => run.clients.core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace }));
  if (probe.exitCode !== 0 || !parsed.sha256) return fail(`the writer pod failed (exit ${probe.exitCode}): ${probe.log.trim().slice(0, 200)}`, { claim: claimName });
  const data: WrittenData = { sha256: parsed.sha256, pv: pvc.spec?.volumeName ?? '', writerNode: parsed.node ?? probe.node ?? '', sizeMB };
  return pass({ ...data, claimPhase: pvc.status?.phase, writeMs: Date.now() - started });
}

async function claimState(run: SuiteRun, namespace: string, name: string): Promise<string> {
  const pvc = await kube('read claim', () => run.clients.core.readNamespacedPersistentVolumeClaim({ name, namespace })).catch(() => undefined);
  return pvc ? `${pvc.status?.phase ?? '?'} ${pvc.spec?.volumeName ?? ''}`.trim() : 'unreadable';
}

/** Reads the data back on a node other than `avoid`; the outcome says whether it was there, intact. */
export async function readBack(run: SuiteRun, namespace: string, claimName: string, data: WrittenData, budgetMs: number, avoid: string[], podName: string): Promise<CheckOutcome> {
  const started = Date.now();
  let probe;
  try {
    probe = await runProbePod(run.ctx, run.clients, namespace, dataPod(podName, run.cluster.workloadImage, claimName, 'read', { avoidNodes: avoid }), budgetMs);
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const pod = await kube('read reader pod', () => run.clients.core.readNamespacedPod({ name: podName, namespace })).catch(() => undefined);
    const events = await kube('list events', () => run.clients.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${podName}` })).catch(() => undefined);
    return fail(`data unavailable: the reader pod never ran within ${formatMs(budgetMs)} (${pod ? describePods([pod]) : error.lastObservation})`, {
      pv: data.pv,
      writtenOn: data.writerNode,
      avoided: avoid,
      readerEvents: (events?.items ?? []).map((e) => `${e.reason}: ${e.message}`).slice(-5),
    });
  }
  const parsed = parseDataLog(probe.log);
  const evidence = { pv: data.pv, written: data.sha256, read: parsed.sha256, readerNode: parsed.node ?? probe.node, readMs: Date.now() - started };
  if (probe.exitCode !== 0 || !parsed.sha256) return fail(`data unavailable: the reader failed (exit ${probe.exitCode}): ${parsed.error ?? probe.log.trim().slice(0, 200)}`, evidence);
  if (parsed.sha256 !== data.sha256) return fail(`data corrupted: read back sha256 ${parsed.sha256}, written ${data.sha256}`, evidence);
  return pass(evidence);
}

async function defaultClassPersists(run: SuiteRun, namespace: string, budgetMs: number): Promise<CheckOutcome> {
  await kube('create claim', () => run.clients.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('ep-default', undefined) }));
  const written = await writeData(run, namespace, 'ep-default', 4, budgetMs, 'ep-default-writer');
  if (written.verdict !== 'pass') return written;
  const data = written.evidence as unknown as WrittenData;
  await kube('delete writer', () => run.clients.core.deleteNamespacedPod({ name: 'ep-default-writer', namespace, gracePeriodSeconds: 0 }));
  const read = await readBack(run, namespace, 'ep-default', data, budgetMs, [], 'ep-default-reader');
  return read.verdict === 'pass' ? pass({ ...read.evidence, writtenOn: data.writerNode }) : read;
}

async function volumeOnPinnedNode(run: SuiteRun, namespace: string, budgetMs: number): Promise<CheckOutcome> {
  const nodes = (await nodeInfos(run.clients)).filter((n) => n.ready);
  const target = nodes.find((n) => !n.controlPlane) ?? (nodes.length > 1 ? nodes[1] : undefined);
  if (!target) return notApplicable('a single-node cluster has no non-primary node');
  await kube('create claim', () => run.clients.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('ep-pinned', undefined) }));
  const written = await writeData(run, namespace, 'ep-pinned', 1, budgetMs, 'ep-pinned-writer', target.name);
  if (written.verdict !== 'pass') return written;
  const data = written.evidence as unknown as WrittenData;
  const pv = await readPv(run.clients, data.pv);
  const pinned = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.flatMap((t) => t.matchExpressions ?? []).flatMap((e) => e.values ?? []) ?? [];
  const evidence = { node: target.name, pv: data.pv, pvNodeAffinity: pinned, writtenOn: data.writerNode };
  if (data.writerNode !== target.name) return fail(`the pod ran on ${data.writerNode}, not on ${target.name}`, evidence);
  if (pinned.length && !pinned.includes(target.name)) return fail(`the volume was created for ${pinned.join(', ')}, not for ${target.name} where its pod runs`, evidence);
  return pass(evidence);
}

async function replicatedVolume(run: SuiteRun, namespace: string, addon: AddonSpec): Promise<VolumeUnderTest> {
  const nodes = await nodeInfos(run.clients);
  const replicas = Math.min(3, nodes.length);
  const name = runNamespace(run.ctx, `sc-${addon.name}`);
  const { storageClass, policy } = replicatedStorageClass(addon.name, name, replicas);
  if (policy) {
    await kube('create JivaVolumePolicy', () => run.clients.custom.createNamespacedCustomObject({ group: 'openebs.io', version: 'v1', namespace: 'openebs', plural: 'jivavolumepolicies', body: policy }));
    run.ctx.scope.defer(`JivaVolumePolicy ${name}`, () => kube('delete policy', () => run.clients.custom.deleteNamespacedCustomObject({ group: 'openebs.io', version: 'v1', namespace: 'openebs', plural: 'jivavolumepolicies', name })).then(() => undefined, () => undefined));
  }
  await kube('create storage class', () => run.clients.storage.createStorageClass({ body: storageClass }));
  run.ctx.scope.defer(`StorageClass ${name}`, () => kube('delete storage class', () => run.clients.storage.deleteStorageClass({ name })).then(() => undefined, () => undefined));
  await kube('create claim', () => run.clients.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('ep-replicated', name) }));
  return { claim: 'ep-replicated', storageClass: name, backend: backendFor(addon.name), wantedReplicas: replicas };
}

async function writeAndVerifyReplicas(run: SuiteRun, namespace: string, volume: VolumeUnderTest, sizeMB: number, budgetMs: number): Promise<CheckOutcome> {
  const written = await writeData(run, namespace, volume.claim, sizeMB, budgetMs);
  if (written.verdict !== 'pass') return written;
  const data = written.evidence as unknown as WrittenData;
  const status = await unlessTimeout(waitForHealth(run, volume, data.pv, (s) => s.health === 'healthy' && s.healthyReplicas >= volume.wantedReplicas, budgetMs), (error) => error);
  if (status instanceof Error) return fail(`the volume never reported ${volume.wantedReplicas} healthy replicas: ${describeError(status)}`, { ...data });
  return pass({ ...data, engine: volume.backend.engine, replicas: `${status.healthyReplicas}/${status.wantedReplicas}`, replicaNodes: status.replicaNodes, detail: status.detail });
}

async function waitForHealth(run: SuiteRun, volume: VolumeUnderTest, pvName: string, done: (s: ReplicatedVolumeStatus) => boolean, budgetMs: number): Promise<ReplicatedVolumeStatus> {
  return waitFor(
    async () => {
      const status = await volume.backend.status(run.clients, await readPv(run.clients, pvName));
      if (!status) return { done: false as const, observed: `${volume.backend.engine} reports nothing for ${pvName}` };
      return done(status) ? { done: true as const, value: status } : { done: false as const, observed: `${status.health}, ${status.healthyReplicas}/${status.wantedReplicas} replicas: ${status.detail}` };
    },
    { what: `${volume.backend.engine} volume ${pvName} status`, budgetMs, pollMs: 5_000, signal: run.ctx.signal },
  );
}

/**
 * STO-5: powers off a node holding a copy of the data, then reads the data
 * back on another node. A replicated engine must show the volume degraded
 * (not faulted) and return the same checksum; a single local copy cannot,
 * and the check says the data is unavailable (the negative control).
 */
export async function replicaLoss(run: SuiteRun, namespace: string, volume: VolumeUnderTest, data: WrittenData, options: { readBudgetMs: number }): Promise<{ outcome: CheckOutcome; victim?: VictimState }> {
  const { ctx, cluster } = run;
  const pv = await readPv(run.clients, data.pv);
  const holders = await volume.backend.replicaNodes(run.clients, pv);
  const controlPlanes = cluster.nodes.filter((n) => n.role === 'control-plane').length;
  const candidates = cluster.nodes.filter((n) => holders.includes(n.name) && canPowerOff(n) && (n.role !== 'control-plane' || controlPlanes >= 3));
  const node = (candidates.find((n) => n.name === data.writerNode) ?? candidates[0]) as (ClusterNode & { machine: Machine }) | undefined;
  if (!node) return { outcome: notApplicable(`no node holding a copy (${holders.join(', ') || 'none known'}) can be powered off without taking the API down`, { holders, engine: volume.backend.engine }) };
  const before = await volume.backend.status(run.clients, pv);
  await powerOffNode(ctx, node, `${volume.backend.engine} volume ${data.pv}: lose the node holding a copy`);
  await kube('force-delete writer', () => run.clients.core.deleteNamespacedPod({ name: 'ep-writer', namespace, gracePeriodSeconds: 0 })).catch(() => undefined);

  let degraded: ReplicatedVolumeStatus | undefined;
  if (volume.backend.replicated) {
    degraded = await unlessTimeout(waitForHealth(run, volume, data.pv, (s) => s.health !== 'healthy', options.readBudgetMs), () => undefined);
  }
  const read = await readBack(run, namespace, volume.claim, data, options.readBudgetMs, [node.name], 'ep-reader');
  const evidence = { ...read.evidence, engine: volume.backend.engine, holders, poweredOff: node.name, before: before?.detail, after: degraded?.detail ?? (volume.backend.replicated ? 'engine still reported healthy' : 'single copy, no engine status') };
  const victim = { node };
  if (read.verdict !== 'pass') return { outcome: fail(`${read.reason} after ${node.name}, which held ${volume.backend.replicated ? 'a replica' : 'the only copy'}, was powered off`, evidence), victim };
  if (volume.backend.replicated && degraded?.health !== 'degraded') {
    return { outcome: fail(`the data read back intact, but ${volume.backend.engine} reported ${degraded?.health ?? 'healthy'} instead of degraded after losing a replica`, evidence), victim };
  }
  return { outcome: pass(evidence), victim };
}

async function rebuildAfterReturn(run: SuiteRun, volume: VolumeUnderTest, data: WrittenData, victim: VictimState, budgetMs: number): Promise<CheckOutcome> {
  const machine = victim.node.machine;
  if (!canPowerOn(machine)) return notApplicable(`${victim.node.name} cannot be powered on again from here (no power-on capability)`);
  const started = Date.now();
  await powerOnNode(run.ctx, { ...victim.node, machine }, `${volume.backend.engine} rebuild of ${data.pv}`);
  if (!volume.backend.replicated) return notApplicable('a single local copy has nothing to rebuild');
  const status = await unlessTimeout(waitForHealth(run, volume, data.pv, (s) => s.health === 'healthy' && s.healthyReplicas >= volume.wantedReplicas, budgetMs), (error) => error);
  if (status instanceof Error) return fail(`no rebuild to ${volume.wantedReplicas} healthy replicas within ${formatMs(budgetMs)}: ${describeError(status)}`, { node: victim.node.name });
  run.ctx.events.emit({ type: 'measurement', id: 'STO-5b/rebuild', suite: 'storage', name: 'power-on to volume healthy again', unit: 'ms', value: Date.now() - started, node: victim.node.name });
  return pass({ node: victim.node.name, replicas: `${status.healthyReplicas}/${status.wantedReplicas}`, replicaNodes: status.replicaNodes, rebuildMs: Date.now() - started });
}

async function reclaim(run: SuiteRun, namespace: string, claimName: string, pvName: string): Promise<CheckOutcome> {
  const pv = await readPv(run.clients, pvName);
  const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Delete';
  for (const pod of (await kube('list pods', () => run.clients.core.listNamespacedPod({ namespace }))).items) {
    await kube('delete pod', () => run.clients.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, gracePeriodSeconds: 0 })).catch(() => undefined);
  }
  await kube('delete claim', () => run.clients.core.deleteNamespacedPersistentVolumeClaim({ name: claimName, namespace }));
  const budgetMs = run.ctx.scaled(60_000);
  const outcome = await unlessTimeout(waitFor(
    async () => {
      const current = await kube('read PV', () => run.clients.core.readPersistentVolume({ name: pvName })).catch(() => undefined);
      if (policy === 'Delete') return current ? { done: false as const, observed: `PV ${pvName} ${current.status?.phase}` } : { done: true as const, value: 'deleted' };
      return current?.status?.phase === 'Released' ? { done: true as const, value: 'Released (kept)' } : { done: false as const, observed: `PV ${pvName} ${current?.status?.phase ?? 'gone'}` };
    },
    { what: `PV ${pvName} reclaimed (${policy})`, budgetMs, pollMs: 2_000, signal: run.ctx.signal },
  ), (error) => error);
  return outcome instanceof Error ? fail(describeError(outcome), { pv: pvName, policy }) : pass({ pv: pvName, policy, result: outcome });
}

/**
 * The negative control's volume: a local PersistentVolume on `nodeName`
 * (directory made through the node's shell), a claim bound to it, no replication.
 */
export async function prepareLocalVolume(run: SuiteRun, namespace: string, nodeName: string): Promise<VolumeUnderTest> {
  const node = run.cluster.nodes.find((n) => n.name === nodeName);
  if (!node?.machine) throw new Error(`node ${nodeName} has no machine handle to create the local volume directory`);
  const hostname = (await kube('read node', () => run.clients.core.readNode({ name: nodeName }))).metadata?.labels?.['kubernetes.io/hostname'] ?? nodeName;
  const name = runNamespace(run.ctx, 'local');
  const path = `/var/lib/edgeproof/volumes/${name}`;
  await node.machine.exec(`mkdir -p ${shellQuote(path)}`, { timeoutMs: run.ctx.scaled(30_000) });
  await kube('create storage class', () => run.clients.storage.createStorageClass({ body: localStorageClass(name) }));
  run.ctx.scope.defer(`StorageClass ${name}`, () => kube('delete storage class', () => run.clients.storage.deleteStorageClass({ name })).then(() => undefined, () => undefined));
  await kube('create PV', () => run.clients.core.createPersistentVolume({ body: localPersistentVolume(name, name, path, hostname) }));
  run.ctx.scope.defer(`PersistentVolume ${name}`, () => kube('delete PV', () => run.clients.core.deletePersistentVolume({ name })).then(() => undefined, () => undefined));
  await kube('create claim', () => run.clients.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('ep-local', name) }));
  return { claim: 'ep-local', storageClass: name, backend: localBackend, wantedReplicas: 1 };
}

