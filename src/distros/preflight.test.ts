import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallSourceUnreachableError, UsageError } from '../core/errors.js';
import { nodeProbeCommand, parseNodeProbe, probeUrl, requireReachable, resolveAirgapFiles } from '../cluster/install-source.js';
import { distributionByName } from './registry.js';

/** Resolves the host independently of the probe under test (the machine decides which branch is asserted). */
async function resolves(url: string): Promise<boolean> {
  const hostname = new URL(url).hostname;
  const attempt = lookup(hostname).then(() => true, () => false);
  return Promise.race([attempt, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000))]);
}

/** A TCP port that accepts connections and never answers: the "hang" case. */
function silentServer(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(() => undefined);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('install sources, probed for real before anything boots', () => {
  for (const name of ['k3s', 'microk8s', 'minikube'] as const) {
    it(`${name}: fails fast with the distribution, the step, the URL and --airgap when the source is unreachable`, async () => {
      const distro = distributionByName(name);
      const sources = {
        k3s: ['https://get.k3s.io', 'https://github.com/k3s-io/k3s/releases/download/v1.32.5%2Bk3s1/k3s-arm64'],
        microk8s: ['https://api.snapcraft.io'],
        minikube: ['https://storage.googleapis.com/minikube/releases/v1.36.0/minikube-linux-arm64', 'https://dl.k8s.io/'],
      }[name];
      const online = (await Promise.all(sources.map(resolves))).every(Boolean);
      const started = Date.now();
      const outcome = await distro.preflight!({ arch: 'arm64', probeTimeoutMs: 5_000 }).then(
        (report) => ({ report, error: undefined }),
        (error: unknown) => ({ report: undefined, error }),
      );
      const elapsedMs = Date.now() - started;
      expect(elapsedMs).toBeLessThan(12_000);
      if (online) {
        // A machine with internet: the same probes must pass.
        expect(outcome.error).toBeUndefined();
        expect(outcome.report?.source).toBe('online');
        return;
      }
      const error = outcome.error as InstallSourceUnreachableError;
      expect(error).toBeInstanceOf(InstallSourceUnreachableError);
      expect(error.code).toBe('INSTALL_SOURCE_UNREACHABLE');
      expect(error.distribution).toBe(name);
      expect(sources).toContain(error.source);
      expect(error.message).toContain(`${name}: step "${error.step}" needs ${error.source}`);
      expect(error.message).toMatch(/unreachable from this host \((cannot resolve|no answer|connection refused|E[A-Z]+)/);
      expect(error.hint).toContain('--airgap DIR');
    });
  }

  it('checks the version or channel for the arch before probing anything', async () => {
    await expect(distributionByName('microk8s', { channel: '1.24-strict/stable' }).preflight!({ arch: 'arm64' })).rejects.toThrow(UsageError);
    await expect(distributionByName('minikube', { version: 'v1.16.0', driver: 'docker' }).preflight!({ arch: 'arm64' })).rejects.toThrow(/no docker driver for arm64/);
  });

  it('a source that accepts and never answers is given up after the probe budget, not waited on', async () => {
    const { server, port } = await silentServer();
    try {
      const started = Date.now();
      const outcome = await probeUrl(`https://127.0.0.1:${port}/`, 400);
      expect(outcome).toEqual({ url: `https://127.0.0.1:${port}/`, ok: false, detail: 'no answer within 400 ms' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      server.close();
    }
  });

  it('a refused connection is unreachable, and the error names the first failing step in plan order', async () => {
    const port = await closedPort();
    const url = `https://127.0.0.1:${port}/k3s`;
    await expect(requireReachable('k3s', [{ step: 'download the binary', url }])).rejects.toThrow(
      `k3s: step "download the binary" needs ${url}, which is unreachable from this host (connection refused)`,
    );
  });
});

describe('the node-side probe (curl or wget on the node, run here through sh)', () => {
  it('reports each URL, and a refused one with curl\'s reason', async () => {
    const port = await closedPort();
    const url = `https://127.0.0.1:${port}/`;
    let output = '';
    try {
      output = execFileSync('sh', ['-c', nodeProbeCommand([url], 2)], { encoding: 'utf8', timeout: 10_000 });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? '');
    }
    const [outcome] = parseNodeProbe(output, [url]);
    expect(outcome).toMatchObject({ url, ok: false });
    expect(outcome!.detail).toMatch(/connect|refused|not found|curl|wget/i);
  });

  it('counts a URL without a probe line as unreachable', () => {
    expect(parseNodeProbe('@@probe ok https://a/\n', ['https://a/', 'https://b/'])).toEqual([
      { url: 'https://a/', ok: true, detail: 'reachable' },
      { url: 'https://b/', ok: false, detail: 'no probe result' },
    ]);
  });
});

describe('--airgap directories', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-airgap-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists what is missing with the command that fetches it', async () => {
    const k3s = distributionByName('k3s', { airgapDir: dir });
    const error = await k3s.preflight!({ arch: 'arm64' }).catch((e: unknown) => e as UsageError);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`--airgap ${dir} lacks what an offline k3s install needs: k3s-arm64 (k3s binary), k3s-airgap-images-arm64.tar.zst (air-gap images), install.sh (install script)`);
    expect((error as UsageError).hint).toContain('`edgeproof images --distro k3s --version v1.32.5+k3s1 --arch arm64` lists every file and image the run needs');
    expect((error as UsageError).hint).toContain('curl -Lo k3s-arm64 https://github.com/k3s-io/k3s/releases/download/v1.32.5%2Bk3s1/k3s-arm64');
  });

  it('needs no network once every file is there', async () => {
    for (const name of ['k3s-arm64', 'k3s-airgap-images-arm64.tar.zst', 'install.sh']) writeFileSync(join(dir, name), 'x');
    const report = await distributionByName('k3s', { airgapDir: dir }).preflight!({ arch: 'arm64' });
    expect(report).toEqual({ resolved: 'version v1.32.5+k3s1 for arm64', source: 'airgap', probed: [] });
    expect(resolveAirgapFiles('k3s', dir, [{ what: 'install script', name: 'install.sh', kind: 'installer', source: 'https://get.k3s.io', pattern: /^install\.sh$/, fetch: '' }])).toEqual({ 'install script': join(dir, 'install.sh') });
    expect(() => resolveAirgapFiles('k3s', join(dir, 'nope'), [])).toThrow(/is not a directory/);
  });
});

