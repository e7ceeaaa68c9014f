/**
 * Guest root filesystem variants for distributions whose installers expect a
 * regular systemd machine (snapd for MicroK8s, the k3s and minikube
 * installers write systemd units). Data: the image builders place the files,
 * run the hooks (rootfs-customize.sh), size the disk, and boot boards with
 * the kernel parameters; node containers start edgeproof-container-init,
 * which execs systemd.
 *
 * The first-boot unit runs edgeproof-firstboot (fixtures/guest/rootfs), which
 * shares guest-setup.sh with edgeproof-init: hostname, address and the run's
 * SSH key from the kernel command line on a board, Docker's on a container.
 */
import type { Arch } from '../emulation/boards.js';
import type { GuestImageSpec } from '../cluster/distribution.js';

/** Packages every systemd variant needs: systemd as PID 1, D-Bus, udev, SSH, certificates for HTTPS installers. */
export const SYSTEMD_BASE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'udev', 'openssh-server', 'ca-certificates', 'curl', 'iproute2', 'kmod', 'procps'];

/** The kernel parameter the initramfs reads to exec systemd instead of tini and edgeproof-init. */
export const SYSTEMD_INIT_PARAM = 'ep.init=/lib/systemd/systemd';

/**
 * Boards boot the unified cgroup hierarchy (v2), bookworm's systemd default,
 * said explicitly: Kubernetes 1.35's kubelet refuses cgroup v1 unless told
 * otherwise, and K3s, MicroK8s and minikube all run on v2. The fast init
 * keeps v1 for Kubernetes 1.20. A node container gets its host's hierarchy.
 */
export const SYSTEMD_CGROUP_PARAM = 'systemd.unified_cgroup_hierarchy=1';

/** The same console line edgeproof-init prints; a node container has no /dev/console: its init's relay to Docker's log takes it. */
export const READY_LINE = 'edgeproof-init: EDGEPROOF-READY';

const FIRSTBOOT_UNIT = `[Unit]
Description=edgeproof first boot (hostname, address, SSH key)
DefaultDependencies=no
After=local-fs.target systemd-remount-fs.service
Before=network.target ssh.service sysinit.target
Wants=network.target

[Service]
Type=oneshot
ExecStart=/usr/sbin/edgeproof-firstboot
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
`;

/** Says the harness may connect, once sshd runs. */
const READY_UNIT = `[Unit]
Description=edgeproof ready marker
After=ssh.service edgeproof-firstboot.service
Wants=ssh.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'if [ -p /run/edgeproof/console ]; then echo "${READY_LINE}" > /run/edgeproof/console; else echo "${READY_LINE}" > /dev/console; fi'
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

/**
 * Masked, so they never run: each would fail or wait on every emulated or
 * containerized guest for want of what only real hardware or a console has.
 * Masked units are listed by `systemctl list-unit-files --state=masked`;
 * anything else that fails is reported (SystemState.failedUnits).
 */
export const MASKED_UNITS: Readonly<Record<string, string>> = {
  'systemd-firstboot.service': 'prompts on the console for locale and root password when /etc/machine-id is empty (every new overlay)',
  'systemd-timesyncd.service': 'no NTP server is reachable (restricted user network); the harness sets guest clocks itself',
  'getty@tty1.service': 'no virtual terminal on a serial-console board or a container',
};

export interface SystemdVariant {
  packages: string[];
  size: string;
  note: string;
  /** Extra units to enable (snapd.socket, ...). */
  enable?: string[];
}

/** A systemd guest image spec: base packages plus the distribution's, the first-boot units enabled, the masks. */
export function systemdGuestImage(_arch: Arch, variant: SystemdVariant): GuestImageSpec {
  const units = ['ssh.service', 'edgeproof-firstboot.service', 'edgeproof-ready.service', ...(variant.enable ?? [])];
  return {
    packages: [...new Set([...SYSTEMD_BASE_PACKAGES, ...variant.packages])].sort(),
    size: variant.size,
    init: 'systemd',
    kernelParams: [SYSTEMD_INIT_PARAM, SYSTEMD_CGROUP_PARAM],
    files: [
      { path: '/etc/systemd/system/edgeproof-firstboot.service', content: FIRSTBOOT_UNIT, mode: 0o644 },
      { path: '/etc/systemd/system/edgeproof-ready.service', content: READY_UNIT, mode: 0o644 },
    ],
    customizeHooks: [
      `systemctl --root="$1" enable ${units.join(' ')}`,
      `systemctl --root="$1" mask ${Object.keys(MASKED_UNITS).join(' ')}`,
      // Empty: systemd makes a fresh machine id on each overlay's first boot.
      ': > "$1"/etc/machine-id',
      'rm -f "$1"/etc/ssh/ssh_host_*',
    ],
    note: variant.note,
  };
}
