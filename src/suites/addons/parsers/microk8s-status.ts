import { parse } from 'yaml';

/**
 * `microk8s status --format yaml`, as scripts/wrappers/status.py prints it
 * (canonical/microk8s): running, high-availability with its datastore nodes,
 * and every addon with its status.
 */
export interface Microk8sStatus {
  running: boolean;
  message?: string;
  highAvailability?: { enabled: boolean; nodes: { address: string; role: string }[] };
  addons: { name: string; status: 'enabled' | 'disabled'; description?: string; version?: string; repository?: string }[];
}

export function parseMicrok8sStatus(text: string): Microk8sStatus {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return notRunningLines(text);
  }
  const doc = (raw ?? {}) as {
    microk8s?: { running?: unknown; message?: string };
    'high-availability'?: { enabled?: unknown; nodes?: { address?: unknown; role?: unknown }[] };
    addons?: { name?: unknown; status?: unknown; description?: unknown; version?: unknown; repository?: unknown }[];
  };
  const ha = doc['high-availability'];
  return {
    running: truthy(doc.microk8s?.running),
    ...(doc.microk8s?.message ? { message: String(doc.microk8s.message) } : {}),
    ...(ha ? { highAvailability: { enabled: truthy(ha.enabled), nodes: (ha.nodes ?? []).map((n) => ({ address: String(n.address ?? ''), role: String(n.role ?? '') })) } } : {}),
    addons: (Array.isArray(doc.addons) ? doc.addons : []).map((a) => ({
      name: String(a.name ?? ''),
      status: a.status === 'enabled' ? ('enabled' as const) : ('disabled' as const),
      ...(a.description !== undefined ? { description: String(a.description) } : {}),
      ...(a.version !== undefined ? { version: String(a.version) } : {}),
      ...(a.repository !== undefined ? { repository: String(a.repository) } : {}),
    })),
  };
}

/**
 * The not-running branch prints its message one column deeper than `enabled:`,
 * which is not valid YAML: read the two lines that matter.
 */
function notRunningLines(text: string): Microk8sStatus {
  const running = /^\s*running:\s*(\S+)/m.exec(text)?.[1];
  const message = /^\s*message:\s*(.+)$/m.exec(text)?.[1]?.trim();
  return { running: truthy(running), ...(message ? { message } : {}), addons: [] };
}

/** status.py prints Python booleans ("True"); YAML 1.2 reads them as booleans, older forms as strings. */
function truthy(value: unknown): boolean {
  return value === true || String(value).toLowerCase() === 'true';
}

export function microk8sAddonEnabled(status: Microk8sStatus, addon: string): boolean {
  return status.addons.some((a) => a.name === addon && a.status === 'enabled');
}
