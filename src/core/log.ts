import { format } from 'node:util';
import createDebug from 'debug';
import { redactText } from './redact.js';

/** One debug namespace per layer: edgeproof:qemu, edgeproof:upstream, edgeproof:kube, ... Registered secrets never reach the log. */
export function logger(layer: string): createDebug.Debugger {
  const debug = createDebug(`edgeproof:${layer}`);
  debug.log = (...args: unknown[]) => process.stderr.write(`${redactText(format(...args))}\n`);
  return debug;
}
