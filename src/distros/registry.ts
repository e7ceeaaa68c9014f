import { UsageError } from '../core/errors.js';
import type { Distribution, DistributionOptions } from '../cluster/distribution.js';
import { K3sDistribution, type K3sOptions } from './k3s/k3s-distribution.js';
import { Microk8sDistribution } from './microk8s/microk8s-distribution.js';
import { MinikubeDistribution, type MinikubeOptions } from './minikube/minikube-distribution.js';
import { UpstreamDistribution } from './upstream/upstream-distribution.js';
import { distroNames } from './names.js';
import versions from '../../fixtures/versions.json' with { type: 'json' };

export { distroNames, type DistroName } from './names.js';

/** Everything a driver can be told from the command line (each takes what applies to it). */
export type AnyDistributionOptions = DistributionOptions & K3sOptions & MinikubeOptions;

/**
 * A driver by name, configured; a version, channel or air-gap option the
 * driver cannot take is a UsageError here, before anything starts.
 */
export function distributionByName(name: string, options: AnyDistributionOptions = {}): Distribution {
  switch (name) {
    case 'upstream':
      rejectUpstreamOptions(options);
      return new UpstreamDistribution(options);
    case 'microk8s':
      rejectSources(name, options);
      return new Microk8sDistribution(options);
    case 'k3s':
      rejectSources(name, options);
      return new K3sDistribution(options);
    case 'minikube':
      rejectSources(name, options);
      return new MinikubeDistribution(options);
    default:
      throw new UsageError(`Unknown distribution "${name}"`, `valid distributions: ${distroNames.join(', ')}`);
  }
}

/** Upstream is built here from Go modules: --version and --source choose module versions; no channel, nothing to download. */
function rejectUpstreamOptions(options: AnyDistributionOptions): void {
  if (options.channel) throw new UsageError('--channel applies to microk8s only');
  // --airgap is accepted: upstream needs nothing from outside at run time (its directory is not read), and the run proves it (the airgap suite).
}

/** --source builds components from their Go modules: only upstream's are in the catalog so far. */
function rejectSources(name: string, options: AnyDistributionOptions): void {
  if (options.sources?.length) throw new UsageError(`--source applies to --distro upstream (components built from Go modules), not ${name}`, 'drop --source, or use --distro upstream');
}

/** What vendors advertise as minimum memory (MB), from Canonical's comparison; shown beside measured figures. */
export const VENDOR_MEMORY_CLAIMS_MB: Record<string, number> = { ...versions.claims };
