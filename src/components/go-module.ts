/**
 * The module the builder writes for a component: its own go.mod, requiring
 * the component's module. Go ignores a dependency's replace directives, so
 * where the component's go.mod points its own submodules at local paths
 * (Kubernetes' staging repos, etcd's api/client/server), the project's go.mod
 * repeats each one at a published version.
 */

export interface GoModDirectives {
  goVersion?: string;
  requires: Map<string, string>;
  /** module -> target (a path, or "module version"). */
  replaces: Map<string, string>;
}

/** The go, require and replace directives of a go.mod, single-line or in blocks. */
export function parseGoMod(text: string): GoModDirectives {
  const directives: GoModDirectives = { requires: new Map(), replaces: new Map() };
  let block: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (block) {
      if (line === ')') block = undefined;
      else addDirective(directives, block, line);
      continue;
    }
    const opening = /^(\w+)\s*\($/.exec(line);
    if (opening) block = opening[1];
    else {
      const [keyword = '', ...rest] = line.split(/\s+/);
      addDirective(directives, keyword, rest.join(' '));
    }
  }
  return directives;
}

function addDirective(directives: GoModDirectives, keyword: string, body: string): void {
  if (keyword === 'go') directives.goVersion = body;
  if (keyword === 'require') {
    const [module, version] = body.split(/\s+/);
    if (module && version) directives.requires.set(module, version);
  }
  if (keyword === 'replace') {
    const [from, to] = body.split('=>').map((side) => side.trim());
    if (from && to) directives.replaces.set(from.split(/\s+/)[0]!, to);
  }
}

const isLocalPath = (target: string) => target.startsWith('./') || target.startsWith('../');

/**
 * The modules a go.mod both requires and replaces with a local path, each
 * pinned at `version`. Replaces of modules it does not require (etcd's
 * `=> ./FORBIDDEN_DEPENDENCY` guards) are left out.
 */
export function localReplaces(goMod: string, version: string): Map<string, string> {
  const { requires, replaces } = parseGoMod(goMod);
  const pinned = [...replaces].filter(([module, target]) => isLocalPath(target) && requires.has(module)).map(([module]) => [module, version] as const);
  return new Map(pinned.sort(([a], [b]) => a.localeCompare(b)));
}

export interface ProjectGoMod {
  /** module path of the project's own module */
  module: string;
  goVersion: string;
  require: { module: string; version: string };
  replaces: Map<string, string>;
}

export function renderGoMod(mod: ProjectGoMod): string {
  const lines = [`module ${mod.module}`, '', `go ${mod.goVersion}`, '', `require ${mod.require.module} ${mod.require.version}`];
  if (mod.replaces.size > 0) {
    lines.push('', 'replace (', ...[...mod.replaces].map(([module, version]) => `\t${module} => ${module} ${version}`), ')');
  }
  return `${lines.join('\n')}\n`;
}