describe('the registry', () => {
  it('knows the four drivers and refuses options a driver cannot take', () => {
    expect(['upstream', 'microk8s', 'k3s', 'minikube'].map((n) => distributionByName(n).name)).toEqual(['upstream', 'microk8s', 'k3s', 'minikube']);
    expect(() => distributionByName('upstream', { version: '1.30' })).toThrow(/"1\.30" is not a Go module version for k8s\.io\/kubernetes/);
    expect(() => distributionByName('upstream', { channel: '1.32/stable' })).toThrow(/--channel applies to microk8s only/);
    expect(distributionByName('upstream', { airgapDir: '/tmp' }).name).toBe('upstream');
    expect(() => distributionByName('kind')).toThrow(/Unknown distribution "kind"/);
  });

  it('declares claims and requirements for reports and ssh hosts', () => {
    expect(['microk8s', 'k3s', 'minikube'].map((n) => distributionByName(n).claims.memoryMB)).toEqual([540, 512, 644]);
    expect(distributionByName('microk8s').requirements).toMatchObject({ systemd: true, snapd: true });
    expect(distributionByName('k3s').requirements).toMatchObject({ systemd: true, snapd: false });
    expect(distributionByName('upstream').requirements).toMatchObject({ systemd: false });
    expect(distributionByName('microk8s').guestImage!('arm64')).toMatchObject({ init: 'systemd', size: '8G' });
    expect(distributionByName('microk8s').guestPackages('arm64')).toEqual(expect.arrayContaining(['snapd', 'systemd', 'squashfs-tools']));
    expect(distributionByName('k3s').guestPackages('arm64')).not.toContain('snapd');
  });
});
