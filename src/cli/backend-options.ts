/**
 * The run flags that choose where a cluster comes from and which
 * distribution makes it: --distro, --version, --source, --channel, --airgap,
 * --backend, --hosts, --kubeconfig, --context, --topology. Pure validation:
 * every combination that cannot work is a UsageError before anything starts
 * (the lead's run-options.ts calls parseBackendOptions).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Arch } from '../emulation/boards.js';
import { loadHostsFile, type HostEntry } from '../emulation/ssh/hosts-file.js';
import type { Distribution, Topology } from '../cluster/distribution.js';
import { imagesCommand, resolveAirgapFiles } from '../cluster/install-source.js';
import { parseTopology } from '../cluster/topology.js';
import { loadExistingKubeconfig } from '../distros/existing/existing-cluster.js';
import { distributionByName, distroNames, type AnyDistributionOptions, type DistroName } from '../distros/registry.js';
import { backendNames, requireChoice } from './run-options.js';
import type { BackendName } from '../emulation/machine.js';
import type { BackendOptions } from '../run/run-options.js';

export type { BackendName, BackendOptions };

/** The flags as commander hands them over. */
export interface BackendFlags {
  backend?: string;
  distro?: string;
  version?: string;
  source?: string[];
  channel?: string;
  airgap?: string;
  hosts?: string;
  kubeconfig?: string;
  context?: string;
  topology?: string;
}

/**
 * Validates the backend and distribution flags together. `arch` is the
 * board's for qemu (and the host's for container); ssh hosts carry their own.
 */
export function parseBackendOptions(flags: BackendFlags, context: { arch: Arch }): BackendOptions {
  const backend = requireChoice(flags.backend ?? 'qemu', backendNames, 'backend', '--backend');
  if (backend === 'existing') return existingOptions(flags);
  for (const [flag, value] of [['--kubeconfig', flags.kubeconfig], ['--context', flags.context]] as const) {
    if (value !== undefined) throw new UsageError(`${flag} applies to --backend existing only`, `add --backend existing, or drop ${flag}`);
  }
  if (flags.hosts !== undefined && backend !== 'ssh') throw new UsageError('--hosts applies to --backend ssh only', 'add --backend ssh, or drop --hosts');
  const distro = requireChoice(flags.distro ?? 'upstream', distroNames, 'distribution', '--distro');
  const distroOptions = distributionOptions(flags);
  const distribution = distributionByName(distro, distroOptions);
  if (backend === 'ssh') {
    if (!flags.hosts) throw new UsageError('--backend ssh needs --hosts FILE', 'list your boards in a hosts file (see README.md, ssh backend)');
    const hostsFile = resolve(flags.hosts);
    const hosts = orderByRole(loadHostsFile(hostsFile));
    const topology = topologyOfHosts(hosts);
    if (flags.topology !== undefined && !sameTopology(parseTopology(flags.topology), topology)) {
      throw new UsageError(`--topology ${flags.topology} does not match ${hostsFile}: its hosts make ${topology.controlPlanes}+${topology.workers}`, 'drop --topology (the hosts file sets it), or change the hosts\' roles');
    }
    for (const arch of new Set(hosts.map((h) => h.arch))) {
      distribution.validate?.(arch, topology);
      checkAirgapDir(distribution, distroOptions, arch);
    }
    return { backend, distro, distroOptions, topology, hosts, hostsFile };
  }
  const topology = parseTopology(flags.topology ?? '1');
  distribution.validate?.(context.arch, topology);
  checkAirgapDir(distribution, distroOptions, context.arch);
  return { backend, distro, distroOptions, topology };
}

/** Every file the distribution reads from --airgap must be there, before a run directory exists or anything boots. */
function checkAirgapDir(distribution: Distribution, options: AnyDistributionOptions, arch: Arch): void {
  if (!options.airgapDir || !distribution.airgapFiles) return;
  const list = imagesCommand(distribution.name, { ...(options.version ? { version: distribution.version } : {}), ...(options.channel ? { channel: distribution.version } : {}), arch });
  resolveAirgapFiles(distribution.name, options.airgapDir, distribution.airgapFiles(arch), list);
}

function existingOptions(flags: BackendFlags): BackendOptions {
  if (!flags.kubeconfig) throw new UsageError('--backend existing needs --kubeconfig FILE', 'pass the kubeconfig of the cluster to test (and --context to pick one of its contexts)');
  const refused: [string, string | undefined][] = [
    ['--hosts', flags.hosts],
    ['--version', flags.version],
    ['--source', flags.source?.join(',')],
    ['--channel', flags.channel],
    ['--airgap', flags.airgap],
  ];
  for (const [flag, value] of refused) {
    if (value !== undefined) throw new UsageError(`${flag} does not apply to --backend existing: the cluster is already installed`, `drop ${flag}`);
  }
  if (flags.distro !== undefined && flags.distro !== 'upstream') {
    throw new UsageError(`--distro ${flags.distro} does not apply to --backend existing: edgeproof reads what the cluster is`, 'drop --distro');
  }
  if (flags.topology !== undefined && !sameTopology(parseTopology(flags.topology), { controlPlanes: 1, workers: 0 })) {
    throw new UsageError(`--topology ${flags.topology} does not apply to --backend existing: the cluster has the nodes it has`, 'drop --topology');
  }
  const kubeconfig = resolve(flags.kubeconfig);
  loadExistingKubeconfig(kubeconfig, flags.context);
  return {
    backend: 'existing',
    distro: 'upstream',
    distroOptions: {},
    topology: { controlPlanes: 1, workers: 0 },
    kubeconfig,
    ...(flags.context ? { context: flags.context } : {}),
  };
}

function distributionOptions(flags: BackendFlags): AnyDistributionOptions {
  const options: AnyDistributionOptions = {};
  if (flags.version !== undefined) options.version = flags.version.trim();
  if (flags.source?.length) options.sources = flags.source.map((source) => source.trim());
  if (flags.channel !== undefined) options.channel = flags.channel.trim();
  if (flags.airgap !== undefined) {
    const dir = resolve(flags.airgap);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--airgap ${flags.airgap} is not a directory`, 'put the installer files in a directory (`edgeproof images --distro D` lists them)');
    options.airgapDir = dir;
  }
  return options;
}

function orderByRole(hosts: HostEntry[]): HostEntry[] {
  return [...hosts.filter((h) => h.role === 'control-plane'), ...hosts.filter((h) => h.role === 'worker')];
}

function topologyOfHosts(hosts: HostEntry[]): Topology {
  return { controlPlanes: hosts.filter((h) => h.role === 'control-plane').length, workers: hosts.filter((h) => h.role === 'worker').length };
}

function sameTopology(a: Topology, b: Topology): boolean {
  return a.controlPlanes === b.controlPlanes && a.workers === b.workers;
}
