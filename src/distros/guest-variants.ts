/**
 * Guest root filesystem variants for distributions whose installers expect a
 * regular systemd machine (snapd for MicroK8s, the k3s and minikube
 * installers write systemd units). Data only: the image builder turns a spec
 * into a disk (mmdebstrap --include=..., --customize-hook=...).
 *
 * The first-boot unit does what edgeproof-init does on the minimal image:
 * hostname and the run's SSH key from the kernel command line (ep.hostname,
 * ep.authkey), static address (ep.ip, ep.gw), then the console line the
 * harness waits for.
 */
import type { Arch } from '../emulation/boards.js';
import type { GuestImageSpec } from '../cluster/distribution.js';

/** Packages every systemd variant needs: systemd as PID 1, D-Bus, udev, SSH, certificates for HTTPS installers. */
export const SYSTEMD_BASE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'udev', 'openssh-server', 'ca-certificates', 'curl', 'iproute2', 'kmod', 'procps'];

/** The kernel parameter the initramfs reads to exec systemd instead of edgeproof-init. */
export const SYSTEMD_INIT_PARAM = 'ep.init=/lib/systemd/systemd';

const FIRSTBOOT_SCRIPT = `#!/bin/sh
# edgeproof first boot on a systemd guest: hostname, address and SSH key from the kernel command line.
hostname=edgeproof ip=10.0.2.15/24 gw=10.0.2.2 authkey=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ep.hostname=*) hostname=\${arg#ep.hostname=} ;;
    ep.ip=*) ip=\${arg#ep.ip=} ;;
    ep.gw=*) gw=\${arg#ep.gw=} ;;
    ep.authkey=*) authkey=\${arg#ep.authkey=} ;;
  esac
done
hostnamectl set-hostname "$hostname" 2>/dev/null || hostname "$hostname"
printf '127.0.0.1 localhost\\n%s %s\\n' "\${ip%/*}" "$hostname" > /etc/hosts
iface=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
printf '[Match]\\nName=%s\\n[Network]\\nAddress=%s\\nGateway=%s\\n' "$iface" "$ip" "$gw" > /run/systemd/network/10-edgeproof.network
networkctl reload 2>/dev/null || systemctl restart systemd-networkd
mkdir -p /root/.ssh && chmod 700 /root/.ssh
[ -n "$authkey" ] && echo "$authkey" | base64 -d > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
`;

const FIRSTBOOT_UNIT = `[Unit]
Description=edgeproof first boot (hostname, address, SSH key from the kernel command line)
Before=ssh.service systemd-networkd.service
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/sbin/edgeproof-firstboot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

/** Says the harness may connect, once sshd runs (the same console line edgeproof-init prints). */
const READY_UNIT = `[Unit]
Description=edgeproof ready marker
After=ssh.service edgeproof-firstboot.service
Wants=ssh.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "edgeproof-init: EDGEPROOF-READY" > /dev/console'

[Install]
WantedBy=multi-user.target
`;

export interface SystemdVariant {
  packages: string[];
  size: string;
  note: string;
  /** Extra units to enable (snapd.socket, ...). */
  enable?: string[];
}

/** A systemd guest image spec: base packages plus the distribution's, the first-boot files and units enabled. */
export function systemdGuestImage(_arch: Arch, variant: SystemdVariant): GuestImageSpec {
  const units = ['ssh.service', 'systemd-networkd.service', 'edgeproof-firstboot.service', 'edgeproof-ready.service', ...(variant.enable ?? [])];
  return {
    packages: [...new Set([...SYSTEMD_BASE_PACKAGES, ...variant.packages])].sort(),
    size: variant.size,
    init: 'systemd',
    kernelParams: [SYSTEMD_INIT_PARAM],
    files: [
      { path: '/usr/sbin/edgeproof-firstboot', content: FIRSTBOOT_SCRIPT, mode: 0o755 },
      { path: '/etc/systemd/system/edgeproof-firstboot.service', content: FIRSTBOOT_UNIT, mode: 0o644 },
      { path: '/etc/systemd/system/edgeproof-ready.service', content: READY_UNIT, mode: 0o644 },
    ],
    customizeHooks: [
      `systemctl --root="$1" enable ${units.join(' ')}`,
      // A fresh machine-id per boot of each overlay (systemd creates it when the file is empty).
      ': > "$1"/etc/machine-id',
      'rm -f "$1"/etc/ssh/ssh_host_*',
    ],
    note: variant.note,
  };
}
