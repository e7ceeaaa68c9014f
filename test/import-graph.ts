import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The folder-level import graph of `src/`, read with TypeScript's own
 * pre-processor (static, re-exported, type-only and dynamic imports; nothing in
 * comments or strings), and checked against a table of allowed arrows.
 */
export interface ImportEdge {
  /** Importing file, relative to the source root (`cli/main.ts`). */
  file: string;
  /** What it imports, as written. */
  specifier: string;
  from: string;
  to: string;
}

/** Folder (first path segment under the root) -> folders it may import besides itself. */
export type LayerRules = Readonly<Record<string, readonly string[]>>;

/** Files passed as `path -> source text`, paths relative to the root. */
export function importEdges(files: ReadonlyMap<string, string>): ImportEdge[] {
  return [...files].flatMap(([file, text]) =>
    ts.preProcessFile(text, true, true).importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({ file, specifier, from: topFolder(file), to: topFolder(join(dirname(file), specifier)) })),
  );
}

/** The arrows the rules do not allow; a folder missing from the rules is itself a violation. */
export function layerViolations(edges: readonly ImportEdge[], rules: LayerRules): string[] {
  return edges.flatMap((edge) => {
    if (edge.to === edge.from || edge.to.startsWith('..')) return [];
    const allowed = rules[edge.from];
    if (!allowed) return [`${edge.file}: folder "${edge.from}" has no row in the layer table`];
    return allowed.includes(edge.to) ? [] : [`${edge.file} imports ${edge.specifier}: ${edge.from} may not import ${edge.to}`];
  });
}

/** Every `.ts` file under `root`, tests included (a test is held to its folder's rules too). */
export function readSourceTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.set(relative(root, path).split(sep).join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(resolve(root));
  return files;
}

/** `cli/x.ts` -> `cli`; a file at the root is its own folder (`architecture.test.ts`); outside the root -> `..`. */
function topFolder(path: string): string {
  const normal = path.split(sep).join('/').replace(/^\.\//, '');
  if (normal.startsWith('../')) return '..';
  return normal.includes('/') ? normal.slice(0, normal.indexOf('/')) : normal;
}
