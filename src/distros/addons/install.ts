import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { RunContext } from '../../core/context.js';
import { PrerequisiteMissingError } from '../../core/errors.js';
import { hostRun, onPath } from '../../core/host-exec.js';
import { shellQuote, type Machine } from '../../emulation/machine.js';
import type { StartedCluster } from '../../cluster/distribution.js';
import type { AddonRequest } from '../../cluster/addons/catalog.js';
import { enablePlan, isPlan, type PlanTarget } from './enable-plans.js';
import type { AddonInstaller, EnableStep, InstallReport } from '../../cluster/addons/installer.js';

/**
 * The installer for one started cluster: resolves the distribution's plan and
 * runs its steps. It returns when the steps are done; waiting for the addon
 * to become ready is the suite's (it knows the addon's presence signals).
 */
export function addonInstaller(target: PlanTarget, cluster: StartedCluster): AddonInstaller {
  return async (ctx, request) => {
    const plan = enablePlan(target, request);
    if (!isPlan(plan)) throw new PrerequisiteMissingError(`a way to install ${request.addon.title} on ${plan.distro}`, plan.reason);
    const steps: InstallReport['steps'] = [];
    for (const step of plan.steps) {
      ctx.signal.throwIfAborted();
      const started = Date.now();
      await runStep(ctx, cluster, step);
      steps.push({ step: describeStep(step), durationMs: Date.now() - started });
    }
    return { plan, steps };
  };
}

/** One line per step, as a person would type it (no file contents, no secrets). */
export function describeStep(step: EnableStep): string {
  switch (step.kind) {
    case 'node-command':
      return `on the first control plane: ${step.argv.join(' ')}`;
    case 'host-command':
      return `${step.argv.join(' ')}${step.pipeToKubectlApply ? ' | kubectl apply -f -' : ''}`;
    case 'node-file':
      return `write ${step.path} on every control plane`;
    case 'kubectl-apply':
      return `kubectl apply -f ${step.url}`;
    case 'kubectl-apply-inline':
      return `kubectl apply (${step.what})`;
    case 'helm':
      return `helm upgrade --install ${step.release} ${step.chart} --repo ${step.repo} --version ${step.version} -n ${step.namespace}`;
  }
}

async function runStep(ctx: RunContext, cluster: StartedCluster, step: EnableStep): Promise<void> {
  const timeoutMs = ctx.scaled(300_000);
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
  switch (step.kind) {
    case 'node-command': {
      const machine = controlPlaneMachines(cluster)[0]!;
      await machine.exec(step.argv.map(shellQuote).join(' '), { timeoutMs, signal: ctx.signal });
      return;
    }
    case 'node-file':
      for (const machine of controlPlaneMachines(cluster)) {
        await machine.exec(`mkdir -p ${shellQuote(dirname(step.path))}`, { timeoutMs: ctx.scaled(30_000), signal: ctx.signal });
        await machine.writeFile(step.path, step.content, 0o600);
      }
      return;
    case 'host-command': {
      await requireTool(step.argv[0]!);
      requireCurrentContext(cluster, step.argv[0]!);
      const { stdout } = await hostRun(step.argv[0]!, step.argv.slice(1), { env, timeoutMs, signal: ctx.signal, ...(step.input ? { input: step.input } : {}) });
      if (step.pipeToKubectlApply) await kubectl(ctx, cluster, ['apply', '-f', '-'], stdout);
      return;
    }
    case 'kubectl-apply':
      await kubectl(ctx, cluster, ['apply', '-f', step.url]);
      return;
    case 'kubectl-apply-inline':
      await kubectl(ctx, cluster, ['apply', '-f', '-'], step.manifest);
      return;
    case 'helm': {
      await requireTool('helm');
      const context = cluster.kubeContext ? ['--kube-context', cluster.kubeContext] : [];
      const args = ['upgrade', '--install', step.release, step.chart, '--repo', step.repo, '--version', step.version, '--namespace', step.namespace, '--create-namespace', '--kubeconfig', cluster.kubeconfigPath, ...context, '--wait=false'];
      if (step.values) {
        const valuesPath = join(ctx.tempDir, 'addons', `${step.release}-values.yaml`);
        mkdirSync(dirname(valuesPath), { recursive: true });
        writeFileSync(valuesPath, stringify(step.values), { mode: 0o600 });
        args.push('--values', valuesPath);
      }
      await hostRun('helm', args, { env, timeoutMs, signal: ctx.signal });
      return;
    }
  }
}

async function kubectl(ctx: RunContext, cluster: StartedCluster, args: string[], input?: string): Promise<void> {
  await requireTool('kubectl');
  const context = cluster.kubeContext ? ['--context', cluster.kubeContext] : [];
  await hostRun('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...context, ...args], { timeoutMs: ctx.scaled(300_000), signal: ctx.signal, ...(input !== undefined ? { input } : {}) });
}

/** A CLI in a plan gets only KUBECONFIG, so it would use the file's current context, not the one chosen. */
function requireCurrentContext(cluster: StartedCluster, tool: string): void {
  if (!cluster.kubeContext) return;
  throw new PrerequisiteMissingError(
    `a way to point ${tool} at context "${cluster.kubeContext}" of ${cluster.kubeconfigPath}`,
    `make it the file's current context (kubectl config use-context ${cluster.kubeContext}) and run without --context, or install the addon yourself`,
  );
}

async function requireTool(tool: string): Promise<void> {
  if (!(await onPath(tool))) throw new PrerequisiteMissingError(`${tool} on the harness host's PATH`, `install ${tool} to let edgeproof enable addons this way`);
}

function controlPlaneMachines(cluster: StartedCluster): Machine[] {
  const machines = cluster.nodes.filter((n) => n.role === 'control-plane' && n.machine).map((n) => n.machine!);
  if (machines.length === 0) throw new PrerequisiteMissingError('a node handle on a control-plane node', 'this backend gives no shell on the nodes (existing cluster): enable the addon yourself, then rerun');
  return machines;
}
