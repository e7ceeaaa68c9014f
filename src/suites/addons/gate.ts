import type { CoreV1Event } from '@kubernetes/client-node';
import { describeError, formatMs } from '../../core/errors.js';
import type { Verdict } from '../../core/events.js';
import { sleep } from '../../core/wait.js';
import type { AddonRequest, AddonSpec } from '../../cluster/addons/catalog.js';
import type { AddonInstaller, InstallReport } from '../../cluster/addons/installer.js';
import { kube } from '../../cluster/kube-access.js';
import { describePods, type SuiteRun } from '../suite-kit.js';
import { checkPrerequisites, type PrerequisiteVerdict } from './prerequisites.js';
import { describePresence, probePresence, type Presence } from './presence.js';

export interface AddonGateOptions {
  /** Installs a requested addon the distribution's way; absent: nothing is installed. */
  installer?: AddonInstaller;
  /** Addons the user asked for (`--addon metallb:<pool>`), validated at parse time. */
  requests?: AddonRequest[];
  /** Base budget for an installed addon to become ready (scaled by the run). Default 10 min. */
  readyBudgetMs?: number;
}

export type Gate =
  | { ready: true; addon: AddonSpec; evidence: Record<string, unknown>; installed?: InstallReport }
  | { ready: false; verdict: Exclude<Verdict, 'pass'>; reason: string; evidence: Record<string, unknown> };

/**
 * Decides whether an area's checks can run: an addon of the area is present
 * (ready); or none is, and then: every candidate misses a prerequisite
 * (not applicable, with the probes' evidence), nothing was requested or
 * installing is off (skipped), the install failed (skipped, with the
 * command's error), or it was installed but never became ready (fail, naming
 * its pods and their last events). Never a pass by itself.
 */
export async function gateArea(run: SuiteRun, candidates: AddonSpec[], options: AddonGateOptions): Promise<Gate> {
  const presences: Record<string, Presence> = {};
  for (const addon of candidates) {
    const presence = await probePresence(run.ctx, run.cluster, run.clients, addon);
    presences[addon.name] = presence;
    if (presence.present) return { ready: true, addon, evidence: { addon: addon.name, presence: describePresence(presence) } };
  }
  const prerequisites: Record<string, PrerequisiteVerdict> = {};
  for (const addon of candidates) prerequisites[addon.name] = await checkPrerequisites(run.ctx, run.cluster, run.clients, addon.prerequisites);
  const decision = gateDecision(candidates, presences, prerequisites, options);
  if ('install' in decision) return installAndWait(run, decision.install, options.installer!, options.readyBudgetMs ?? 600_000, decision.evidence);
  return decision;
}

/**
 * The gate's judgement once every candidate is known absent, as a pure
 * function of the probes: not applicable when no candidate could run here,
 * skipped when one could but nothing is to be installed, else install.
 */
export function gateDecision(
  candidates: AddonSpec[],
  presences: Record<string, Presence>,
  prerequisites: Record<string, PrerequisiteVerdict>,
  options: Pick<AddonGateOptions, 'installer' | 'requests'>,
): Extract<Gate, { ready: false }> | { install: AddonRequest; evidence: Record<string, unknown> } {
  const absent = Object.fromEntries(candidates.map((a) => [a.name, presences[a.name] ? describePresence(presences[a.name]!) : 'not probed']));
  const evidence = {
    absent,
    prerequisites: Object.fromEntries(candidates.map((a) => [a.name, prerequisites[a.name]?.met ? 'met' : { missing: prerequisites[a.name]?.missing ?? [], evidence: prerequisites[a.name]?.evidence ?? {} }])),
  };
  const names = candidates.map((a) => a.name).join(', ');
  const possible = candidates.filter((a) => prerequisites[a.name]?.met);
  if (possible.length === 0) {
    const misses = candidates.map((a) => `${a.title} needs ${(prerequisites[a.name]?.missing ?? ['(unprobed)']).join(', ')}`).join('; ');
    return { ready: false, verdict: 'not-applicable', reason: `no ${names} here, and none could run: ${misses}`, evidence };
  }
  const request = options.requests?.find((r) => possible.some((a) => a.name === r.addon.name));
  if (!request) {
    const seen = Object.entries(absent).map(([name, what]) => `${name}: ${what}`).join('; ');
    const hint = `${possible[0]!.name}${possible[0]!.args ? ':<args>' : ''}`;
    return { ready: false, verdict: 'skipped', reason: `none of ${names} is installed (${seen}); request one to install it (--addon ${hint})`, evidence };
  }
  if (!options.installer) return { ready: false, verdict: 'skipped', reason: `${request.addon.title} was requested but installing addons is not enabled for this run`, evidence };
  return { install: request, evidence };
}

async function installAndWait(run: SuiteRun, request: AddonRequest, installer: AddonInstaller, baseBudgetMs: number, evidence: Record<string, unknown>): Promise<Gate> {
  const { ctx } = run;
  const addon = request.addon;
  let installed: InstallReport;
  try {
    installed = await ctx.phase(`install ${addon.name}`, ctx.scaled(900_000), () => installer(ctx, request));
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { ready: false, verdict: 'skipped', reason: `${addon.title} could not be installed: ${describeError(error)}`, evidence };
  }
  const budgetMs = ctx.scaled(baseBudgetMs);
  const deadline = Date.now() + budgetMs;
  let presence: Presence;
  for (;;) {
    presence = await probePresence(ctx, run.cluster, run.clients, addon);
    if (presence.present) return { ready: true, addon, installed, evidence: { ...evidence, addon: addon.name, presence: describePresence(presence), installSteps: installed.steps } };
    if (Date.now() >= deadline) break;
    await sleep(Math.min(5_000, Math.max(0, deadline - Date.now())), ctx.signal);
  }
  const diagnostics = await addonDiagnostics(run, addon);
  return {
    ready: false,
    verdict: 'fail',
    reason: `${addon.title} installed (${installed.plan.via}) but not ready after ${formatMs(budgetMs)}: ${describePresence(presence)}; ${diagnostics.summary}`,
    evidence: { ...evidence, installSteps: installed.steps, ...diagnostics.detail },
  };
}

/** The addon's pods and the last events in its namespaces: what explains a hang. */
export async function addonDiagnostics(run: SuiteRun, addon: AddonSpec): Promise<{ summary: string; detail: Record<string, unknown> }> {
  const detail: Record<string, unknown> = {};
  const parts: string[] = [];
  for (const namespace of addon.namespaces) {
    const pods = (await kube('list pods', () => run.clients.core.listNamespacedPod({ namespace })).catch(() => undefined))?.items ?? [];
    const events = (await kube('list events', () => run.clients.core.listNamespacedEvent({ namespace })).catch(() => undefined))?.items ?? [];
    const last = lastEvents(events, 5);
    detail[namespace] = { pods: describePods(pods), events: last };
    parts.push(`${namespace}: pods ${pods.length ? describePods(pods) : 'none'}; last events ${last.length ? last.join(' | ') : 'none'}`);
  }
  return { summary: parts.join('; '), detail };
}

export function lastEvents(events: CoreV1Event[], count: number): string[] {
  const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
  return [...events]
    .sort((a, b) => time(a) - time(b))
    .slice(-count)
    .map((e) => `${e.type ?? ''} ${e.reason ?? ''} ${e.involvedObject?.kind ?? ''}/${e.involvedObject?.name ?? ''}: ${e.message ?? ''}`.trim());
}
