import createDebug from 'debug';

/** One debug namespace per layer: edgeproof:qemu, edgeproof:upstream, edgeproof:kube, ... */
export function logger(layer: string): createDebug.Debugger {
  return createDebug(`edgeproof:${layer}`);
}
