import type { RunContext } from '../../core/context.js';
import type { AddonName, AddonRequest } from './catalog.js';

/** The contract between a driver's addon installs and the addon suites. */

/**
 * How a distribution enables an addon, as data: each step is a command, a
 * file or a manifest, executed by the driver's installer (distros/addons/install.ts). Plans are pure functions of the
 * distribution, the addon and its validated arguments, so they are unit-tested
 * as golden data and reviewed without a cluster.
 */
export type EnableStep =
  /** A command on a node (MicroK8s' `microk8s enable`). */
  | { kind: 'node-command'; on: 'first-control-plane'; argv: string[] }
  /** A command on the harness host (minikube's `addons enable`, a CLI's `install`), with the run's kubeconfig. */
  | { kind: 'host-command'; argv: string[]; input?: string; pipeToKubectlApply?: boolean }
  /** A file written on a node (K3s applies what lands in its manifests directory). */
  | { kind: 'node-file'; on: 'every-control-plane'; path: string; content: string }
  /** `kubectl apply` of a URL or of an inline manifest, from the host. */
  | { kind: 'kubectl-apply'; url: string }
  | { kind: 'kubectl-apply-inline'; manifest: string; what: string }
  /** `helm upgrade --install` from the host. */
  | { kind: 'helm'; release: string; repo: string; chart: string; version: string; namespace: string; values?: Record<string, unknown> };

export interface EnablePlan {
  distro: string;
  addon: AddonName;
  /** How this distribution provides it. */
  via: 'distribution addon' | 'bundled' | 'manifests' | 'helm' | 'cli';
  steps: EnableStep[];
  /** The documentation the steps follow. */
  docs: string;
  /** What the user should know (e.g. "K3s must be started with --disable servicelb"). */
  notes: string[];
}

/** What an install did, step by step, for the check's evidence. */
export interface InstallReport {
  plan: EnablePlan;
  steps: { step: string; durationMs: number }[];
}

/** Installs an addon on a cluster; throws when it cannot (the suite reports that as skipped, with the message). */
export type AddonInstaller = (ctx: RunContext, request: AddonRequest) => Promise<InstallReport>;
