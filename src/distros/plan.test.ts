import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunContext } from '../core/context.js';
import { CommandFailedError } from '../core/errors.js';
import { fixturePath } from '../core/paths.js';
import { readFileThroughShell, writeFileThroughShell, type ExecOptions, type ExecResult, type Machine } from '../emulation/machine.js';
import { distributionByName } from './registry.js';
import { displayStep, redact, renderStep, runStep, type PlanStep } from './plan.js';

/** This host's own shell behind the Machine interface: real processes, real files. */
function hostShell(): Machine {
  const exec = async (command: string, options: ExecOptions = {}): Promise<ExecResult> => {
    const started = Date.now();
    const result = await execa('sh', ['-c', command], { reject: false, stripFinalNewline: false, ...(options.input !== undefined ? { input: options.input } : {}), ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}) });
    return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? null, durationMs: Date.now() - started };
  };
  return {
    name: 'host-shell',
    arch: 'amd64',
    backend: 'ssh',
    cgroupRoot: '',
    powerOn: async () => undefined,
    reboot: async () => undefined,
    partition: async () => undefined,
    heal: async () => undefined,
    address: '127.0.0.1',
    capabilities: new Set(),
    hostEndpoint: (port) => ({ host: '127.0.0.1', port }),
    exec,
    writeFile: (path, content, mode) => writeFileThroughShell(exec, path, content, mode),
    readFile: (path) => readFileThroughShell(exec, path),
    freeze: async () => undefined,
    thaw: async () => undefined,
    powerOff: async () => undefined,
    dispose: async () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  };
}

describe('plan steps', () => {
  it('renders argv quoted, environment exported in front, and hides secrets when displayed', () => {
    const step: PlanStep = { name: 'join', argv: ['microk8s', 'join', "10.0.0.1:25000/abc/def"], env: { A: "it's" }, secrets: ['abc/def', 'abc'], timeoutMs: 1000 };
    expect(renderStep(step)).toBe(`env 'A=it'\\''s' 'microk8s' 'join' '10.0.0.1:25000/abc/def'`);
    expect(displayStep(step)).toBe(`env 'A=it'\\''s' 'microk8s' 'join' '10.0.0.1:25000/<redacted>'`);
    expect(renderStep({ name: 's', shell: 'curl x | sh -s - server', env: { K3S_TOKEN: 't0k' }, timeoutMs: 1 })).toBe("export K3S_TOKEN='t0k'; curl x | sh -s - server");
    expect(() => renderStep({ name: 'empty', timeoutMs: 1 })).toThrow(/neither argv nor shell/);
    expect(redact('token t0k and t0k', ['t0k', ''])).toBe('token <redacted> and <redacted>');
  });
});

describe('running plan steps (on this host\'s shell)', () => {
  let dir: string;
  let ctx: RunContext;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-plan-'));
    ctx = new RunContext({ runDir: join(dir, 'run'), cacheDir: join(dir, 'cache'), progress: false });
  });
  afterAll(async () => {
    await ctx.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes files and uploads, runs the command with its environment, records it without the secret', async () => {
    const target = join(dir, 'node', 'etc', 'config');
    const uploaded = join(dir, 'node', 'bin', 'tool');
    const step: PlanStep = {
      name: 'configure',
      shell: `cat ${target} && echo "token=$SECRET_TOKEN" > /dev/null && test -x ${uploaded}`,
      env: { SECRET_TOKEN: 's3cr3t' },
      secrets: ['s3cr3t'],
      files: [{ path: target, content: 'hello\n', mode: 0o600 }],
      uploads: [{ hostPath: process.execPath, path: uploaded, mode: 0o755 }],
      timeoutMs: 60_000,
    };
    const result = await runStep(ctx, hostShell(), step);
    expect(result.stdout).toBe('hello\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(statSync(uploaded).size).toBe(statSync(process.execPath).size);
    const events = readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8');
    expect(events).toContain('"type":"command"');
    expect(events).toContain('<redacted>');
    expect(events).not.toContain('s3cr3t');
  });

  it('a failing step throws with its exit code and output tails, secrets redacted there too', async () => {
    const step: PlanStep = { name: 'fail', shell: 'echo "joining with $T" >&2; exit 7', env: { T: 'tok-123' }, secrets: ['tok-123'], timeoutMs: 10_000 };
    const error = (await runStep(ctx, hostShell(), step).catch((e: unknown) => e)) as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error.outcome.exitCode).toBe(7);
    expect(error.message).toBe(`Command \`export T='<redacted>'; echo "joining with $T" >&2; exit 7\` on host-shell exited with code 7: joining with <redacted>`);
    expect(error.detail()).not.toContain('tok-123');
  });
});

describe('guest image variants', () => {
  it('gives MicroK8s a systemd + snapd root filesystem and the others theirs, with the first-boot files', () => {
    const microk8s = distributionByName('microk8s').guestImage!('arm64');
    expect(microk8s).toMatchObject({ init: 'systemd', size: '8G', kernelParams: ['ep.init=/lib/systemd/systemd', 'systemd.unified_cgroup_hierarchy=1'] });
    expect(microk8s.packages).toEqual(expect.arrayContaining(['systemd', 'systemd-sysv', 'dbus', 'snapd', 'squashfs-tools', 'apparmor', 'openssh-server', 'ca-certificates']));
    expect(microk8s.customizeHooks[0]).toBe('systemctl --root="$1" enable ssh.service edgeproof-firstboot.service edgeproof-ready.service snapd.socket snapd.service apparmor.service');
    expect(microk8s.files.map((f) => f.path)).toEqual(['/etc/systemd/system/edgeproof-firstboot.service', '/etc/systemd/system/edgeproof-ready.service']);
    expect(microk8s.files[0]!.content).toContain('ExecStart=/usr/sbin/edgeproof-firstboot');
    expect(microk8s.files[1]!.content).toContain('edgeproof-init: EDGEPROOF-READY');
    const k3s = distributionByName('k3s').guestImage!('arm64');
    expect(k3s).toMatchObject({ size: '4G' });
    expect(k3s.packages).not.toContain('snapd');
    expect(distributionByName('minikube').guestImage!('amd64')).toMatchObject({ size: '16G' });
    expect(distributionByName('minikube').guestPackages('amd64')).toEqual(expect.arrayContaining(['docker.io', 'conntrack', 'containerd']));
  });

  it('the first-boot script and the setup it shares with edgeproof-init are valid POSIX sh', async () => {
    for (const file of ['usr/sbin/edgeproof-firstboot', 'usr/lib/edgeproof/guest-setup.sh', 'usr/sbin/edgeproof-init']) {
      const result = await execa('sh', ['-n', fixturePath('guest', 'rootfs', file)], { reject: false });
      expect(result.exitCode, `${file}: ${result.stderr}`).toBe(0);
    }
  });
});
