import type { RunContext } from '../core/context.js';
import type { Arch } from '../emulation/boards.js';
import type { DiskPayload } from '../emulation/images/guest-images.js';
import type { Machine } from '../emulation/machine.js';
import type { Distribution, DistributionClaims, GuestImageSpec, PreflightContext, PreflightReport, StartedCluster, Topology } from './distribution.js';
import { ensureWorkloadImages } from './upstream/artifacts.js';

/** Where the workload image tarballs are on an edgeproof guest disk (and on ssh hosts, after payload sync). */
export const IMAGES_ON_DISK = '/opt/edgeproof/images';

/**
 * What the distributions installed by their own installers (MicroK8s, K3s,
 * minikube) share: a systemd guest image variant, edgeproof's workload
 * images as the only payload, and the preflight run before anything is built.
 */
export abstract class InstalledDistribution implements Distribution {
  abstract readonly name: string;
  abstract readonly version: string;
  abstract readonly apiPort: number;
  abstract readonly claims: DistributionClaims;
  abstract guestImage(arch: Arch): GuestImageSpec;
  abstract preflight(ctx: PreflightContext): Promise<PreflightReport>;
  abstract formCluster(ctx: RunContext, machines: Machine[], topology: Topology): Promise<StartedCluster>;

  guestPackages(arch: Arch): string[] {
    return this.guestImage(arch).packages;
  }

  /** Checked first: without internet or air-gap files, nothing is built or booted for a run that cannot install. */
  async diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]> {
    await this.preflight({ arch, signal: ctx.signal });
    return [await ensureWorkloadImages(ctx, arch)];
  }
}
