/**
 * A run's credentials live only as long as the run: the real writers (the
 * run's SSH key, a cluster's kubeconfig) put them 0600 in a 0700 directory
 * outside the run dir, and they are gone after the run ends, after a process
 * that exits without disposing, and after `edgeproof clean` sweeps a run
 * killed with SIGKILL (real processes, real signals, the real CLI).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { RunContext } from '../core/context.js';
import { projectRoot } from '../core/paths.js';
import { PlannedCluster } from '../distros/planned-cluster.js';
import { runSshKey } from '../emulation/guest/ssh-key.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
const child = fileURLToPath(new URL('./test-fixtures/secrets-child.ts', import.meta.url));

let root: string;
let cacheDir: string;
let runDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeproof-secrets-test-'));
  cacheDir = join(root, 'cache');
  runDir = join(root, 'reports', '20261124-063500-a1b2');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Every regular file under `dir` whose content holds `text`. */
function filesHolding(dir: string, text: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(dir, entry))
    .filter((path) => statSync(path).isFile() && readFileSync(path, 'utf8').includes(text));
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** A cluster handle of a planned distribution, as the K3s/MicroK8s/minikube drivers make it. */
function plannedCluster(ctx: RunContext, token: string): PlannedCluster {
  return new PlannedCluster(ctx, {
    distro: 'k3s',
    version: 'v1.30.0+k3s1',
    topology: { controlPlanes: 1, workers: 0 },
    nodes: [],
    kubeconfig: {
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443' } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    },
    workloadImage: 'busybox',
    milestones: {},
    footprint: () => ({ processNames: [], cgroupPaths: [], definition: '' }),
    logUnits: [],
  });
}

function startChild(behaviour: 'waits' | 'exits'): ResultPromise {
  return execa(process.execPath, ['--import', 'tsx', child, cacheDir, runDir, behaviour], { reject: false, cwd: projectRoot() });
}

function ready(proc: ResultPromise): Promise<void> {
  return new Promise((resolve) => proc.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
}

describe("a run's credentials", () => {
  test('are 0600 in one 0700 directory outside the run dir while the run lives, and gone when it ends', async () => {
    const ctx = new RunContext({ runDir, cacheDir, progress: false });
    const token = `token-${randomBytes(8).toString('hex')}`;
    runSshKey(ctx);
    const cluster = plannedCluster(ctx, token);

    const [key] = filesHolding(root, 'PRIVATE KEY');
    expect(filesHolding(root, token)).toEqual([cluster.kubeconfigPath]);
    expect(dirname(key!)).toBe(dirname(cluster.kubeconfigPath));
    expect(filesHolding(runDir, 'PRIVATE KEY')).toEqual([]);
    expect(filesHolding(runDir, token)).toEqual([]);
    expect([mode(key!), mode(cluster.kubeconfigPath), mode(dirname(key!))]).toEqual([0o600, 0o600, 0o700]);

    await ctx.dispose();

    expect(filesHolding(root, 'PRIVATE KEY')).toEqual([]);
    expect(filesHolding(root, token)).toEqual([]);
  });

  test('are removed even when the teardown fails (the failed resources are left to the sweep)', async () => {
    const ctx = new RunContext({ runDir, cacheDir, progress: false });
    runSshKey(ctx);
    ctx.scope.defer('a machine that will not stop', () => {
      throw new Error('still running');
    });

    await expect(ctx.dispose()).rejects.toThrow(/still running/);

    expect(filesHolding(root, 'PRIVATE KEY')).toEqual([]);
  });

  test('are gone when the process exits at once without disposing (a second Ctrl-C)', async () => {
    const result = await startChild('exits');
    expect(result.exitCode).toBe(130);
    expect(filesHolding(root, 'PRIVATE KEY')).toEqual([]);
  }, 60_000);

  test('of a run killed with SIGKILL are removed by `edgeproof clean`', async () => {
    const proc = startChild('waits');
    await ready(proc);
    expect(filesHolding(root, 'PRIVATE KEY')).toHaveLength(1);
    proc.kill('SIGKILL');
    expect((await proc).signal).toBe('SIGKILL');
    expect(filesHolding(root, 'PRIVATE KEY')).toHaveLength(1);

    const { EDGEPROOF_REAPER: _reaper, ...env } = process.env;
    const clean = await execa(process.execPath, [bin, 'clean', '--cache-dir', cacheDir, '--reports-dir', join(root, 'reports')], { reject: false, env, extendEnv: false });

    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('Stale sessions swept: 20');
    expect(filesHolding(root, 'PRIVATE KEY')).toEqual([]);
  }, 60_000);
});
