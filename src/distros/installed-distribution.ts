import type { RunContext } from '../core/context.js';
import type { Arch } from '../emulation/boards.js';
import type { DiskPayload } from '../emulation/images/guest-images.js';
import type { Machine } from '../emulation/machine.js';
import type { Distribution, DistributionClaims, GuestImageSpec, PreflightContext, PreflightReport, StartedCluster, Topology } from '../cluster/distribution.js';
import { ensureWorkloadImages, workloadImageNeeds } from './upstream/artifacts.js';
import { resolveAirgapFiles, type AirgapFile } from '../cluster/install-source.js';
import { airgapFileNeeds, guestImageNeeds, type NeededImage, type NeedsOptions, type RunNeeds } from '../cluster/run-needs.js';

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

  /** The distribution's own images (inside its air-gap files, or in a registry), per arch. */
  protected abstract distroImages(arch: Arch): NeededImage[];
  abstract airgapFiles(arch: Arch): AirgapFile[];

  /** What `edgeproof images --distro <this>` prints. */
  abstract imagesCommand(arch: Arch): string;

  /** The air-gap files, the distribution's images, edgeproof's workload images and the guest image's Debian packages. */
  async needs(arch: Arch, options: NeedsOptions = {}): Promise<RunNeeds> {
    const workload = await workloadImageNeeds(arch, options);
    return {
      distro: this.name,
      version: this.version,
      arch,
      files: [...airgapFileNeeds(this.airgapFiles(arch)), ...workload.files, ...guestImageNeeds(this.guestPackages(arch), arch)],
      images: [...this.distroImages(arch), ...workload.images],
    };
  }

  /** The air-gap files found in `dir` (a UsageError naming what is missing, and the images command). */
  protected resolveAirgap(dir: string, arch: Arch): Record<string, string> {
    return resolveAirgapFiles(this.name, dir, this.airgapFiles(arch), this.imagesCommand(arch));
  }

  guestPackages(arch: Arch): string[] {
    return this.guestImage(arch).packages;
  }

  /** Checked first: without internet or air-gap files, nothing is built or booted for a run that cannot install. */
  async diskPayloads(ctx: RunContext, arch: Arch): Promise<DiskPayload[]> {
    await this.preflight({ arch, signal: ctx.signal });
    return [await ensureWorkloadImages(ctx, arch)];
  }
}
