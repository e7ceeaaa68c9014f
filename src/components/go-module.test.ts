import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { localReplaces, parseGoMod, renderGoMod } from './go-module.js';

const fixture = (name: string) => readFileSync(new URL(`./test-fixtures/${name}`, import.meta.url), 'utf8');

describe('localReplaces (the go.mod files of the pinned modules, as the proxy serves them)', () => {
  it('k8s.io/kubernetes v1.35.4: the 29 of its 31 staging modules it requires, each at v0.35.4', () => {
    const replaces = localReplaces(fixture('kubernetes-v1.35.4.go.mod'), 'v0.35.4');
    expect(replaces.size).toBe(29);
    // Replaced but required by nothing: repeating them would only add noise.
    expect(replaces.has('k8s.io/sample-controller')).toBe(false);
    expect(replaces.has('k8s.io/sample-cli-plugin')).toBe(false);
    expect(replaces.get('k8s.io/api')).toBe('v0.35.4');
    expect(replaces.get('k8s.io/client-go')).toBe('v0.35.4');
    expect([...replaces.keys()].every((module) => module.startsWith('k8s.io/'))).toBe(true);
    expect(new Set(replaces.values())).toEqual(new Set(['v0.35.4']));
  });

  it('etcd v3.6.8: its eight submodules', () => {
    const replaces = localReplaces(fixture('etcd-v3.6.8.go.mod'), 'v3.6.8');
    expect([...replaces.keys()]).toEqual([
      'go.etcd.io/etcd/api/v3',
      'go.etcd.io/etcd/client/pkg/v3',
      'go.etcd.io/etcd/client/v3',
      'go.etcd.io/etcd/etcdctl/v3',
      'go.etcd.io/etcd/etcdutl/v3',
      'go.etcd.io/etcd/pkg/v3',
      'go.etcd.io/etcd/server/v3',
      'go.etcd.io/etcd/tests/v3',
    ]);
  });

  it('etcdctl v3.6.8: its ../ siblings it requires, not the FORBIDDEN_DEPENDENCY guards', () => {
    const text = fixture('etcdctl-v3.6.8.go.mod');
    expect(text).toContain('go.etcd.io/etcd/v3 => ./FORBIDDEN_DEPENDENCY');
    expect([...localReplaces(text, 'v3.6.8').keys()]).toEqual(['go.etcd.io/etcd/api/v3', 'go.etcd.io/etcd/client/pkg/v3', 'go.etcd.io/etcd/client/v3', 'go.etcd.io/etcd/pkg/v3']);
  });

  it('reads single-line directives and ignores comments', () => {
    const mod = parseGoMod('module x\n\ngo 1.25.0\nrequire a.example/m v1.0.0 // indirect\nreplace a.example/m => ../m\n// replace b.example/n => ./n\n');
    expect(mod.goVersion).toBe('1.25.0');
    expect([...localReplaces('require a.example/m v1.0.0\nreplace a.example/m => ../m\nreplace b.example/n => ./n\n', 'v1.2.3')]).toEqual([['a.example/m', 'v1.2.3']]);
  });
});

describe('renderGoMod', () => {
  it('writes the project module: require, and a replace block only when there are replaces', () => {
    expect(renderGoMod({ module: 'edgeproof.local/build/runc', goVersion: '1.23.0', require: { module: 'github.com/opencontainers/runc', version: 'v1.3.7' }, replaces: new Map() })).toBe(
      'module edgeproof.local/build/runc\n\ngo 1.23.0\n\nrequire github.com/opencontainers/runc v1.3.7\n',
    );
    const replaces = new Map([['k8s.io/api', 'v0.35.4'], ['k8s.io/client-go', 'v0.35.4']]);
    expect(renderGoMod({ module: 'edgeproof.local/build/kubernetes', goVersion: '1.25.0', require: { module: 'k8s.io/kubernetes', version: 'v1.35.4' }, replaces })).toBe(
      'module edgeproof.local/build/kubernetes\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes v1.35.4\n\nreplace (\n\tk8s.io/api => k8s.io/api v0.35.4\n\tk8s.io/client-go => k8s.io/client-go v0.35.4\n)\n',
    );
  });
});
