import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunContext } from '../../core/context.js';
import { KubeApiError, UsageError } from '../../core/errors.js';
import { ExistingCluster, detectDistribution, loadExistingKubeconfig, openExistingCluster, roleOf } from './existing-cluster.js';

const kubeconfig = (server: string, extra = '') => `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: ${server}
    certificate-authority: certs/ca.crt
contexts:
- name: lab
  context: { cluster: lab, user: admin }
- name: broken
  context: { cluster: nowhere, user: admin }
current-context: lab
users:
- name: admin
  user:
    token: not-a-real-token
${extra}`;

const node = (name: string, labels: Record<string, string>): V1Node => ({ metadata: { name, labels } });

describe('existing backend: --kubeconfig and --context', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-existing-'));
    rmSync(join(dir, 'certs'), { recursive: true, force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a missing file, a non-kubeconfig, an unknown context and a missing certificate file, all before starting', () => {
    expect(() => loadExistingKubeconfig(join(dir, 'absent'))).toThrow(UsageError);
    writeFileSync(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\n');
    expect(() => loadExistingKubeconfig(join(dir, 'pod.yaml'))).toThrow(/is not a kubeconfig/);
    writeFileSync(join(dir, 'kc'), kubeconfig('https://10.0.0.1:6443'));
    expect(() => loadExistingKubeconfig(join(dir, 'kc'), 'prod')).toThrow(expect.objectContaining({ code: 'USAGE', message: `--kubeconfig ${join(dir, 'kc')} has no context "prod"`, hint: 'contexts in the file: lab, broken' }));
    expect(() => loadExistingKubeconfig(join(dir, 'kc'), 'broken')).toThrow(/names cluster "nowhere"/);
    expect(() => loadExistingKubeconfig(join(dir, 'kc'))).toThrow(/refers to certs\/ca\.crt, which does not exist/);
  });

  it('inlines certificate files relative to the kubeconfig, keeping one context', () => {
    const certs = join(dir, 'certs');
    rmSync(certs, { recursive: true, force: true });
    mkdirSync(certs);
    writeFileSync(join(certs, 'ca.crt'), 'pem');
    writeFileSync(join(dir, 'kc'), kubeconfig('https://10.0.0.1:6443'));
    const doc = loadExistingKubeconfig(join(dir, 'kc'));
    expect(doc.contexts.map((c) => c.name)).toEqual(['lab']);
    expect(doc.clusters[0]!.cluster['certificate-authority-data']).toBe(Buffer.from('pem').toString('base64'));
  });

  it('fails fast, naming the call, when the apiserver does not answer', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    writeFileSync(join(dir, 'down'), kubeconfig(`https://127.0.0.1:${port}`).replace('    certificate-authority: certs/ca.crt\n', '    insecure-skip-tls-verify: true\n'));
    const ctx = new RunContext({ runDir: join(dir, 'run'), cacheDir: join(dir, 'cache'), progress: false });
    try {
      await expect(openExistingCluster(ctx, { kubeconfigPath: join(dir, 'down') })).rejects.toThrow(KubeApiError);
      await expect(openExistingCluster(ctx, { kubeconfigPath: join(dir, 'down') })).rejects.toThrow(/ECONNREFUSED|connect/);
    } finally {
      await ctx.dispose();
    }
  });
});

describe("existing backend: the user's kubeconfig is read where it is", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-existing-handle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is never copied: the handle names the file and the chosen context, and keeps that context in memory', () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, 'certs'), { recursive: true });
    writeFileSync(join(home, 'certs', 'ca.crt'), 'pem');
    const token = 'token-of-the-users-real-cluster';
    const file = join(home, 'config');
    writeFileSync(file, kubeconfig('https://10.0.0.1:6443').replace('not-a-real-token', token).replace('- name: broken\n  context: { cluster: nowhere, user: admin }', '- name: other\n  context: { cluster: lab, user: admin }').replace('current-context: lab', 'current-context: other'));
    const info = { distro: 'existing', version: 'v1.32.0', nodes: [{ name: 'n1', role: 'control-plane' as const }], topology: { controlPlanes: 1, workers: 0 }, workloadImage: 'busybox' };

    const cluster = new ExistingCluster(file, loadExistingKubeconfig(file, 'lab'), info, 'lab');

    const holding = readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((entry) => join(dir, entry)).filter((path) => statSync(path).isFile() && readFileSync(path, 'utf8').includes(token));
    expect(holding).toEqual([file]);
    expect([cluster.kubeconfigPath, cluster.kubeContext]).toEqual([file, 'lab']);
    expect(cluster.kubeConfig().getCurrentContext()).toBe('lab');
    expect(cluster.kubeConfig().getCurrentUser()?.token).toBe(token);
    expect(cluster.apiEndpoints()).toEqual([{ node: 'apiserver', url: 'https://10.0.0.1:6443' }]);
    expect(cluster.kubeConfig({ node: 'apiserver', url: 'https://127.0.0.1:7443' }).getCurrentCluster()?.server).toBe('https://127.0.0.1:7443');
    expect(new ExistingCluster(file, loadExistingKubeconfig(file), info).kubeContext).toBeUndefined();
  });
});

describe('existing backend: what the cluster says about itself', () => {
  it('reads roles from the node-role labels', () => {
    expect(roleOf(node('a', { 'node-role.kubernetes.io/control-plane': '' }))).toBe('control-plane');
    expect(roleOf(node('b', { 'node-role.kubernetes.io/master': 'true' }))).toBe('control-plane');
    expect(roleOf(node('c', { 'kubernetes.io/hostname': 'c' }))).toBe('worker');
  });

  it('recognises K3s, MicroK8s and minikube, else calls it existing', () => {
    expect(detectDistribution('v1.32.5+k3s1', [])).toBe('k3s');
    expect(detectDistribution('v1.32.3', [node('pi', { 'microk8s.io/cluster': 'true' })])).toBe('microk8s');
    expect(detectDistribution('v1.33.1', [node('minikube', { 'minikube.k8s.io/name': 'minikube' })])).toBe('minikube');
    expect(detectDistribution('v1.20.2', [node('ep-1-cp-0', {})])).toBe('existing');
  });
});
