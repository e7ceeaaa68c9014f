import { UsageError } from '../core/errors.js';
import type { Distribution } from './distribution.js';
import { UpstreamDistribution } from './upstream/upstream-distribution.js';

/** Distributions the CLI accepts. */
export const distroNames = ['upstream'] as const;

export function distributionByName(name: string): Distribution {
  if (name === 'upstream') return new UpstreamDistribution();
  throw new UsageError(`Unknown distribution "${name}"`, `valid distributions: ${distroNames.join(', ')}`);
}

/** What vendors advertise as minimum memory (MB), from Canonical's comparison; shown beside measured figures. */
export const VENDOR_MEMORY_CLAIMS_MB: Record<string, number> = { microk8s: 540, k3s: 512, minikube: 644 };
