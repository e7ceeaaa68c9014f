import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../src/core/context.js';
import { InterruptedError } from '../src/core/errors.js';
import { SshConnection } from '../src/emulation/guest/ssh-connection.js';
import { SnapshotStore } from '../src/emulation/qemu/machine-snapshot.js';
import type { ReadyCluster } from '../src/run/cluster-snapshots.js';
import { kubeClients } from '../src/cluster/kube-access.js';
import { runSmokeSuite } from '../src/suites/smoke.js';
import { createNamespace, deleteNamespace, runNamespace } from '../src/suites/suite-kit.js';
import { BOARD_TIMEOUT_SCALE, newRunContext, qemuProcesses, readyRpi4Cluster } from './fixtures.js';

/**
 * Ready clusters from snapshots, for real: a cold single-node rpi4 cluster is
 * saved, a later run restores it and passes the smoke suite, a restore that
 * fails for a passing reason keeps it, and a corrupted snapshot file is
 * found, deleted and rebuilt by a cold bring-up. The snapshots live in their
 * own dir, removed at the end.
 */
describe('ready clusters from snapshots (rpi4, 1 node)', () => {
  const snapshotsDir = mkdtempSync(join(tmpdir(), 'ep-test-snapshots-'));
  const store = new SnapshotStore(snapshotsDir, 2 ** 40);
  const contexts: RunContext[] = [];

  const bringUp = async (label: string): Promise<{ ctx: RunContext; ready: ReadyCluster }> => {
    // A loaded host (other QEMUs on 2 cores) may need a larger scale than TCG's default 8.
    const ctx = newRunContext(label, process.env.EDGEPROOF_TEST_TIMEOUT_SCALE ? Number(process.env.EDGEPROOF_TEST_TIMEOUT_SCALE) : BOARD_TIMEOUT_SCALE);
    contexts.push(ctx);
    return { ctx, ready: await readyRpi4Cluster(ctx, store) };
  };

  const disposeAll = async () => {
    for (const ctx of contexts.splice(0)) {
      await ctx.dispose();
      expect(qemuProcesses(ctx.runId)).toEqual([]);
      expect(existsSync(ctx.tempDir)).toBe(false);
    }
  };

  afterAll(async () => {
    await disposeAll();
    rmSync(snapshotsDir, { recursive: true, force: true });
  });

  let savedKey = '';
  let savedAt = '';

  it('a cold bring-up reaches Ready and saves a verified snapshot of it, its key kept 0600', async () => {
    const { ready } = await bringUp('snap-cold');
    expect(ready.origin).toMatchObject({ kind: 'cold', saved: true, reason: 'no snapshot yet' });
    const [entry] = store.list();
    expect(entry).toMatchObject({ complete: true, key: ready.origin.snapshotKey });
    expect(entry!.sizeBytes).toBeGreaterThan(100 * 2 ** 20);
    expect(statSync(join(entry!.dir, 'ssh_key')).mode & 0o777).toBe(0o600);
    const file = join(entry!.dir, `${ready.machines[0]!.name}.qcow2`);
    expect(execFileSync('qemu-img', ['snapshot', '-l', file], { encoding: 'utf8' })).toContain('edgeproof-ready');
    // The cluster keeps running after the save: the run goes on with it.
    expect(await ready.machines[0]!.status()).toBe('running');
    savedKey = entry!.key;
    savedAt = ready.origin.snapshotCreatedAt!;
    await disposeAll();
  });

  it('a later run restores it: Ready again, clock set, its own SSH key and admin certificate, the smoke suite passes, and the controllers still work two hours on', async () => {
    const { ctx, ready } = await bringUp('snap-restore');
    expect(ready.origin).toEqual({ kind: 'restored', snapshotKey: savedKey, snapshotCreatedAt: savedAt });
    const machine = ready.machines[0]!;
    expect(machine.boots.map((b) => b.cause)).toEqual(['restore']);
    const restoreReady = ctx.events.events.find((e) => e.type === 'measurement' && e.id === 'BOOT-0/restore-nodeReady') as { value: number } | undefined;
    expect(restoreReady?.value).toBeGreaterThan(0);

    const guestSeconds = Number((await machine.exec('date +%s')).stdout.trim());
    expect(Math.abs(guestSeconds - Date.now() / 1000)).toBeLessThan(30);

    // The snapshot's key no longer opens the guest; this run's does (the machine uses it).
    const snapshotKeyFile = readFileSync(join(store.dir(savedKey), 'ssh_key'), 'utf8');
    await expect(
      SshConnection.waitFor({ host: '127.0.0.1', port: machine.hostEndpoint(22).port, username: 'root', privateKey: snapshotKeyFile, where: machine.name }, 5_000, ctx.signal),
    ).rejects.toThrow();
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-in', join(ctx.secretsDir(), 'pki', 'admin.crt')], { encoding: 'utf8' });
    expect(subject).toContain(`edgeproof-admin-${ctx.runId}`);
    expect(statSync(ready.cluster.kubeconfigPath).mode & 0o777).toBe(0o600);

    await runSmokeSuite(ctx, ready.cluster);
    const checks = ctx.events.events.filter((e) => e.type === 'check') as { id: string; verdict: string; reason?: string }[];
    for (const id of ['BOOT-1', 'SMOKE-1', 'SMOKE-2', 'SMOKE-3']) {
      const check = checks.find((c) => c.id === id);
      expect(check, `${id}: ${check?.reason}`).toMatchObject({ verdict: 'pass' });
    }

    // No controller holds a credential the clock can expire (kubernetes#98885 in v1.20):
    // two hours forward, past any 1 h token, a new namespace still gets its service account.
    await machine.exec('date -s "@$(( $(date +%s) + 7200 ))"');
    const clients = kubeClients(ready.cluster.kubeConfig());
    const namespace = runNamespace(ctx, 'clock');
    await createNamespace(clients, namespace, ctx.scaled(60_000));
    await deleteNamespace(clients, namespace);
    await disposeAll();
  });

  it('a restore stopped while the machines resume (Ctrl-C: nothing proven against the snapshot) keeps it as it was', async () => {
    // The state is loaded and QEMU runs when the stop comes; a timed-out SSH wait is the same case (unit-tested, cluster-snapshots.test.ts).
    const ctx = newRunContext('snap-interrupted');
    contexts.push(ctx);
    ctx.events.onEvent((event) => {
      if (event.type === 'phase-start' && event.phase === 'resume machines') ctx.abort(new InterruptedError('SIGINT'));
    });
    await expect(readyRpi4Cluster(ctx, store)).rejects.toThrow();
    const ends = ctx.events.events.filter((e) => e.type === 'phase-end') as { phase: string; outcome: string }[];
    // QEMU had loaded the saved state; what came after it was stopped.
    expect(ends.find((e) => e.phase === 'restore machines')?.outcome).toBe('ok');
    expect(ends.filter((e) => e.outcome !== 'ok')).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'interrupted' })]));
    expect(ends.filter((e) => e.outcome === 'failed')).toEqual([]);
    expect(store.list()).toEqual([expect.objectContaining({ key: savedKey, createdAt: savedAt, complete: true })]);
    await disposeAll();
  });

  it('a corrupted snapshot file is detected on restore, deleted, and rebuilt by a cold bring-up; it is never started', async () => {
    const file = join(store.dir(savedKey), readdirSync(store.dir(savedKey)).find((name) => name.endsWith('.qcow2'))!);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xee), 0, 4096, Math.floor(statSync(file).size / 2));
    closeSync(fd);

    const { ctx, ready } = await bringUp('snap-corrupt');
    expect(ready.origin.kind).toBe('cold');
    expect(ready.origin.reason).toMatch(/does not match its checksum/);
    expect(ready.origin.saved).toBe(true);
    expect(ready.origin.snapshotCreatedAt).not.toBe(savedAt);
    const phases = ctx.events.events.filter((e) => e.type === 'phase-start').map((e) => (e as { phase: string }).phase);
    expect(phases).toContain('copy snapshot');
    expect(phases).not.toContain('restore machines');
    expect(store.list()).toHaveLength(1);
    await disposeAll();
  });
});
