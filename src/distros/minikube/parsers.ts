/**
 * `minikube status -o json`: one object for a single node (kept for
 * backwards compatibility), an array for several (minikube's statusJSON).
 *   https://minikube.sigs.k8s.io/docs/commands/status/
 * Workers report APIServer and Kubeconfig as "Irrelevant".
 */
import { z } from 'zod';
import { EdgeproofError } from '../../core/errors.js';

const NodeStatus = z.object({
  Name: z.string(),
  Host: z.string(),
  Kubelet: z.string(),
  APIServer: z.string(),
  Kubeconfig: z.string(),
  Worker: z.boolean(),
});

export interface MinikubeNodeStatus {
  name: string;
  host: string;
  kubelet: string;
  apiServer: string;
  kubeconfig: string;
  worker: boolean;
  /** Host and kubelet running; on control planes also the apiserver, with the kubeconfig configured. */
  healthy: boolean;
}

export function parseMinikubeStatus(text: string): MinikubeNodeStatus[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text.trim());
  } catch {
    throw new EdgeproofError('INTERNAL', `minikube status -o json printed no JSON: ${text.trim().split('\n').at(-1)?.slice(0, 200) || '(nothing)'}`);
  }
  const parsed = (Array.isArray(raw) ? z.array(NodeStatus) : NodeStatus).safeParse(raw);
  if (!parsed.success) throw new EdgeproofError('INTERNAL', `minikube status -o json has an unexpected shape: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const list: z.infer<typeof NodeStatus>[] = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  return list.map((n) => ({
    name: n.Name,
    host: n.Host,
    kubelet: n.Kubelet,
    apiServer: n.APIServer,
    kubeconfig: n.Kubeconfig,
    worker: n.Worker,
    healthy: n.Host === 'Running' && n.Kubelet === 'Running' && (n.Worker || (n.APIServer === 'Running' && n.Kubeconfig === 'Configured')),
  }));
}
