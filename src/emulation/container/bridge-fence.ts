import { existsSync } from 'node:fs';
import { PrerequisiteMissingError, UsageError, describeError } from '../../core/errors.js';
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
const BRIDGE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const RUN_ID = /^[A-Za-z0-9_.-]+$/;

/** The rule after `-I INPUT` (or `-C`, `-D`): new traffic in from `bridge` is dropped. */
export function fenceRule(bridge: string, runId: string): string[] {
  if (!BRIDGE_NAME.test(bridge)) throw new UsageError(`"${bridge}" is not a network interface name`);
  if (!RUN_ID.test(runId)) throw new UsageError(`run id "${runId}" cannot label a firewall rule`);
  return ['-i', bridge, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-m', 'comment', '--comment', `${RULE_LABEL}=${runId}`, '-j', 'DROP'];
}

/** IPv6 too where the host has it: a node can turn IPv6 on at its end and reach the bridge's link-local address. */
export function fenceTools(): string[] {
  return existsSync('/proc/net/if_inet6') ? ['iptables', 'ip6tables'] : ['iptables'];
}

/** Inserts the fence for IPv4 and IPv6; a host that refuses it is a missing prerequisite, never a run without it. */
export async function installBridgeFence(bridge: string, runId: string): Promise<void> {
  const rule = fenceRule(bridge, runId);
  for (const tool of fenceTools()) {
    try {
      await hostRun(tool, ['-w', '-I', 'INPUT', ...rule]);
    } catch (error) {
      throw new PrerequisiteMissingError(
        `a host firewall rule fencing node network ${bridge} off from the host (${tool}: ${describeError(error)})`,
        'the container backend adds iptables rules on the host: run as root with iptables installed (apt-get install iptables), or use --backend qemu',
        { cause: error },
      );
    }
  }
}

/** Every fence rule of the harness now present, as `iptables -S` prints it after the tool's name (tests, `doctor`). */
export async function harnessFenceRules(): Promise<string[]> {
  const rules: string[] = [];
  for (const tool of fenceTools()) {
    const { stdout } = await hostRun(tool, ['-w', '-S', 'INPUT']);
    rules.push(...stdout.split('\n').filter((line) => /--comment "?dev\.edgeproof\/session=/.test(line)).map((line) => `${tool} ${line}`));
  }
  return rules;
}

/** The fence rules on `bridge` now present. */
export async function fenceRulesOn(bridge: string): Promise<string[]> {
  return (await harnessFenceRules()).filter((rule) => rule.includes(` -i ${bridge} `));
}

/** Deletes every fence rule on `bridge`, whichever run made it; returns what could not be deleted. */
export async function removeBridgeFence(bridge: string): Promise<string[]> {
  if (!BRIDGE_NAME.test(bridge)) return [`fence on "${bridge}": not a network interface name, left alone`];
  let rules: string[];
  try {
    rules = await fenceRulesOn(bridge);
  } catch (error) {
    return [`fence on ${bridge}: cannot list the rules: ${describeError(error)}`];
  }
  const errors: string[] = [];
  for (const rule of rules) {
    // `iptables -A INPUT -i br-x ... --comment "dev.edgeproof/session=..." -j DROP`: the same words
    // after -D delete it (the comment has no spaces; iptables prints it quoted).
    const [tool, , chain, ...spec] = rule.split(' ').map((word) => word.replace(/^"(.*)"$/, '$1'));
    await hostRun(tool!, ['-w', '-D', chain!, ...spec]).catch((error: unknown) => errors.push(`${rule}: ${describeError(error)}`));
  }
  return errors;
}
