import { EdgeproofError, tail, type ErrorCode } from '../core/errors.js';

/**
 * A `go list`/`go get`/`go build` of a component that failed, classified
 * from go's own output: the module or version does not exist (input, exit
 * 2), the proxy cannot be reached (environment, exit 3), or the build broke
 * (exit 3). The message carries the module, version, cache dir and the last
 * lines go printed.
 */
export type GoFailureKind = 'unknown-version' | 'proxy-unreachable' | 'toolchain-too-old' | 'build-failed';

const PATTERNS: [GoFailureKind, RegExp][] = [
  ['toolchain-too-old', /requires go >= [\d.]+ \(running go [\d.]+/],
  ['proxy-unreachable', /dial tcp|connection refused|no such host|i\/o timeout|TLS handshake timeout|network is unreachable|connection reset|50[234] (Bad Gateway|Service Unavailable|Gateway Timeout)/],
  ['unknown-version', /not available|unknown revision|invalid version|invalid pseudo-version|malformed module path|no matching versions|404 Not Found|410 Gone|cannot find module providing package|is not a main package|module .* found .*, but does not contain package/],
];

export function classifyGoOutput(output: string): GoFailureKind {
  return PATTERNS.find(([, pattern]) => pattern.test(output))?.[0] ?? 'build-failed';
}

const CODE: Record<GoFailureKind, ErrorCode> = {
  'unknown-version': 'INPUT',
  'proxy-unreachable': 'NETWORK_UNAVAILABLE',
  'toolchain-too-old': 'PREREQUISITE_MISSING',
  'build-failed': 'COMMAND_FAILED',
};

const OUTCOME: Record<GoFailureKind, string> = {
  'unknown-version': 'the module proxy does not serve this module, version or package',
  'proxy-unreachable': 'the Go module proxy could not be reached',
  'toolchain-too-old': 'the Go toolchain is older than the module needs',
  'build-failed': 'the build failed',
};

function hintFor(kind: GoFailureKind, module: string): string {
  switch (kind) {
    case 'unknown-version':
      return `check the module path and version (\`GOTOOLCHAIN=local go list -m -versions ${module}\` lists the tags the proxy serves; a commit needs its pseudo-version)`;
    case 'proxy-unreachable':
      return 'check that this host reaches the Go module proxy (`go env GOPROXY`), or run where it does; what is already built stays in the cache';
    case 'toolchain-too-old':
      return 'install a newer Go (https://go.dev/dl/) or point EDGEPROOF_GO at one';
    case 'build-failed':
      return 'the full go output is above; run with --debug for the command line';
  }
}

export interface GoFailureContext {
  component: string;
  module: string;
  version: string;
  arch: string;
  cacheDir: string;
  step: string;
}

export class ComponentBuildError extends EdgeproofError {
  readonly kind: GoFailureKind;
  constructor(
    readonly context: GoFailureContext,
    readonly goOutput: string,
    options: { cause?: unknown } = {},
  ) {
    const kind = classifyGoOutput(goOutput);
    const { component, module, version, arch, cacheDir, step } = context;
    const lines = tail(goOutput).split('\n').map((line) => `    ${line}`).join('\n');
    super(CODE[kind], `Component ${component} (${module}@${version}, ${arch}): ${step} failed: ${OUTCOME[kind]} (cache dir ${cacheDir}); go said:\n${lines}`, { ...options, hint: hintFor(kind, module) });
    this.kind = kind;
  }
}
