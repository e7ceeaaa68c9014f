import { UsageError } from '../../core/errors.js';

/** One IPv4 block of a load-balancer pool, inclusive at both ends. */
export interface Ipv4Block {
  /** As the user wrote it, trimmed: `10.64.140.43-10.64.140.49` or `10.12.13.0/24`. */
  text: string;
  first: number;
  last: number;
}

const RANGE_FORMS = 'a.b.c.d-a.b.c.e (a range) or a.b.c.d/n (CIDR), comma-separated, e.g. 10.64.140.43-10.64.140.49,10.12.13.0/24';

/**
 * Parses a MetalLB address pool as MicroK8s' `enable metallb:<pool>` takes it
 * (https://microk8s.io/docs/addon-metallb: ranges, and since 1.19 several
 * comma-separated ranges and CIDRs). Throws a UsageError naming the bad part,
 * before anything is installed.
 */
export function parseIpv4Pool(text: string, what = 'MetalLB address pool'): Ipv4Block[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw new UsageError(`The ${what} is empty`, `write ${RANGE_FORMS}`);
  const blocks = parts.map((part) => parseBlock(part, what));
  assertDisjoint(blocks, what);
  return blocks;
}

function parseBlock(part: string, what: string): Ipv4Block {
  if (part === '') throw new UsageError(`The ${what} has an empty entry (two commas in a row?)`, `write ${RANGE_FORMS}`);
  const range = /^([^-/\s]+)-([^-/\s]+)$/.exec(part);
  if (range) {
    const first = ipv4ToNumber(range[1]!, part, what);
    const last = ipv4ToNumber(range[2]!, part, what);
    if (first > last) throw new UsageError(`The ${what} entry "${part}" ends before it starts`, `write the lower address first: ${range[2]}-${range[1]}`);
    return { text: part, first, last };
  }
  const cidr = /^([^-/\s]+)\/(\d{1,2})$/.exec(part);
  if (cidr) {
    const base = ipv4ToNumber(cidr[1]!, part, what);
    const prefix = Number(cidr[2]);
    if (prefix > 32) throw new UsageError(`The ${what} entry "${part}" has prefix /${prefix}: it must be /0 to /32`, `write ${RANGE_FORMS}`);
    const size = 2 ** (32 - prefix);
    const first = base - (base % size);
    return { text: part, first, last: first + size - 1 };
  }
  throw new UsageError(`The ${what} entry "${part}" is neither a range nor a CIDR`, `write ${RANGE_FORMS} (IPv4 only)`);
}

function ipv4ToNumber(address: string, part: string, what: string): number {
  const octets = address.split('.');
  const valid = octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
  if (!valid) throw new UsageError(`The ${what} entry "${part}" has an invalid IPv4 address "${address}"`, `write ${RANGE_FORMS}`);
  return octets.reduce((n, o) => n * 256 + Number(o), 0);
}

function assertDisjoint(blocks: Ipv4Block[], what: string): void {
  const sorted = [...blocks].sort((a, b) => a.first - b.first);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.first <= sorted[i - 1]!.last) {
      throw new UsageError(`The ${what} entries "${sorted[i - 1]!.text}" and "${sorted[i]!.text}" overlap`, 'give each address once');
    }
  }
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** True when `address` (dotted IPv4) is inside one of the blocks. */
export function poolContains(blocks: readonly Ipv4Block[], address: string): boolean {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return false;
  const value = octets.reduce((n, o) => n * 256 + o, 0);
  return blocks.some((b) => value >= b.first && value <= b.last);
}

/** How many addresses the pool holds. */
export function poolSize(blocks: readonly Ipv4Block[]): number {
  return blocks.reduce((n, b) => n + b.last - b.first + 1, 0);
}
