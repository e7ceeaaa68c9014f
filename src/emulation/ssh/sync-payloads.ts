/**
 * Disk payloads (built binaries, workload images) brought to an ssh host:
 * what QEMU boards get baked into their disk. A directory is copied (one tar
 * stream) when its listing of relative paths and sizes differs from the
 * host's copy, rsync's quick check without rsync.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RunContext } from '../../core/context.js';
import type { DiskPayload } from '../images/guest-images.js';
import { shellQuote, type Machine } from '../machine.js';

/** `relative/path size` per file, sorted: the same format on both sides. */
export function listingCommand(guestDir: string): string {
  return `cd ${shellQuote(guestDir)} 2>/dev/null && find . -type f -printf '%P %s\\n' | LC_ALL=C sort`;
}

export function hostListing(hostDir: string): string {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) lines.push(`${relative(hostDir, path)} ${statSync(path).size}`);
    }
  };
  walk(hostDir);
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join('\n');
}

export async function syncPayload(ctx: RunContext, machine: Machine, payload: DiskPayload): Promise<'copied' | 'unchanged'> {
  const remote = (await machine.exec(listingCommand(payload.guestDir), { check: false })).stdout.trim();
  if (remote === hostListing(payload.hostDir)) return 'unchanged';
  const archive = execFileSync('tar', ['-C', payload.hostDir, '--owner=0', '--group=0', '-czf', '-', '.'], { maxBuffer: 4 * 2 ** 30 });
  await ctx.phase(`copy ${payload.label}`, ctx.scaled(600_000), (signal) =>
    machine.exec(`mkdir -p ${shellQuote(payload.guestDir)} && tar -xzf - -C ${shellQuote(payload.guestDir)} --no-same-owner`, { input: archive, signal, timeoutMs: ctx.scaled(600_000) }), machine.name);
  return 'copied';
}
