/**
 * snapd's tables, as `snap list` and `snap connections` print them
 * (https://snapcraft.io/docs/interfaces: "Interface Plug Slot Notes", a
 * disconnected plug has "-" as its slot).
 */
export interface SnapRow {
  name: string;
  version: string;
  rev: string;
  tracking: string;
  publisher: string;
  notes: string;
  /** From the notes: classic and devmode are shown there; a strictly confined snap shows neither. */
  confinement: 'classic' | 'devmode' | 'jailmode' | 'strict';
}

export function parseSnapList(text: string): SnapRow[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.findIndex((l) => /^Name\s+Version\s+Rev\s+Tracking\s+Publisher\s+Notes$/.test(l));
  if (header < 0) return [];
  return lines.slice(header + 1).map((line) => {
    const [name = '', version = '', rev = '', tracking = '', publisher = '', notes = '-'] = line.split(/\s+/);
    const flags = notes.split(',');
    const confinement = flags.includes('classic') ? 'classic' : flags.includes('devmode') ? 'devmode' : flags.includes('jailmode') ? 'jailmode' : 'strict';
    return { name, version, rev, tracking, publisher, notes, confinement };
  });
}

export interface SnapConnection {
  interface: string;
  plug: string;
  /** Undefined when the plug is not connected ("-"). */
  slot?: string;
  notes: string;
}

export function parseSnapConnections(text: string): SnapConnection[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.findIndex((l) => /^Interface\s+Plug\s+Slot\s+Notes$/.test(l));
  if (header < 0) return [];
  return lines.slice(header + 1).map((line) => {
    const [iface = '', plug = '', slot = '-', notes = '-'] = line.split(/\s+/);
    return { interface: iface, plug, ...(slot !== '-' ? { slot } : {}), notes };
  });
}

/**
 * The plugs MicroK8s' strict snap needs connected: the list its own test
 * script connects (canonical/microk8s, strict branch,
 * microk8s-resources/connect-all-interfaces.sh).
 */
export const MICROK8S_STRICT_PLUGS = [
  'account-control',
  'docker-privileged',
  'kubernetes-support',
  'k8s-journald',
  'k8s-kubelet',
  'k8s-kubeproxy',
  'dot-kube',
  'network',
  'network-bind',
  'network-control',
  'network-observe',
  'firewall-control',
  'process-control',
  'kernel-module-observe',
  'mount-observe',
  'hardware-observe',
  'system-observe',
  'home',
  'opengl',
  'home-read-all',
  'login-session-observe',
  'log-observe',
  'dot-config-helm',
];

/** Which required plugs are not connected, and which other plugs are not (reported, not judged). */
export function unconnectedPlugs(connections: SnapConnection[], snap: string, required: readonly string[]): { missing: string[]; optional: string[] } {
  const connected = new Set(connections.filter((c) => c.slot).map((c) => c.plug.replace(`${snap}:`, '')));
  const listed = connections.map((c) => c.plug.replace(`${snap}:`, ''));
  return {
    missing: required.filter((plug) => !connected.has(plug)),
    optional: listed.filter((plug) => !connected.has(plug) && !required.includes(plug)),
  };
}
