import type { RunContext } from '../../core/context.js';
import { EdgeproofError } from '../../core/errors.js';
import { checkCacheDisk, type Backend, type MachineRecipe, type MachineSpec } from '../backend.js';
import { hostArch } from '../boards.js';
import type { HostEntry } from './hosts-file.js';
import { openSshHosts, type SshMachine } from './ssh-machine.js';
import { syncPayload } from './sync-payloads.js';

function hostsOf(spec: MachineSpec): HostEntry[] {
  if (!spec.hosts) throw new EdgeproofError('INTERNAL', 'the ssh backend needs the hosts of a hosts file');
  return spec.hosts;
}

/** Real hosts reached over SSH and checked against the recipe's requirements, then the recipe's payloads synced to each. */
export async function startSshMachines(ctx: RunContext, spec: MachineSpec, recipe: MachineRecipe): Promise<SshMachine[]> {
  const hosts = await ctx.phase('reach hosts', ctx.scaled(60_000), () => openSshHosts(ctx, hostsOf(spec), recipe.requirements));
  await Promise.all(hosts.map(async (host) => {
    for (const payload of await recipe.payloads(ctx, host.arch)) await ctx.phase(`sync ${payload.label}`, ctx.scaled(10 * 60_000), () => syncPayload(ctx, host, payload), host.name);
  }));
  return hosts;
}

export const sshBackend: Backend = {
  name: 'ssh',
  machines: true,
  measuresBaseline: false,
  snapshots: false,
  // The distribution's preflight is asked about this host's architecture; each host's own is checked when it is reached.
  guestArch: () => hostArch(),
  async describeHost(spec) {
    const hosts = hostsOf(spec);
    // Real boards are slower than this host but not emulated: a modest scale.
    return { label: `${hosts.length} host(s) over SSH from ${spec.hostsFile}`, defaultTimeoutScale: 2, environment: { board: 'ssh', arch: [...new Set(hosts.map((h) => h.arch))].join(','), accel: 'native' } };
  },
  preflight: (spec) => checkCacheDisk(spec.cacheDir),
  startMachines: startSshMachines,
};
