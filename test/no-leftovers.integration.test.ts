import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheDir, sessionTag } from '../src/core/paths.js';
import { processCmdline, readSessions, type SessionRecord } from '../src/core/session.js';
import { harnessFenceRules } from '../src/emulation/container/bridge-fence.js';
import { harnessLeftovers } from '../src/emulation/container/docker-engine.js';

/**
 * Runs after every other integration test (see last-file-sequencer.ts): what
 * the whole test run made must be gone. Resources of a session whose owner is
 * still alive (another run on the same host) are not this run's leftovers.
 */
describe('after the integration tests', () => {
  const live = liveSessions();
  const owned = (name: string) => live.some((s) => name.includes(sessionTag(s.id)) || JSON.stringify(s.resources).includes(name));

  it('no session record is left by a run whose owner is gone (a killed run nobody swept)', () => {
    const stale = readSessions(cacheDir()).filter((s) => s.owner === 'dead').map((s) => s.record);
    expect(stale.map((r) => `${r.id}: ${JSON.stringify(r.resources)}`)).toEqual([]);
  });

  it('no session lock is left without its record', () => {
    const dir = join(cacheDir(), 'sessions');
    const locks = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.lock') && !existsSync(join(dir, n.replace(/\.lock$/, '.json')))) : [];
    expect(locks).toEqual([]);
  });

  it('no QEMU process of the harness is running', () => {
    const qemus = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((pid) => ({ pid, cmdline: processCmdline(Number(pid)) ?? '' }))
      .filter((p) => /qemu-system-\S+ .*-name ep-/.test(p.cmdline) && !live.some((s) => s.resources.processes.some((q) => String(q.pid) === p.pid)));
    expect(qemus.map((q) => `${q.pid}: ${q.cmdline.slice(0, 160)}`)).toEqual([]);
  });

  it('no container or Docker network of the harness exists', async () => {
    const left = await harnessLeftovers();
    expect({ containers: left.containers.filter((c) => !owned(c.replace(/^\//, ''))), networks: left.networks.filter((n) => !owned(n)) }).toEqual({ containers: [], networks: [] });
  });

  it('no host firewall rule of the harness is left (bridge fences)', async () => {
    const rules = await harnessFenceRules();
    expect(rules.filter((rule) => !live.some((s) => rule.includes(`dev.edgeproof/session=${s.id}`)))).toEqual([]);
  });

  it('no node cgroup, scratch dir or QEMU socket dir is left', () => {
    const cgroups = readdirSync('/sys/fs/cgroup').flatMap((controller) => {
      const dir = join('/sys/fs/cgroup', controller, 'edgeproof');
      return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !owned(e.name)).map((e) => join(dir, e.name)) : [];
    });
    const scratch = join(cacheDir(), 'tmp');
    const scratchDirs = existsSync(scratch) ? readdirSync(scratch).filter((id) => !live.some((s) => s.id === id)) : [];
    const socketDirs = readdirSync(tmpdir()).filter((n) => /^ep-ep-/.test(n) && !owned(join(tmpdir(), n)));
    expect({ cgroups, scratchDirs, socketDirs }).toEqual({ cgroups: [], scratchDirs: [], socketDirs: [] });
  });
});

/** Sessions whose owner holds its lock (in any PID namespace) or is not provably gone: another run's, not leftovers. */
function liveSessions(): SessionRecord[] {
  return readSessions(cacheDir()).filter((s) => s.owner !== 'dead').map((s) => s.record);
}
