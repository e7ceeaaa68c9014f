/**
 * AppArmor audit records from the kernel log (dmesg, `journalctl -k`), e.g.
 * `audit: type=1400 audit(1698061446.955:204): apparmor="DENIED" operation="capable"
 * profile="snap.microk8s.daemon-cluster-agent" pid=7284 comm="sed" capability=4  capname="fsetid"`
 * (canonical/microk8s#4267).
 */
export interface AppArmorRecord {
  verdict: string;
  operation: string;
  profile: string;
  /** What was touched: a path, a capability name, a peer. */
  target: string;
  comm: string;
  raw: string;
}

export function parseAppArmorLine(line: string): AppArmorRecord | undefined {
  if (!line.includes('apparmor=')) return undefined;
  const fields = new Map<string, string>();
  for (const match of line.matchAll(/(\w+)=("([^"]*)"|\S+)/g)) {
    if (!fields.has(match[1]!)) fields.set(match[1]!, match[3] ?? match[2]!);
  }
  const verdict = fields.get('apparmor');
  const profile = fields.get('profile');
  if (!verdict || !profile) return undefined;
  return {
    verdict,
    operation: fields.get('operation') ?? '?',
    profile,
    target: fields.get('name') ?? fields.get('capname') ?? fields.get('peer') ?? fields.get('family') ?? '',
    comm: fields.get('comm') ?? '',
    raw: line.trim(),
  };
}

/** A denial the release is known to produce, matched on profile, operation and target. */
export interface AllowedDenial {
  profile: RegExp;
  operation?: string;
  target?: RegExp;
  why: string;
}

export interface DenialCount {
  total: number;
  unexpected: AppArmorRecord[];
  allowed: number;
  /** `profile operation target` -> count, for the evidence. */
  byKind: Record<string, number>;
}

/** DENIED records whose profile belongs to the snap (`snap.microk8s.*`), split into allowed and unexpected. */
export function countSnapDenials(log: string, snap: string, allowlist: readonly AllowedDenial[] = []): DenialCount {
  const result: DenialCount = { total: 0, unexpected: [], allowed: 0, byKind: {} };
  for (const line of log.split('\n')) {
    const record = parseAppArmorLine(line);
    if (!record || record.verdict !== 'DENIED' || !record.profile.startsWith(`snap.${snap}.`)) continue;
    result.total++;
    const kind = `${record.profile} ${record.operation} ${record.target}`.trim();
    result.byKind[kind] = (result.byKind[kind] ?? 0) + 1;
    const allowed = allowlist.some((a) => a.profile.test(record.profile) && (!a.operation || a.operation === record.operation) && (!a.target || a.target.test(record.target)));
    if (allowed) result.allowed++;
    else result.unexpected.push(record);
  }
  return result;
}
