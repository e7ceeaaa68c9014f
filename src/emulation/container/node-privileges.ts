/**
 * What a node container is granted, as data: every capability it keeps and
 * why, the syscalls it is refused, and the Docker host settings that follow.
 * Everything not listed is dropped; docs/adr/0004-node-containers-as-a-boundary.md
 * says how each entry was measured and what remains open.
 */

/** Docker's default set: containerd grants it to every pod, and runc can only grant what the node holds. */
const POD_DEFAULT_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID',
  'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
] as const;

export const NODE_CAPABILITIES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(POD_DEFAULT_CAPABILITIES.map((cap) => [cap, 'in the default set of every pod the node runs'])),
  SYS_ADMIN: 'mounts: the init remounts its cgroup namespace writable, containerd mounts overlay snapshots, runc makes namespaces, the kubelet mounts volumes',
  // Measured with runc 1.3: without it every pod sandbox fails with "open container mntns: permission denied".
  SYS_PTRACE: "runc >= 1.2 opens its container's mount namespace (/proc/PID/ns/mnt of a non-dumpable process) to mount bind sources: a ptrace access check, within the node's own PID namespace",
  NET_ADMIN: 'the node network: iptables (kube-proxy, pod masquerade), the VXLAN overlay, routes, the CNI bridge, net sysctls',
};

/**
 * Refused even though a node holds CAP_SYS_ADMIN (which would allow them):
 * no Kubernetes service uses them, and each reaches host-wide kernel state.
 * The keyring calls stay allowed: runc joins a session keyring for every
 * pod, which Docker's default profile refuses (measured: "unable to join
 * session keyring").
 */
export const REFUSED_SYSCALLS: Readonly<Record<string, string>> = {
  bpf: 'kernel programs and tracing of the host kernel',
  perf_event_open: 'host-wide profiling',
  syslog: "the host's kernel log (CAP_SYS_ADMIN is accepted in place of CAP_SYSLOG)",
  userfaultfd: 'a common kernel exploit primitive',
  io_uring_setup: 'io_uring: a large kernel attack surface',
  io_uring_enter: 'io_uring',
  io_uring_register: 'io_uring',
  swapon: 'host-wide swap',
  swapoff: 'host-wide swap',
  acct: 'host-wide process accounting',
  kexec_load: 'replacing the host kernel',
  kexec_file_load: 'replacing the host kernel',
  init_module: 'loading host kernel modules',
  finit_module: 'loading host kernel modules',
  delete_module: 'unloading host kernel modules',
  open_by_handle_at: 'opening host files by handle, outside the container root',
};

/** An allow-by-default profile that refuses REFUSED_SYSCALLS with EPERM on the native and compat ABIs. */
export function nodeSeccompProfile(): string {
  return JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    // The compat ABIs are listed: otherwise a 32-bit call of a refused syscall would pass.
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [{ names: Object.keys(REFUSED_SYSCALLS), action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  });
}

/** The Docker host settings of a node container beyond its image, name, labels and network. */
export interface NodeHostSettings {
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  cgroupnsMode: 'private';
  tmpfs: Record<string, string>;
  /** Anonymous volumes: containerd needs a real filesystem (overlayfs does not nest on overlayfs). */
  volumes: string[];
}

/**
 * Its own cgroup namespace (the host's cgroup tree is neither mounted nor
 * reachable), the capabilities above and nothing else, the seccomp profile
 * above, Docker's default masked and read-only /proc and /sys paths (the
 * init opens only /proc/sys/net, which is per network namespace). No host
 * path and no host device is mounted. AppArmor stays unconfined: Docker's
 * `docker-default` profile denies every mount, which containerd and runc need.
 */
export function nodeHostSettings(): NodeHostSettings {
  return {
    capAdd: Object.keys(NODE_CAPABILITIES),
    capDrop: ['ALL'],
    securityOpt: [`seccomp=${nodeSeccompProfile()}`, 'apparmor=unconfined'],
    cgroupnsMode: 'private',
    tmpfs: { '/run': 'rw,exec,mode=755', '/tmp': 'rw,exec' },
    volumes: ['/var/lib/containerd'],
  };
}
