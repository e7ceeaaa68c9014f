/**
 * Parsers for `etcdctl -w json` (etcd 3.4). Member and leader IDs are
 * uint64 and do not fit a JavaScript number: they are read as strings.
 */
export interface EtcdMember {
  id: string;
  name: string;
  peerUrls: string[];
}

export interface EtcdEndpointStatus {
  memberId: string;
  leaderId: string;
  raftTerm: number;
}

/** Quotes every integer of 16 digits or more so JSON.parse keeps it exact. */
function parseWithBigIds(json: string): unknown {
  return JSON.parse(json.replace(/([:\[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

export function parseEtcdMembers(json: string): EtcdMember[] {
  const doc = parseWithBigIds(json) as { members?: { ID: string | number; name?: string; peerURLs?: string[] }[] };
  return (doc.members ?? []).map((m) => ({ id: String(m.ID), name: m.name ?? '', peerUrls: m.peerURLs ?? [] }));
}

export function parseEtcdStatus(json: string): EtcdEndpointStatus {
  const doc = parseWithBigIds(json) as { Status: { header: { member_id: string | number; raft_term: number }; leader: string | number } }[];
  const status = doc[0]?.Status;
  if (!status) throw new Error(`etcdctl endpoint status printed no status: ${json.slice(0, 200)}`);
  return { memberId: String(status.header.member_id), leaderId: String(status.leader), raftTerm: Number(status.header.raft_term) };
}
