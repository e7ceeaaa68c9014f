/**
 * Prerequisites of a host before a distribution is installed on it: one
 * probe (a POSIX sh script run over SSH), a pure parser of what it prints,
 * and a pure judgement against what the distribution needs. Each problem
 * says what is missing on which host and the fix.
 */
import { PrerequisiteMissingError, UsageError } from '../../core/errors.js';
import type { Arch } from '../boards.js';
import { shellQuote } from '../machine.js';

/** What a node must offer (the distribution side names this NodeRequirements). */
export interface HostRequirements {
  systemd: boolean;
  snapd: boolean;
  minMemoryMiB: number;
  memoryCgroup: boolean;
  commands: { name: string; fix: string }[];
}

export interface HostFacts {
  /** `uname -m` as printed, and as an edgeproof arch when it is one. */
  machine: string;
  arch?: Arch;
  memTotalMiB: number;
  cgroupVersion: 1 | 2 | undefined;
  memoryController: boolean;
  systemd: boolean;
  snapd: boolean;
  commands: Record<string, boolean>;
  privilege: 'root' | 'sudo' | 'none';
  bootId: string;
  /** Source address of the default route: the node's address on its network. */
  defaultAddress?: string;
}

const MARK = '@@fact';

/** The probe: one line per fact, nothing that needs root. */
export function hostFactsCommand(commands: string[]): string {
  const lines = [
    `echo "${MARK} machine $(uname -m)"`,
    `echo "${MARK} memtotal_kb $(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"`,
    `echo "${MARK} cgroupfs $(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo none)"`,
    // v2 lists controllers in cgroup.controllers; v1 has a row per controller in /proc/cgroups ("enabled" is the 4th field).
    `if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null || awk '$1 == "memory" && $4 == 1 { found = 1 } END { exit !found }' /proc/cgroups 2>/dev/null; then echo "${MARK} memory_controller yes"; else echo "${MARK} memory_controller no"; fi`,
    `if [ -d /run/systemd/system ]; then echo "${MARK} systemd yes"; else echo "${MARK} systemd no"; fi`,
    `if command -v snap >/dev/null 2>&1 && systemctl is-active --quiet snapd.socket 2>/dev/null; then echo "${MARK} snapd yes"; else echo "${MARK} snapd no"; fi`,
    ...commands.map((c) => `if command -v ${shellQuote(c)} >/dev/null 2>&1; then echo "${MARK} command ${c} yes"; else echo "${MARK} command ${c} no"; fi`),
    `if [ "$(id -u)" = 0 ]; then echo "${MARK} privilege root"; elif sudo -n true 2>/dev/null; then echo "${MARK} privilege sudo"; else echo "${MARK} privilege none"; fi`,
    `echo "${MARK} bootid $(cat /proc/sys/kernel/random/boot_id)"`,
    `echo "${MARK} defaultaddr $(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p')"`,
  ];
  return lines.join('\n');
}

const ARCH_OF: Record<string, Arch> = { aarch64: 'arm64', arm64: 'arm64', x86_64: 'amd64', amd64: 'amd64' };

export function parseHostFacts(output: string): HostFacts {
  const facts: HostFacts = { machine: '', memTotalMiB: 0, cgroupVersion: undefined, memoryController: false, systemd: false, snapd: false, commands: {}, privilege: 'none', bootId: '' };
  for (const line of output.split('\n')) {
    if (!line.startsWith(`${MARK} `)) continue;
    const [, key, ...rest] = line.trim().split(/\s+/);
    const value = rest.join(' ');
    switch (key) {
      case 'machine':
        facts.machine = value;
        if (ARCH_OF[value]) facts.arch = ARCH_OF[value];
        break;
      case 'memtotal_kb':
        facts.memTotalMiB = Math.floor(Number(value) / 1024) || 0;
        break;
      case 'cgroupfs':
        facts.cgroupVersion = value === 'cgroup2fs' ? 2 : value === 'tmpfs' ? 1 : undefined;
        break;
      case 'memory_controller':
        facts.memoryController = value === 'yes';
        break;
      case 'systemd':
        facts.systemd = value === 'yes';
        break;
      case 'snapd':
        facts.snapd = value === 'yes';
        break;
      case 'command':
        facts.commands[rest[0]!] = rest[1] === 'yes';
        break;
      case 'privilege':
        facts.privilege = value === 'root' || value === 'sudo' ? value : 'none';
        break;
      case 'bootid':
        facts.bootId = value;
        break;
      case 'defaultaddr':
        if (value) facts.defaultAddress = value;
        break;
    }
  }
  return facts;
}

export interface HostProblem {
  what: string;
  fix: string;
}

/** Everything the host lacks for `requirements` (empty when it is fit). */
export function hostProblems(facts: HostFacts, requirements: HostRequirements): HostProblem[] {
  const problems: HostProblem[] = [];
  if (facts.privilege === 'none') problems.push({ what: 'root access (the user is not root and has no passwordless sudo)', fix: 'connect as root, or allow the user `NOPASSWD` in /etc/sudoers.d/' });
  if (facts.memTotalMiB < requirements.minMemoryMiB) {
    problems.push({ what: `${requirements.minMemoryMiB} MiB of memory (has ${facts.memTotalMiB} MiB)`, fix: 'use a board with more memory, or another distribution' });
  }
  if (requirements.memoryCgroup && !facts.memoryController) {
    problems.push({
      what: 'the memory cgroup controller',
      fix: 'enable it on the kernel command line: append `cgroup_memory=1 cgroup_enable=memory` to /boot/firmware/cmdline.txt (Raspberry Pi OS) and reboot',
    });
  }
  if (requirements.systemd && !facts.systemd) problems.push({ what: 'systemd as PID 1', fix: 'boot the host with systemd (the installer writes systemd units)' });
  if (requirements.snapd && !facts.snapd) problems.push({ what: 'snapd', fix: 'apt-get install snapd && systemctl enable --now snapd.socket' });
  for (const command of requirements.commands) {
    if (!facts.commands[command.name]) problems.push({ what: `the command ${command.name}`, fix: command.fix });
  }
  return problems;
}

export interface HostLabel {
  name: string;
  /** user@address:port */
  target: string;
  /** hosts.yaml:12 */
  source: string;
  arch: Arch;
}

/** A wrong architecture is bad input (the hosts file says otherwise); missing things are prerequisites. */
export function assertHostFit(host: HostLabel, facts: HostFacts, requirements: HostRequirements): void {
  if (facts.arch !== host.arch) {
    throw new UsageError(
      `Host "${host.name}" (${host.target}) is ${facts.machine || 'of an unknown architecture'}, but ${host.source} says arch: ${host.arch}`,
      facts.arch ? `set arch: ${facts.arch} for ${host.name} in ${host.source}, or use a ${host.arch} board` : 'edgeproof drives arm64 and amd64 hosts',
    );
  }
  const problems = hostProblems(facts, requirements);
  if (problems.length) {
    throw new PrerequisiteMissingError(`on host "${host.name}" (${host.target}): ${problems.map((p) => p.what).join('; ')}`, problems.map((p) => p.fix).join('; '));
  }
}
