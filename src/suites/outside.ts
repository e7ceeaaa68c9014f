import { request } from 'node:http';
import { Socket } from 'node:net';

/** An HTTP answer seen from the harness host: outside the cluster, as a user's client would be. */
export interface HostAnswer {
  status?: number;
  body: string;
  error?: string;
  elapsedMs: number;
}

/** GET http://address:port/path with a Host header, from the harness host; never throws. */
export function hostHttpGet(address: string, port: number, options: { path?: string; hostHeader?: string; timeoutMs: number }): Promise<HostAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: address, port, path: options.path ?? '/', method: 'GET', timeout: options.timeoutMs, headers: options.hostHeader ? { Host: options.hostHeader } : {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body.length < 2000 ? (body += chunk) : undefined));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim().slice(0, 500), elapsedMs: Date.now() - started }));
      res.on('error', (error) => resolve({ body, error: error.message, elapsedMs: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) => resolve({ body: '', error: error.message, elapsedMs: Date.now() - started }));
    req.end();
  });
}

/** True when the host can open a TCP connection to address:port within the timeout; the error otherwise. */
export function hostTcpReach(address: string, port: number, timeoutMs: number): Promise<{ reached: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (reached: boolean, error?: string) => {
      socket.destroy();
      resolve(error ? { reached, error } : { reached });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no TCP answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true));
    socket.once('error', (error) => done(false, error.message));
    socket.connect(port, address);
  });
}

/** The kubelet's port: every node listens on it, so it tells whether the host can route to the node network. */
export const KUBELET_PORT = 10250;

/**
 * Whether the harness host can reach the nodes' own addresses. On emulated
 * boards with user-mode networking it cannot (only forwarded ports), so
 * "from outside the cluster" checks are not applicable there, with this evidence.
 */
export async function hostReachesNodes(nodes: { name: string; internalIp?: string }[], timeoutMs: number): Promise<{ reachable: boolean; evidence: Record<string, string> }> {
  const evidence: Record<string, string> = {};
  let reachable = nodes.length > 0;
  for (const node of nodes) {
    if (!node.internalIp) {
      evidence[node.name] = 'no InternalIP';
      reachable = false;
      continue;
    }
    const reach = await hostTcpReach(node.internalIp, KUBELET_PORT, timeoutMs);
    evidence[node.name] = reach.reached ? `${node.internalIp}:${KUBELET_PORT} reachable` : `${node.internalIp}:${KUBELET_PORT}: ${reach.error}`;
    reachable &&= reach.reached;
  }
  return { reachable, evidence };
}
