import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../core/paths.js';
import { fileReferences, inlineFiles, minify, parseKubeconfig, serverOf, withServer } from './kubeconfig.js';

const minikubeConfig = () => parseKubeconfig(readFileSync(fixturePath('samples', 'minikube', 'kube-config.yaml'), 'utf8'), '~/.kube/config');

describe('kubeconfig handling', () => {
  it('keeps only the profile\'s context from a kubeconfig with several', () => {
    const doc = minify(minikubeConfig(), '~/.kube/config', 'ha-demo');
    expect(doc.contexts.map((c) => c.name)).toEqual(['ha-demo']);
    expect(doc.clusters.map((c) => c.name)).toEqual(['ha-demo']);
    expect(doc.users.map((u) => u.name)).toEqual(['ha-demo']);
    expect(doc['current-context']).toBe('ha-demo');
    expect(serverOf(doc)).toBe('https://192.168.49.254:8443');
  });

  it('inlines the certificate files minikube refers to, then points the server at the harness endpoint', () => {
    const doc = minify(minikubeConfig(), '~/.kube/config', 'ha-demo');
    expect(fileReferences(doc)).toEqual(['/root/.minikube/ca.crt', '/root/.minikube/profiles/ha-demo/client.crt', '/root/.minikube/profiles/ha-demo/client.key']);
    const files = Object.fromEntries(fileReferences(doc).map((p) => [p, Buffer.from(`pem of ${p}`)]));
    const flat = withServer(inlineFiles(doc, files), 'https://127.0.0.1:41234');
    expect(flat.clusters[0]!.cluster).toMatchObject({ 'certificate-authority-data': Buffer.from('pem of /root/.minikube/ca.crt').toString('base64'), server: 'https://127.0.0.1:41234' });
    expect(flat.clusters[0]!.cluster['certificate-authority']).toBeUndefined();
    expect(flat.users[0]!.user).toEqual({
      'client-certificate-data': Buffer.from('pem of /root/.minikube/profiles/ha-demo/client.crt').toString('base64'),
      'client-key-data': Buffer.from('pem of /root/.minikube/profiles/ha-demo/client.key').toString('base64'),
    });
    expect(() => inlineFiles(doc, {})).toThrow(/refers to \/root\/.minikube\/ca.crt/);
  });

  it('says which contexts exist when the asked one does not, and what is not a kubeconfig', () => {
    expect(() => minify(minikubeConfig(), 'kc', 'nope')).toThrow(expect.objectContaining({ message: 'kc has no context "nope"', hint: 'contexts in the file: ha-demo, other' }));
    expect(minify(minikubeConfig(), 'kc')['current-context']).toBe('other');
    expect(() => parseKubeconfig('a: [', 'kc')).toThrow(/kc is not valid YAML/);
    expect(() => parseKubeconfig('apiVersion: v1\nkind: Pod\n', 'kc')).toThrow(/not a kubeconfig/);
  });

  it('reads MicroK8s\' `microk8s config` output and rewrites its node-address server', () => {
    const doc = minify(parseKubeconfig(readFileSync(fixturePath('samples', 'microk8s', 'config.yaml'), 'utf8'), 'microk8s config'), 'microk8s config');
    expect(serverOf(doc)).toBe('https://10.10.10.11:16443');
    expect(serverOf(withServer(doc, 'https://127.0.0.1:40000'))).toBe('https://127.0.0.1:40000');
    expect(doc.users[0]!.name).toBe('admin');
  });
});
