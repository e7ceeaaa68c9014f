import { existsSync } from 'node:fs';
import { CommandFailedError, PrerequisiteMissingError, UsageError, describeError, tail } from '../../core/errors.js';
import { hostRun } from '../../core/host-exec.js';

/**
 * Host-side rules that fence a cluster's Docker bridge off from the host
 * itself. An `--internal` network already forwards nothing off the machine,
 * but a node still reaches every address of the host (the bridge gateway,
 * the host's own interfaces) through the INPUT chain. The fence drops all of
 * it except replies to connections the host opened: the harness reaches
 * apiservers on node addresses over the bridge, and their answers come back.
 * Each rule carries `dev.edgeproof/session=<run id>` (the containers' label
 * key), so a run removes its own at teardown and a killed run's are swept.
 */
const RULE_LABEL = 'dev.edgeproof/session';
const LABELLED = /--comment "?dev\.edgeproof\/session=/;
const BRIDGE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const RUN_ID = /^[A-Za-z0-9_.-]+$/;
const TOOLS = ['iptables', 'ip6tables'] as const;

/** One address family's rule on one bridge: what a session records. */
export interface BridgeFence {
  tool: (typeof TOOLS)[number];
  bridge: string;
}

/** The rule after `-I INPUT` (or `-C`, `-D`): new traffic in from `bridge` is dropped. */
export function fenceRule(bridge: string, runId: string): string[] {
  if (!BRIDGE_NAME.test(bridge)) throw new UsageError(`"${bridge}" is not a network interface name`);
  if (!RUN_ID.test(runId)) throw new UsageError(`run id "${runId}" cannot label a firewall rule`);
  return ['-i', bridge, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-m', 'comment', '--comment', `${RULE_LABEL}=${runId}`, '-j', 'DROP'];
}

/** IPv6 too where the host has it: a node can turn IPv6 on at its end and reach the bridge's link-local address. */
export function fencesFor(bridge: string): BridgeFence[] {
  const tools = existsSync('/proc/net/if_inet6') ? TOOLS : TOOLS.slice(0, 1);
  return tools.map((tool) => ({ tool, bridge }));
}

/** Inserts one rule; a host that refuses it is a missing prerequisite, never a run without the fence. */
export async function installFence(fence: BridgeFence, runId: string): Promise<void> {
  try {
    await hostRun(fence.tool, ['-w', '-I', 'INPUT', ...fenceRule(fence.bridge, runId)]);
  } catch (error) {
    const said = error instanceof CommandFailedError ? tail(error.outcome.stderr, 1) : describeError(error);
    throw new PrerequisiteMissingError(
      `permission to add ${fence.tool} rules fencing node network ${fence.bridge} off from the host (${fence.tool} said: ${said})`,
      'the container backend adds iptables rules on the host: run as root with iptables installed (apt-get install iptables), or use --backend qemu',
      { cause: error },
    );
  }
}

/** Every fence rule of the harness now present, as `iptables -S` prints it after the tool's name (tests, `doctor`). */
export async function harnessFenceRules(): Promise<string[]> {
  const rules: string[] = [];
  for (const tool of TOOLS) {
    if (tool === 'ip6tables' && !existsSync('/proc/net/if_inet6')) continue;
    const { stdout } = await hostRun(tool, ['-w', '-S', 'INPUT']);
    rules.push(...stdout.split('\n').filter((line) => LABELLED.test(line)).map((line) => `${tool} ${line}`));
  }
  return rules;
}

/** The fence rules on `bridge` now present. */
export async function fenceRulesOn(bridge: string): Promise<string[]> {
  return (await harnessFenceRules()).filter((rule) => rule.includes(` -i ${bridge} `));
}

/** Deletes every rule of this fence, whichever run made it; returns what could not be deleted. */
export async function removeFence(fence: BridgeFence): Promise<string[]> {
  const { tool, bridge } = fence;
  if (!TOOLS.includes(tool) || !BRIDGE_NAME.test(bridge)) return [`fence ${JSON.stringify(fence)}: not a fence this harness makes, left alone`];
  let listed: string;
  try {
    listed = (await hostRun(tool, ['-w', '-S', 'INPUT'])).stdout;
  } catch (error) {
    return [`${tool} fence on ${bridge}: cannot list the rules: ${describeError(error)}`];
  }
  const errors: string[] = [];
  for (const rule of listed.split('\n').filter((line) => line.includes(` -i ${bridge} `) && LABELLED.test(line))) {
    // `-A INPUT -i br-x ... --comment "dev.edgeproof/session=..." -j DROP`: the same words after -D delete it
    // (the comment has no spaces; iptables prints it quoted).
    const [, chain, ...spec] = rule.split(' ').map((word) => word.replace(/^"(.*)"$/, '$1'));
    await hostRun(tool, ['-w', '-D', chain!, ...spec]).catch((error: unknown) => errors.push(`${tool} ${rule}: ${describeError(error)}`));
  }
  return errors;
}
