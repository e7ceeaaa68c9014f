import type { RunContext } from '../core/context.js';
import type { ClusterNode } from '../cluster/distribution.js';
import type { Machine } from '../emulation/machine.js';

/** A machine that can be powered on again from the same disk (the multi-node work adds `powerOn` to some backends). */
type PowerOnCapable = Machine & { powerOn(): Promise<void> };

export function canPowerOff(node: ClusterNode): node is ClusterNode & { machine: Machine } {
  return Boolean(node.machine?.capabilities.has('power-off'));
}

export function canPowerOn(machine: Machine): machine is PowerOnCapable {
  return machine.capabilities.has('power-on') && typeof (machine as Partial<PowerOnCapable>).powerOn === 'function';
}

/** Hard power-off of a node, recorded as a fault event with the reason. */
export async function powerOffNode(ctx: RunContext, node: ClusterNode & { machine: Machine }, why: string): Promise<void> {
  ctx.events.emit({ type: 'fault', node: node.name, fault: 'power-off', detail: why });
  ctx.progress.info(`fault: powering off ${node.name} (${why})`);
  await node.machine.powerOff();
}

export async function powerOnNode(ctx: RunContext, node: ClusterNode & { machine: PowerOnCapable }, why: string): Promise<void> {
  ctx.events.emit({ type: 'fault', node: node.name, fault: 'power-on', detail: why });
  ctx.progress.info(`fault: powering on ${node.name} (${why})`);
  await node.machine.powerOn();
}
