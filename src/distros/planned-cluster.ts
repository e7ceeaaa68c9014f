/**
 * What the MicroK8s, K3s and minikube drivers share once their plans have
 * run: role assignment, the wait for nodes Ready through the API, and the
 * started-cluster handle (kubeconfig 0600, footprint targets per node, logs
 * exported before teardown).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { RunContext } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { once } from '../core/scope.js';
import { waitFor } from '../core/wait.js';
import { shellQuote, type Machine } from '../emulation/machine.js';
import type { AddonRequest, ApiEndpoint, ClusterNode, FootprintTargets, NodeRole, StartedCluster, Topology } from '../cluster/distribution.js';
import { kubeConfigWithServer, kubeconfigServer } from '../cluster/kube-access.js';
import { redact } from './plan.js';
import { writeKubeconfig, type KubeconfigDocument } from '../cluster/kubeconfig.js';

const log = logger('distros');

export interface RoleAssignment {
  machine: Machine;
  role: NodeRole;
}

/** The first `controlPlanes` machines are control planes, the rest workers; the counts must match. */
export function assignRoles(distribution: string, machines: Machine[], topology: Topology): RoleAssignment[] {
  const wanted = topology.controlPlanes + topology.workers;
  if (topology.controlPlanes < 1) throw new UsageError(`${distribution} needs at least one control-plane node`);
  if (machines.length !== wanted) {
    throw new UsageError(`${distribution}: topology ${topology.controlPlanes}+${topology.workers} needs ${wanted} machines, ${machines.length} given`);
  }
  return machines.map((machine, i) => ({ machine, role: i < topology.controlPlanes ? 'control-plane' : 'worker' }));
}

/** A random hexadecimal secret (join tokens). */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

/** Waits until exactly `names` are registered and Ready; the timeout says which were not. */
export async function waitNodesReady(kc: KubeConfig, names: string[], budgetMs: number, signal?: AbortSignal): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  await waitFor(
    async () => {
      const list = await api.listNode();
      const ready = new Set(list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata?.name ?? ''));
      const missing = names.filter((name) => !ready.has(name));
      if (missing.length === 0) return { done: true, value: undefined };
      const registered = list.items.map((n) => n.metadata?.name).join(', ') || '(none)';
      return { done: false, observed: `not Ready: ${missing.join(', ')}; registered: ${registered}` };
    },
    { what: `nodes ${names.join(', ')} Ready`, budgetMs, pollMs: 2_000, ...(signal ? { signal } : {}) },
  );
}

export interface PlannedClusterSpec {
  distro: string;
  version: string;
  topology: Topology;
  nodes: ClusterNode[];
  kubeconfig: KubeconfigDocument;
  workloadImage: string;
  milestones: Record<string, number>;
  footprint: (node: ClusterNode) => FootprintTargets;
  /** systemd units whose journal is exported before teardown. */
  logUnits: string[];
  /** Values redacted from exported logs (join tokens). */
  secrets?: string[];
  enableAddon?: (addon: AddonRequest) => Promise<void>;
}

export class PlannedCluster implements StartedCluster {
  readonly distro: string;
  readonly version: string;
  readonly topology: Topology;
  readonly nodes: ClusterNode[];
  readonly kubeconfigPath: string;
  readonly workloadImage: string;
  readonly milestones: Record<string, number>;
  readonly enableAddon?: (addon: AddonRequest) => Promise<void>;

  constructor(
    private readonly ctx: RunContext,
    private readonly spec: PlannedClusterSpec,
  ) {
    this.distro = spec.distro;
    this.version = spec.version;
    this.topology = spec.topology;
    this.nodes = spec.nodes;
    this.workloadImage = spec.workloadImage;
    this.milestones = spec.milestones;
    if (spec.enableAddon) this.enableAddon = spec.enableAddon;
    this.kubeconfigPath = join(ctx.secretsDir(), 'kubeconfig');
    writeKubeconfig(this.kubeconfigPath, spec.kubeconfig);
  }

  kubeConfig(endpoint?: ApiEndpoint): KubeConfig {
    return kubeConfigWithServer(this.kubeconfigPath, endpoint?.url ?? kubeconfigServer(this.kubeconfigPath));
  }

  /** The one apiserver address the kubeconfig names (the cluster's own HA front end, where it has one). */
  apiEndpoints(): ApiEndpoint[] {
    return [{ node: 'apiserver', url: kubeconfigServer(this.kubeconfigPath) }];
  }

  footprintTargets(node: ClusterNode): FootprintTargets {
    return this.spec.footprint(node);
  }

  /** The units' journals (last 1000 lines each), per node, into machines/<name>/logs. */
  async collectLogs(): Promise<void> {
    const units = this.spec.logUnits.map((u) => `-u ${shellQuote(u)}`).join(' ');
    for (const node of this.nodes) {
      if (!node.machine) continue;
      const result = await node.machine.exec(`journalctl --no-pager -n 1000 ${units} 2>&1`, { check: false, timeoutMs: this.ctx.scaled(30_000) });
      const dir = join(this.ctx.runDir, 'machines', node.name, 'logs');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'journal.txt'), redact(result.stdout, this.spec.secrets));
    }
  }

  dispose = once(async () => {
    await this.collectLogs().catch((error: Error) => log('log collection failed: %s', error.message));
  });

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Registers the cluster for teardown, then waits until its nodes are Ready through the API. */
export async function startPlannedCluster(ctx: RunContext, spec: PlannedClusterSpec, startedAt: number): Promise<PlannedCluster> {
  const cluster = new PlannedCluster(ctx, spec);
  ctx.scope.defer(`${spec.distro} cluster`, () => cluster.dispose());
  const budgetMs = ctx.scaled(300_000);
  await ctx.phase('nodes Ready', budgetMs + 15_000, (signal) => waitNodesReady(cluster.kubeConfig(), spec.nodes.map((n) => n.name), budgetMs, signal));
  spec.milestones.nodeReady = Date.now() - startedAt;
  return cluster;
}
