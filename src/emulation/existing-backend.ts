import { checkCacheDisk, type Backend } from './backend.js';
import { hostArch } from './boards.js';

/** A cluster someone else made, reached through its kubeconfig: no machines to start. */
export const existingBackend: Backend = {
  name: 'existing',
  machines: false,
  measuresBaseline: false,
  snapshots: false,
  guestArch: () => hostArch(),
  async describeHost(spec) {
    return { label: `an existing cluster (${spec.kubeconfig})`, defaultTimeoutScale: 1, environment: { board: 'existing', accel: 'native' } };
  },
  preflight: (spec) => checkCacheDisk(spec.cacheDir),
};
