/**
 * The `existing` backend: any cluster a kubeconfig and context reach. No
 * machines: nodes have no handle, so checks that need one (footprint, faults)
 * become not applicable with the reason. edgeproof only creates and deletes
 * its own namespaces there. The user's kubeconfig is read where it is, never
 * copied: the harness keeps the context it uses in memory, and tools on the
 * host get the file's path and the context's name.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CoreV1Api, KubeConfig, VersionApi, type V1Node } from '@kubernetes/client-node';
import type { RunContext } from '../../core/context.js';
import { EdgeproofError, KubeApiError, PrerequisiteMissingError, UsageError } from '../../core/errors.js';
import type { ApiEndpoint, ClusterNode, FootprintTargets, NodeRole, StartedCluster, Topology } from '../../cluster/distribution.js';
import { fileReferences, inlineFiles, minify, parseKubeconfig, serverOf, withServer, type KubeconfigDocument } from '../../cluster/kubeconfig.js';
import { WORKLOAD_IMAGE } from '../upstream/artifacts.js';

export interface ExistingClusterOptions {
  kubeconfigPath: string;
  /** Default: the file's current-context. */
  context?: string;
  /** An image present on (or pullable by) every node, serving HTTP like edgeproof's busybox. */
  workloadImage?: string;
}

/**
 * Validates --kubeconfig and --context before anything starts: the file
 * exists, parses, names the context, its certificate files exist. Returns a
 * self-contained kubeconfig (one context, files inlined).
 */
export function loadExistingKubeconfig(path: string, context?: string): KubeconfigDocument {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new UsageError(`--kubeconfig ${path} does not exist`, 'pass the path of a kubeconfig file (e.g. ~/.kube/config)');
  }
  try {
    const doc = minify(parseKubeconfig(readFileSync(absolute, 'utf8'), `--kubeconfig ${path}`), `--kubeconfig ${path}`, context);
    const files: Record<string, Buffer> = {};
    for (const ref of fileReferences(doc)) {
      // kubectl resolves relative paths against the kubeconfig's directory.
      const file = isAbsolute(ref) ? ref : join(dirname(absolute), ref);
      if (!existsSync(file)) throw new UsageError(`--kubeconfig ${path} refers to ${ref}, which does not exist`, 'fix the path in the kubeconfig, or embed the data (kubectl config view --flatten)');
      files[ref] = readFileSync(file);
    }
    return inlineFiles(doc, files);
  } catch (error) {
    if (error instanceof EdgeproofError && error.code === 'INPUT') throw new UsageError(error.message, error.hint);
    throw error;
  }
}

const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

export function roleOf(node: V1Node): NodeRole {
  const labels = node.metadata?.labels ?? {};
  return CONTROL_PLANE_LABELS.some((label) => label in labels) ? 'control-plane' : 'worker';
}

/** What the cluster is, from what it says about itself (version string, node labels). */
export function detectDistribution(gitVersion: string, nodes: V1Node[]): string {
  const labels = nodes.flatMap((n) => Object.keys(n.metadata?.labels ?? {}));
  if (/\+k3s\d+/.test(gitVersion)) return 'k3s';
  if (labels.some((l) => l.startsWith('microk8s.io/'))) return 'microk8s';
  if (labels.some((l) => l.startsWith('minikube.k8s.io/'))) return 'minikube';
  return 'existing';
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new KubeApiError(operation, typeof code === 'number' ? code : undefined, error instanceof Error ? error.message.split('\n')[0]! : String(error), { cause: error });
  }
}

/** What the cluster said about itself when it was reached. */
export interface ExistingClusterInfo {
  distro: string;
  version: string;
  nodes: ClusterNode[];
  topology: Topology;
  workloadImage: string;
}

export class ExistingCluster implements StartedCluster {
  readonly milestones: Record<string, number> = {};
  readonly kubeconfigPath: string;
  readonly kubeContext?: string;
  readonly distro: string;
  readonly version: string;
  readonly nodes: ClusterNode[];
  readonly topology: Topology;
  readonly workloadImage: string;
  /** The validated context (files inlined), in memory only. */
  readonly #kubeconfig: KubeconfigDocument;

  /** `kubeconfig`: the context `--context` chose (else the current one) of the file at `kubeconfigPath`, as loadExistingKubeconfig returns it. */
  constructor(kubeconfigPath: string, kubeconfig: KubeconfigDocument, info: ExistingClusterInfo, context?: string) {
    this.kubeconfigPath = resolve(kubeconfigPath);
    if (context) this.kubeContext = context;
    this.#kubeconfig = kubeconfig;
    ({ distro: this.distro, version: this.version, nodes: this.nodes, topology: this.topology, workloadImage: this.workloadImage } = info);
  }

  kubeConfig(endpoint?: ApiEndpoint): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(JSON.stringify(endpoint ? withServer(this.#kubeconfig, endpoint.url) : this.#kubeconfig));
    return kc;
  }

  /** The one apiserver address the kubeconfig names (the cluster's own HA front end, where it has one). */
  apiEndpoints(): ApiEndpoint[] {
    return [{ node: 'apiserver', url: serverOf(this.#kubeconfig)! }];
  }

  footprintTargets(node: ClusterNode): FootprintTargets {
    throw new PrerequisiteMissingError(`a shell on node ${node.name}`, 'the existing backend has no node access: footprint needs the qemu, ssh or container backend');
  }

  /** Nothing to tear down: the cluster is not edgeproof's. */
  async dispose(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Reaches the cluster, lists its nodes and version; an unreachable apiserver fails here, before any suite. */
export async function openExistingCluster(ctx: RunContext, options: ExistingClusterOptions): Promise<StartedCluster> {
  const doc = loadExistingKubeconfig(options.kubeconfigPath, options.context);
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(doc));
  const [version, nodeList] = await ctx.phase('reach the existing cluster', ctx.scaled(30_000), () =>
    Promise.all([call('GET /version', () => kc.makeApiClient(VersionApi).getCode()), call('list nodes', () => kc.makeApiClient(CoreV1Api).listNode())]),
  );
  const nodes: ClusterNode[] = nodeList.items.map((node) => ({ name: node.metadata!.name!, role: roleOf(node) }));
  if (nodes.length === 0) throw new EdgeproofError('KUBE_API', `the cluster of context "${doc['current-context']}" has no nodes`);
  const topology: Topology = { controlPlanes: nodes.filter((n) => n.role === 'control-plane').length, workers: nodes.filter((n) => n.role === 'worker').length };
  const distro = detectDistribution(version.gitVersion, nodeList.items);
  ctx.progress.info(`existing cluster: ${distro} ${version.gitVersion}, ${nodes.length} node(s), context ${doc['current-context']}`);
  const info = { distro, version: version.gitVersion, nodes, topology, workloadImage: options.workloadImage ?? WORKLOAD_IMAGE };
  return new ExistingCluster(options.kubeconfigPath, doc, info, options.context);
}
