import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { bootId, pidNamespace } from '../core/session.js';

const bin = fileURLToPath(new URL('../../bin/edgeproof.js', import.meta.url));
const mountNamespacesWork = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'ep-run-sweep-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('edgeproof run and what killed runs left', () => {
  // The cache is a tmpfs 64 MiB above the disk preflight's 8 GiB, in a mount namespace of the run's own:
  // a killed run's 128 MiB overlay leaves less than 8 GiB free until it is swept.
  test.skipIf(!mountNamespacesWork)('a killed run\'s leftovers are swept before the disk preflight, so they cannot stop the next run', () => {
    const cache = join(base, 'cache');
    const stale = join(cache, 'tmp', 'killed-run');
    const seed = join(base, 'seed');
    mkdirSync(cache);
    mkdirSync(seed);
    const record = { id: 'killed-run', ownerPid: 2 ** 22 + 11, ownerStartTime: '1', bootId: bootId(), pidNamespace: pidNamespace(), startedAt: new Date().toISOString(), resources: { processes: [], tempDirs: [stale], containers: [], networks: [] } };
    writeFileSync(join(seed, 'killed-run.json'), JSON.stringify(record));
    const kubeconfig = join(base, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "https://127.0.0.1:1" }\ncontexts:\n- name: lab\n  context: { cluster: c, user: u }\ncurrent-context: lab\nusers:\n- name: u\n  user: { token: t }\n');
    const script = [
      'set -e',
      `mount -t tmpfs -o size=${8 * 1024 + 64}m edgeproof-test ${cache}`,
      `mkdir -p ${cache}/sessions ${stale}`,
      `cp ${seed}/killed-run.json ${cache}/sessions/ && : > ${cache}/sessions/killed-run.lock`,
      `head -c 128M /dev/zero > ${stale}/disk.qcow2`,
      `df -B1M --output=avail ${cache} | tail -1 | sed 's/^ */free before: /'`,
      'set +e',
      `"${process.execPath}" ${bin} run --backend existing --kubeconfig ${kubeconfig} --suite smoke --cache-dir ${cache} --reports-dir ${join(base, 'reports')} 2>&1`,
      'echo "exit $?"',
      `ls -A ${cache}/tmp ${cache}/sessions`,
    ].join('\n');
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 120_000 });
    const output = result.stdout + result.stderr;

    expect(Number(/free before: (\d+)/.exec(output)?.[1])).toBeLessThan(8 * 1024);
    expect(output).not.toContain('8 GiB of free disk');
    expect(output).toContain('swept 1 stale session(s)');
    expect(output).toMatch(/^exit [1-9]/m); // the cluster at 127.0.0.1:1 does not answer
    expect(output).not.toContain('killed-run');
  }, 150_000);
});
