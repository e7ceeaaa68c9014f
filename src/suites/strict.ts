import type { RunContext } from '../core/context.js';
import type { Verdict } from '../core/events.js';
import { addonSpec } from '../cluster/addons/catalog.js';
import type { StartedCluster } from '../cluster/distribution.js';
import { fail, notApplicable, pass, type CheckOutcome } from './check.js';
import { gateArea, type AddonGateOptions } from './addons/gate.js';
import { countSnapDenials, type AllowedDenial } from './addons/parsers/apparmor.js';
import { parseMicrok8sStatus } from './addons/parsers/microk8s-status.js';
import { MICROK8S_STRICT_PLUGS, parseSnapConnections, unconnectedPlugs } from './addons/parsers/snap.js';
import { kube } from '../cluster/kube-access.js';
import { SuiteRun, type CheckRef } from './suite-kit.js';

export const STRICT_CHECKS = {
  plugs: { id: 'STRICT-1', name: 'MicroK8s runs strictly confined with every required plug connected' },
  denials: { id: 'STRICT-2', name: 'no unexpected AppArmor denial for the snap in the kernel log; coredns and calico not crash-looping' },
  sameVerdicts: { id: 'STRICT-3', name: 'the suites give the same verdicts under strict as under classic' },
} satisfies Record<string, CheckRef>;

/** Checks MicroK8s documents as not working under strict confinement (checks.md STRICT-3): left out of the comparison. */
export const STRICT_SKIP_PREFIXES = ['KATA-'];

export interface StrictOptions extends AddonGateOptions {
  /** Denials a release is known to produce (per release, with the reason). */
  allowlist?: AllowedDenial[];
  /** Verdicts of a classic run of the same suites (check id -> verdict), for STRICT-3. */
  classicVerdicts?: Record<string, Verdict>;
}

/**
 * Strict-confinement suite (MicroK8s). Run it last: STRICT-2 reads the
 * kernel log since boot, so it covers every suite of the run, and STRICT-3
 * compares this run's verdicts with a classic run's.
 */
export async function runStrictSuite(ctx: RunContext, cluster: StartedCluster, options: StrictOptions = {}): Promise<CheckOutcome[]> {
  const run = new SuiteRun(ctx, cluster, 'strict');
  const gate = await gateArea(run, [addonSpec('strict-confinement')], options);
  if (!gate.ready) {
    await run.notRun(Object.values(STRICT_CHECKS), gate.verdict, gate.reason, gate.evidence);
    return run.outcomes;
  }
  await run.check(STRICT_CHECKS.plugs, () => plugsConnected(run));
  await run.check(STRICT_CHECKS.denials, () => apparmorDenials(run, options.allowlist ?? []));
  await run.check(STRICT_CHECKS.sameVerdicts, async () => {
    if (!options.classicVerdicts) return notApplicable('no classic run to compare with (give the verdicts of a classic run of the same suites)');
    return compareOutcome(compareVerdicts(options.classicVerdicts, currentVerdicts(ctx, 'strict'), STRICT_SKIP_PREFIXES));
  });
  return run.outcomes;
}

async function plugsConnected(run: SuiteRun): Promise<CheckOutcome> {
  const evidence: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const node of run.cluster.nodes.filter((n) => n.machine)) {
    const connections = parseSnapConnections((await node.machine!.exec('snap connections microk8s', { check: false, timeoutMs: run.ctx.scaled(30_000) })).stdout);
    const { missing, optional } = unconnectedPlugs(connections, 'microk8s', MICROK8S_STRICT_PLUGS);
    const statusRun = await node.machine!.exec('microk8s status --format yaml --wait-ready --timeout 300', { check: false, timeoutMs: run.ctx.scaled(330_000) });
    const status = parseMicrok8sStatus(statusRun.stdout);
    evidence[node.name] = { connected: connections.filter((c) => c.slot).length, missing, notConnectedOptional: optional, running: status.running };
    if (missing.length) problems.push(`${node.name}: plugs not connected: ${missing.join(', ')}`);
    if (!status.running) problems.push(`${node.name}: microk8s status says not running${status.message ? ` (${status.message})` : ''}`);
  }
  return problems.length ? fail(problems.join('; '), evidence) : pass(evidence);
}

async function apparmorDenials(run: SuiteRun, allowlist: AllowedDenial[]): Promise<CheckOutcome> {
  const evidence: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const node of run.cluster.nodes.filter((n) => n.machine)) {
    const log = (await node.machine!.exec('journalctl -k -b --no-pager 2>/dev/null || dmesg', { check: false, timeoutMs: run.ctx.scaled(60_000) })).stdout;
    const count = countSnapDenials(log, 'microk8s', allowlist);
    evidence[node.name] = { denials: count.total, allowed: count.allowed, byKind: count.byKind };
    if (count.unexpected.length) problems.push(`${node.name}: ${count.unexpected.length} unexpected denial(s), first: ${count.unexpected[0]!.raw.slice(0, 200)}`);
  }
  // microk8s#5140 and #5190: denials showed as coredns and calico-kube-controllers crash-looping.
  const pods = (await kube('list kube-system pods', () => run.clients.core.listNamespacedPod({ namespace: 'kube-system' }))).items;
  const looping = pods.filter((p) => /^(coredns|calico-kube-controllers)/.test(p.metadata?.name ?? '') && p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'));
  if (looping.length) problems.push(`crash-looping: ${looping.map((p) => p.metadata?.name).join(', ')}`);
  return problems.length ? fail(problems.join('; '), evidence) : pass(evidence);
}

/** The verdict of every check this run recorded so far, except `exceptSuite`'s own. */
export function currentVerdicts(ctx: RunContext, exceptSuite: string): Record<string, Verdict> {
  const verdicts: Record<string, Verdict> = {};
  for (const event of ctx.events.events) if (event.type === 'check' && event.suite !== exceptSuite) verdicts[event.id] = event.verdict;
  return verdicts;
}

export interface VerdictComparison {
  compared: number;
  differences: { id: string; classic: Verdict; strict: Verdict }[];
  onlyClassic: string[];
  onlyStrict: string[];
  skipped: string[];
}

/** Check by check, classic against strict, leaving out the documented strict exceptions. */
export function compareVerdicts(classic: Record<string, Verdict>, strict: Record<string, Verdict>, skipPrefixes: readonly string[]): VerdictComparison {
  const skip = (id: string) => skipPrefixes.some((p) => id.startsWith(p));
  const ids = [...new Set([...Object.keys(classic), ...Object.keys(strict)])].sort();
  const result: VerdictComparison = { compared: 0, differences: [], onlyClassic: [], onlyStrict: [], skipped: [] };
  for (const id of ids) {
    if (skip(id)) result.skipped.push(id);
    else if (!(id in strict)) result.onlyClassic.push(id);
    else if (!(id in classic)) result.onlyStrict.push(id);
    else {
      result.compared++;
      if (classic[id] !== strict[id]) result.differences.push({ id, classic: classic[id]!, strict: strict[id]! });
    }
  }
  return result;
}

function compareOutcome(comparison: VerdictComparison): CheckOutcome {
  if (comparison.compared === 0) return notApplicable('no check ran in both the classic and this strict run', { ...comparison });
  const problems = [
    ...comparison.differences.map((d) => `${d.id}: classic ${d.classic}, strict ${d.strict}`),
    ...(comparison.onlyClassic.length ? [`not run under strict: ${comparison.onlyClassic.join(', ')}`] : []),
  ];
  return problems.length ? fail(problems.join('; '), { ...comparison }) : pass({ ...comparison });
}
