/**
 * Kubeconfig files as the distributions write them, made usable from the
 * harness: one context kept, file references inlined, the server address
 * rewritten to where the harness reaches the apiserver. Pure functions over
 * YAML text (the secrets in them are never logged).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { EdgeproofError } from '../core/errors.js';

interface NamedCluster {
  name: string;
  cluster: Record<string, unknown> & { server?: string };
}
interface NamedUser {
  name: string;
  user: Record<string, unknown>;
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string; namespace?: string };
}
export interface KubeconfigDocument {
  apiVersion?: string;
  kind?: string;
  clusters: NamedCluster[];
  users: NamedUser[];
  contexts: NamedContext[];
  'current-context'?: string;
  preferences?: Record<string, unknown>;
}

export function parseKubeconfig(text: string, source: string): KubeconfigDocument {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new EdgeproofError('INPUT', `${source} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const config = doc as Partial<KubeconfigDocument> | null;
  if (!config || typeof config !== 'object' || !Array.isArray(config.clusters) || !Array.isArray(config.contexts) || !Array.isArray(config.users)) {
    throw new EdgeproofError('INPUT', `${source} is not a kubeconfig: it needs clusters, contexts and users lists`);
  }
  return config as KubeconfigDocument;
}

/** The context to use: the named one, else current-context; throws saying which contexts exist. */
export function pickContext(doc: KubeconfigDocument, source: string, name?: string): NamedContext {
  const wanted = name ?? doc['current-context'];
  const available = doc.contexts.map((c) => c.name);
  if (!wanted) throw new EdgeproofError('INPUT', `${source} has no current-context`, { hint: `name one of: ${available.join(', ') || '(none)'}` });
  const context = doc.contexts.find((c) => c.name === wanted);
  if (!context) throw new EdgeproofError('INPUT', `${source} has no context "${wanted}"`, { hint: `contexts in the file: ${available.join(', ') || '(none)'}` });
  if (!doc.clusters.some((c) => c.name === context.context.cluster)) {
    throw new EdgeproofError('INPUT', `${source}: context "${wanted}" names cluster "${context.context.cluster}", which the file does not define`);
  }
  if (!doc.users.some((u) => u.name === context.context.user)) {
    throw new EdgeproofError('INPUT', `${source}: context "${wanted}" names user "${context.context.user}", which the file does not define`);
  }
  return context;
}

/** Keeps only one context, its cluster and its user; that context becomes current. */
export function minify(doc: KubeconfigDocument, source: string, contextName?: string): KubeconfigDocument {
  const context = pickContext(doc, source, contextName);
  return {
    apiVersion: doc.apiVersion ?? 'v1',
    kind: doc.kind ?? 'Config',
    clusters: doc.clusters.filter((c) => c.name === context.context.cluster),
    users: doc.users.filter((u) => u.name === context.context.user),
    contexts: [context],
    'current-context': context.name,
    preferences: {},
  };
}

const FILE_FIELDS = [
  ['clusters', 'cluster', 'certificate-authority', 'certificate-authority-data'],
  ['users', 'user', 'client-certificate', 'client-certificate-data'],
  ['users', 'user', 'client-key', 'client-key-data'],
] as const;

/** Paths of the files a kubeconfig refers to (minikube writes certificate paths, not data). */
export function fileReferences(doc: KubeconfigDocument): string[] {
  const paths: string[] = [];
  for (const [list, key, field] of FILE_FIELDS) {
    for (const entry of doc[list] as unknown as Record<string, Record<string, unknown>>[]) {
      const value = entry[key]?.[field];
      if (typeof value === 'string') paths.push(value);
    }
  }
  return [...new Set(paths)];
}

/** Replaces file references by their content (base64 -data fields), as `kubectl config view --flatten` does. */
export function inlineFiles(doc: KubeconfigDocument, files: Record<string, Buffer>): KubeconfigDocument {
  const copy = structuredClone(doc);
  for (const [list, key, field, dataField] of FILE_FIELDS) {
    for (const entry of copy[list] as unknown as Record<string, Record<string, unknown>>[]) {
      const section = entry[key];
      const path = section?.[field];
      if (!section || typeof path !== 'string') continue;
      const content = files[path];
      if (!content) throw new EdgeproofError('INPUT', `kubeconfig refers to ${path}, which was not read`);
      section[dataField] = content.toString('base64');
      delete section[field];
    }
  }
  return copy;
}

/** Points every kept cluster at `server` (K3s writes https://127.0.0.1:6443, MicroK8s the node's default IP). */
export function withServer(doc: KubeconfigDocument, server: string): KubeconfigDocument {
  const copy = structuredClone(doc);
  for (const entry of copy.clusters) entry.cluster.server = server;
  return copy;
}

/** A kubeconfig as a distribution prints it, one context kept, its server where the harness reaches the apiserver. */
export function forHarness(text: string, source: string, endpoint: { host: string; port: number }): KubeconfigDocument {
  return withServer(minify(parseKubeconfig(text, source), source), `https://${endpoint.host}:${endpoint.port}`);
}

export function serverOf(doc: KubeconfigDocument): string | undefined {
  const context = doc.contexts.find((c) => c.name === doc['current-context']) ?? doc.contexts[0];
  return doc.clusters.find((c) => c.name === context?.context.cluster)?.cluster.server;
}

export function stringifyKubeconfig(doc: KubeconfigDocument): string {
  return stringify(doc);
}

/** Writes a kubeconfig 0600 (its directory 0700): it holds credentials. */
export function writeKubeconfig(path: string, doc: KubeconfigDocument): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, stringifyKubeconfig(doc), { mode: 0o600 });
  chmodSync(path, 0o600);
}
