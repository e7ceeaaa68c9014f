import type { Distribution, Topology } from '../cluster/distribution.js';
import type { Backend, HostDescription, MachineRecipe, MachineSpec } from '../emulation/backend.js';
import { BACKENDS } from '../emulation/backends.js';
import type { Arch } from '../emulation/boards.js';
import type { BackendName } from '../emulation/machine.js';

/** The user's timeout scale, or the backend's default for this host (its accelerator): one policy for the CLI, the bench scripts and the test fixtures. */
export type TimeoutScalePolicy = { kind: 'given'; scale: number } | { kind: 'backend-default' };

export const BACKEND_DEFAULT_SCALE: TimeoutScalePolicy = { kind: 'backend-default' };

export function timeoutScaleFor(policy: TimeoutScalePolicy, host: HostDescription): number {
  return policy.kind === 'given' ? policy.scale : host.defaultTimeoutScale;
}

/** A run's machines, parsed once from the command line: the board, its size, the topology, the backend that makes them. */
export interface RunSpec extends MachineSpec {
  backend: Backend;
  nodes: Topology;
  timeoutScale: TimeoutScalePolicy;
}

/** The guest ports the harness reaches: the distribution's API server (MicroK8s 16443, minikube 8443, K3s and upstream 6443). */
export function forwardedPorts(distribution: Pick<Distribution, 'apiPort'>): number[] {
  return distribution.apiPort === undefined ? [] : [distribution.apiPort];
}

/** What the machines need from the distribution, handed to the backend as data. */
export function machineRecipe(distribution: Distribution): MachineRecipe {
  return {
    packages: (arch) => distribution.guestPackages(arch),
    ...(distribution.guestImage ? { variant: (arch: Arch) => distribution.guestImage!(arch) } : {}),
    payloads: (ctx, arch) => distribution.diskPayloads(ctx, arch),
    ports: forwardedPorts(distribution),
    ...(distribution.requirements ? { requirements: distribution.requirements } : {}),
  };
}

/** The backend's timeout scale on this host (its accelerator): what `edgeproof run` uses without --timeout-scale, and what bench scripts and test fixtures use unless they choose one. */
export async function backendTimeoutScale(backend: BackendName, spec: MachineSpec): Promise<number> {
  return (await BACKENDS[backend].describeHost(spec)).defaultTimeoutScale;
}
