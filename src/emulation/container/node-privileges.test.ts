import { describe, expect, it } from 'vitest';
import { nodeHostSettings, nodeSeccompProfile } from './node-privileges.js';

describe('nodeHostSettings', () => {
  const settings = nodeHostSettings();

  it('drops every capability and adds back the pod defaults, SYS_ADMIN, SYS_PTRACE and NET_ADMIN only', () => {
    expect(settings.capDrop).toEqual(['ALL']);
    expect([...settings.capAdd].sort()).toEqual([
      'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE',
      'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE',
    ]);
  });

  it('gives the node its own cgroup namespace and a seccomp profile of its own, never an unconfined one', () => {
    expect(settings.cgroupnsMode).toBe('private');
    expect(settings.securityOpt).not.toContain('seccomp=unconfined');
    expect(settings.securityOpt.filter((opt) => opt.startsWith('seccomp='))).toEqual([`seccomp=${nodeSeccompProfile()}`]);
  });
});

describe('nodeSeccompProfile', () => {
  const profile = JSON.parse(nodeSeccompProfile()) as {
    defaultAction: string;
    archMap: { architecture: string; subArchitectures: string[] }[];
    syscalls: { names: string[]; action: string; errnoRet: number }[];
  };
  const refused = profile.syscalls.flatMap((rule) => rule.names);

  it('refuses kernel-wide calls with EPERM, on the compat ABIs too', () => {
    expect(profile.syscalls.every((rule) => rule.action === 'SCMP_ACT_ERRNO' && rule.errnoRet === 1)).toBe(true);
    expect(refused).toEqual(expect.arrayContaining(['bpf', 'perf_event_open', 'syslog', 'kexec_load', 'init_module', 'open_by_handle_at', 'swapon']));
    expect(profile.archMap).toContainEqual({ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
    expect(profile.archMap).toContainEqual({ architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] });
  });

  it('allows what nested runc and containerd need (Docker\'s default profile refuses the keyring calls)', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ALLOW');
    for (const call of ['keyctl', 'add_key', 'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'clone']) expect(refused).not.toContain(call);
  });
});
