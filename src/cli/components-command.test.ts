import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentsListing } from './components-command.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
let cacheDir: string;

beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'ep-components-cli-'));
});
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const edgeproof = (...args: string[]) => execa(process.execPath, [bin, ...args], { reject: false, cwd: '/tmp', env: { EDGEPROOF_REAPER: 'off' } });

describe('edgeproof components', () => {
  it('--json lists the upstream components with their module versions and, per arch, the cache state', async () => {
    const result = await edgeproof('components', '--json', '--cache-dir', cacheDir);
    expect(result.exitCode).toBe(0);
    const listing = JSON.parse(String(result.stdout)) as ComponentsListing;
    expect(listing.distro).toBe('upstream');
    expect(listing.components.map((c) => `${c.name} ${c.module}@${c.version}`)).toEqual([
      'kubernetes k8s.io/kubernetes@v1.35.4',
      'etcd go.etcd.io/etcd/v3@v3.6.8',
      'containerd github.com/containerd/containerd/v2@v2.2.10',
      'runc github.com/opencontainers/runc@v1.3.7',
      'cni-plugins github.com/containernetworking/plugins@v1.8.0',
    ]);
    expect(listing.components[0]!.binaries).toEqual(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy']);
    for (const component of listing.components) {
      expect(component.builds.map((b) => b.arch)).toEqual(['amd64', 'arm64']);
      // An empty cache: nothing built; never "unknown" on a host with the builder's Go and compilers.
      expect(component.builds.map((b) => b.state)).toEqual(['missing', 'missing']);
    }
    expect(listing.debian.map((d) => d.package)).toEqual(['iptables', 'conntrack', 'haproxy']);
    expect(listing.go.needed).toBe('1.25.0');
  });

  it('--arch limits the listing; the text form names each module@version', async () => {
    const result = await edgeproof('components', '--arch', 'arm64', '--cache-dir', cacheDir);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toMatch(/^ {2}kubernetes +k8s\.io\/kubernetes@v1\.35\.4 +arm64 +missing$/m);
    expect(String(result.stdout)).not.toContain('amd64');
  });

  it.each([
    [['--distro', 'k3s'], 'No component catalog for distribution "k3s"'],
    [['--arch', 'x86'], 'Unknown architecture "x86" for --arch'],
    [['--distro', 'upstrem'], 'Unknown distribution "upstrem" for --distro (did you mean "upstream"?)'],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await edgeproof('components', ...args, '--cache-dir', cacheDir);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain(message);
  });
});
