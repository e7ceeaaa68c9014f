import type { KubeConfig } from '@kubernetes/client-node';
import { PeriodicProbe } from '../bench/availability.js';
import { apiRequest } from '../cluster/kube-access.js';
import type { ApiEndpoint, ClusterNode, StartedCluster } from '../cluster/distribution.js';
import { MANAGED_BY } from './workloads.js';

/** The cluster through every control plane: raw requests with hard timeouts, the first live endpoint wins. */
export class ClusterAccess {
  readonly endpoints: { endpoint: ApiEndpoint; kc: KubeConfig }[];
  #preferred = 0;

  constructor(
    readonly cluster: StartedCluster,
    readonly timeoutMs: number,
  ) {
    this.endpoints = cluster.apiEndpoints().map((endpoint) => ({ endpoint, kc: cluster.kubeConfig(endpoint) }));
  }

  /**
   * A request through any live endpoint: the last one that answered first,
   * then the others. `accept` says which statuses count as an answer.
   */
  async request(method: string, path: string, body?: unknown, accept: (status: number) => boolean = (s) => s < 300): Promise<{ status: number; body: string; via: string }> {
    const errors: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.#preferred + i) % this.endpoints.length;
      const { endpoint, kc } = this.endpoints[index]!;
      try {
        const answer = await apiRequest(kc, method, path, { body, timeoutMs: this.timeoutMs });
        if (accept(answer.status)) {
          this.#preferred = index;
          return { ...answer, via: endpoint.node };
        }
        errors.push(`${endpoint.node}: HTTP ${answer.status} ${answer.body.slice(0, 120)}`);
      } catch (error) {
        errors.push(`${endpoint.node}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no control plane answered ${method} ${path}: ${errors.join('; ')}`);
  }

  async getJson<T>(path: string): Promise<T> {
    return JSON.parse((await this.request('GET', path)).body) as T;
  }

  /** A GET through one given endpoint only (to compare what each control plane serves). */
  async getJsonVia<T>(index: number, path: string): Promise<T> {
    const { endpoint, kc } = this.endpoints[index]!;
    const answer = await apiRequest(kc, 'GET', path, { timeoutMs: this.timeoutMs });
    if (answer.status !== 200) throw new Error(`${endpoint.node}: GET ${path}: HTTP ${answer.status} ${answer.body.slice(0, 120)}`);
    return JSON.parse(answer.body) as T;
  }
}

/** `/readyz` through one endpoint, once per interval. */
export function readyzProbe(access: ClusterAccess, index: number, intervalMs: number): PeriodicProbe {
  const { endpoint, kc } = access.endpoints[index]!;
  return new PeriodicProbe(`readyz ${endpoint.node}`, intervalMs, async () => {
    const answer = await apiRequest(kc, 'GET', '/readyz', { timeoutMs: access.timeoutMs });
    return { ok: answer.status === 200, detail: `HTTP ${answer.status}` };
  });
}

/**
 * Acknowledged writes: each tick creates one ConfigMap, through any live
 * endpoint, retried on the next endpoint under the same name (409 means an
 * earlier, unacknowledged attempt did land: it counts). Every acknowledged
 * name must be present afterwards.
 */
export class WriteProbe {
  /** `t`: when the attempt started; `ackedAt`: when the apiserver acknowledged it. */
  readonly acknowledged: { name: string; t: number; ackedAt: number; via: string }[] = [];
  readonly probe: PeriodicProbe;
  #sequence = 0;

  constructor(
    private readonly access: ClusterAccess,
    readonly namespace: string,
    readonly label: string,
    intervalMs: number,
  ) {
    this.probe = new PeriodicProbe('writes', intervalMs, () => this.#write());
  }

  async #write(): Promise<{ ok: boolean; detail?: string }> {
    const name = `${this.label}-${String(this.#sequence++).padStart(5, '0')}`;
    const t = Date.now();
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { ...MANAGED_BY, 'edgeproof.dev/write-probe': this.label } }, data: { t: String(t) } };
    const answer = await this.access.request('POST', `/api/v1/namespaces/${this.namespace}/configmaps`, body, (s) => s === 201 || s === 409);
    this.acknowledged.push({ name, t, ackedAt: Date.now(), via: answer.via });
    return { ok: true, detail: `via ${answer.via}` };
  }

  /** Acknowledged writes that are not in the cluster now (read through a live endpoint). */
  async lost(): Promise<string[]> {
    const list = await this.access.getJson<{ items: { metadata: { name: string } }[] }>(
      `/api/v1/namespaces/${this.namespace}/configmaps?labelSelector=${encodeURIComponent(`edgeproof.dev/write-probe=${this.label}`)}`,
    );
    const present = new Set(list.items.map((i) => i.metadata.name));
    return this.acknowledged.map((a) => a.name).filter((name) => !present.has(name));
  }
}

/** HTTP through a Service's ClusterIP from a node's own shell (bash /dev/tcp: the node image has no curl). */
export function serviceProbe(node: ClusterNode, clusterIp: string, intervalMs: number, timeoutS: number): PeriodicProbe {
  const machine = node.machine!;
  const script = `timeout ${timeoutS} bash -c 'exec 3<>/dev/tcp/${clusterIp}/80 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`;
  return new PeriodicProbe(`service from ${node.name}`, intervalMs, async () => {
    const result = await machine.exec(script, { check: false, timeoutMs: (timeoutS + 5) * 1000 });
    const ok = result.exitCode === 0 && result.stdout.includes('edgeproof-marker');
    return { ok, detail: ok ? (/edgeproof-marker (\S+)/.exec(result.stdout)?.[1] ?? '') : `exit ${result.exitCode} ${result.stderr.trim().slice(0, 80)}` };
  });
}
