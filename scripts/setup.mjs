#!/usr/bin/env node
// Idempotent host set-up for a Debian bookworm machine: npm dependencies, the
// Debian packages edgeproof drives, dpkg arch arm64, deb-src (for `apt-get
// source kubernetes`), binfmt for qemu-aarch64, and a running dockerd. Plain Node, no
// dependencies: it runs before `npm install`. Quiet (one line) and fast when
// everything is in place. Not root: changes nothing privileged, prints the
// commands a root user must run, exits 1 if anything is missing.
//
//   node scripts/setup.mjs           set up what is missing
//   node scripts/setup.mjs --check   only say what is missing (exit 1 if anything)
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Keep in sync with HOST_PACKAGES in src/cli/host-checks.ts (a unit test compares them). */
export const HOST_PACKAGES = [
  'qemu-system-arm', 'qemu-system-x86', 'qemu-utils', 'qemu-user-static', 'binfmt-support', 'arch-test',
  'mmdebstrap', 'e2fsprogs', 'rsync', 'cpio', 'kmod', 'tini', 'busybox-static', 'xz-utils', 'openssl',
  'ca-certificates', 'util-linux', 'mount', 'docker.io', 'chromium',
  // The component builder's cgo builds (runc with seccomp, static): native and arm64 cross.
  'gcc', 'pkg-config', 'libseccomp-dev', 'gcc-aarch64-linux-gnu', 'libseccomp-dev:arm64',
];

const PROJECT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SOURCES_LIST = '/etc/apt/sources.list';
const SOURCES_DIR = '/etc/apt/sources.list.d';
const APT_LISTS = '/var/lib/apt/lists';
const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';
const BINFMT_ENTRY = `${BINFMT_DIR}/qemu-aarch64`;
const MIN_NODE = [20, 18, 1];
const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

const say = (line) => process.stdout.write(`setup: ${line}\n`);

// ---------------------------------------------------------------- apt sources (pure, unit-tested)

/** Official Debian archives (and mirrors of them), not third-party repositories that merely mention "debian". */
export function isDebianArchive(uri, components) {
  let url;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.hostname === 'debian.org' || url.hostname.endsWith('.debian.org')) return true;
  const lastSegment = url.pathname.replace(/\/+$/, '').split('/').pop();
  return (lastSegment === 'debian' || lastSegment === 'debian-security') && components.includes('main');
}

/** deb822 (`*.sources`): `Types: deb` -> `Types: deb deb-src` in every enabled Debian stanza. */
export function enableDebSrcDeb822(text) {
  const lines = text.split('\n');
  let changed = false;
  for (const stanza of deb822Stanzas(lines)) {
    const field = (name) => stanza.find((i) => new RegExp(`^${name}:`, 'i').test(lines[i]));
    const value = (index) => (index === undefined ? '' : lines[index].replace(/^[^:]+:/, '').trim());
    const typesIndex = field('Types');
    const types = value(typesIndex).split(/\s+/);
    if (typesIndex === undefined || !types.includes('deb') || types.includes('deb-src')) continue;
    if (/^no$/i.test(value(field('Enabled')))) continue;
    const components = value(field('Components')).split(/\s+/);
    if (!value(field('URIs')).split(/\s+/).some((uri) => isDebianArchive(uri, components))) continue;
    lines[typesIndex] = `${lines[typesIndex].replace(/\s+$/, '')} deb-src`;
    changed = true;
  }
  return { text: lines.join('\n'), changed };
}

/** Indices of each stanza's field lines (no comments, no continuation lines). */
function deb822Stanzas(lines) {
  const stanzas = [];
  let current = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') {
      if (current.length) stanzas.push(current);
      current = [];
    } else if (!line.startsWith('#') && !/^\s/.test(line)) {
      current.push(index);
    }
  });
  if (current.length) stanzas.push(current);
  return stanzas;
}

const CLASSIC_LINE = /^\s*(#\s*)?(deb|deb-src)\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*?)\s*$/;

/** One-line style (`sources.list`, `*.list`): a `deb-src` line for each Debian `deb` line (uncommenting one if present). */
export function enableDebSrcClassic(text) {
  const lines = text.split('\n');
  const parsed = lines.map((line) => CLASSIC_LINE.exec(line));
  const target = (m) => `${m[4]} ${m[5]} ${m[6].split(/\s+/).join(' ')}`;
  const sourcesFor = (key) => parsed.flatMap((m, i) => (m && m[2] === 'deb-src' && target(m) === key ? [{ m, i }] : []));
  const insertAfter = new Map();
  const handled = new Set();
  parsed.forEach((m, index) => {
    if (!m || m[1] || m[2] !== 'deb' || !isDebianArchive(m[4], m[6].split(/\s+/))) return;
    const key = target(m);
    const sources = sourcesFor(key);
    if (handled.has(key) || sources.some((source) => !source.m[1])) return;
    handled.add(key);
    // Same options as the deb line: apt refuses differing Signed-By for one archive.
    const line = `deb-src ${sourceOptions(m[3])}${key}`;
    if (sources[0]) lines[sources[0].i] = line;
    else insertAfter.set(index, line);
  });
  if (handled.size === 0) return { text, changed: false };
  const out = lines.flatMap((line, index) => (insertAfter.has(index) ? [line, insertAfter.get(index)] : [line]));
  return { text: out.join('\n'), changed: true };
}

/** `[arch=amd64 signed-by=/k.gpg] ` -> `[signed-by=/k.gpg] ` (arch= means nothing for sources). */
function sourceOptions(bracket) {
  if (!bracket) return '';
  const kept = bracket.trim().slice(1, -1).trim().split(/\s+/).filter((option) => option && !/^arch[+-]?=/.test(option));
  return kept.length ? `[${kept.join(' ')}] ` : '';
}

/** Missing packages from `dpkg-query -W -f='${Package} ${Status}\n' ...` output. */
export function missingFromDpkgQuery(stdout, wanted) {
  const installed = new Set(
    stdout
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter(([, ...status]) => status.join(' ') === 'install ok installed')
      // "libseccomp-dev:arm64" answers for itself and for the bare name.
      .flatMap(([name]) => [name, name.replace(/:.*$/, '')]),
  );
  return wanted.filter((name) => !installed.has(name));
}

// ---------------------------------------------------------------- probes of this host

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error, signal: result.signal };
}

function nodeIsRecentEnough() {
  const [a = 0, b = 0, c = 0] = process.versions.node.split('.').map(Number);
  const [x, y, z] = MIN_NODE;
  return a !== x ? a > x : b !== y ? b > y : c >= z;
}

/** `['ci']` / `['install']` when node_modules is missing or older than the lock file, else undefined. */
function npmInstallArgs(root) {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  const wanted = existsSync(lock) ? lock : join(root, 'package.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(wanted).mtimeMs) return undefined;
  return existsSync(lock) ? ['ci'] : ['install'];
}

function isDebianHost() {
  return run('dpkg-query', ['--version']).ok;
}

function missingPackages() {
  const result = run('dpkg-query', ['-W', '-f=${binary:Package} ${Status}\n', ...HOST_PACKAGES]);
  return missingFromDpkgQuery(result.stdout, HOST_PACKAGES);
}

function hasForeignArm64() {
  return run('dpkg', ['--print-foreign-architectures']).stdout.split(/\s+/).includes('arm64');
}

/** Source files whose Debian entries lack deb-src, with their fixed text. */
function sourcesNeedingDebSrc() {
  const files = [SOURCES_LIST, ...listDir(SOURCES_DIR).map((name) => join(SOURCES_DIR, name))];
  return files
    .filter((path) => /\.(list|sources)$/.test(path) && existsSync(path))
    .map((path) => {
      const text = readFileSync(path, 'utf8');
      const edit = path.endsWith('.sources') ? enableDebSrcDeb822(text) : enableDebSrcClassic(text);
      return { path, deb822: path.endsWith('.sources'), ...edit };
    })
    .filter((edit) => edit.changed);
}

function listDir(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The apt lists hold native and arm64 package indices and source indices. */
function aptListsComplete() {
  const lists = listDir(APT_LISTS);
  const has = (pattern) => lists.some((name) => pattern.test(name));
  return has(/_binary-(amd64|arm64|i386|armhf|ppc64el|s390x|riscv64)_Packages/) && has(/_binary-arm64_Packages/) && has(/_source_Sources/);
}

function binfmtState() {
  if (!existsSync(BINFMT_ENTRY)) return 'absent';
  return readFileSync(BINFMT_ENTRY, 'utf8').startsWith('enabled') ? 'enabled' : 'disabled';
}

// ---------------------------------------------------------------- the plan

/** Each step: what it does, the shell command a root user would type, and how to do it. */
function planHostSteps() {
  const steps = [];
  const addArch = !hasForeignArm64();
  const sourceEdits = sourcesNeedingDebSrc();
  const missing = missingPackages();
  if (addArch) steps.push({ what: 'add dpkg architecture arm64', shell: 'dpkg --add-architecture arm64', act: () => must('dpkg', ['--add-architecture', 'arm64']) });
  for (const edit of sourceEdits) {
    steps.push({
      what: `enable deb-src in ${edit.path}`,
      shell: edit.deb822
        ? `# in ${edit.path}, change "Types: deb" to "Types: deb deb-src" in the Debian stanzas`
        : `# in ${edit.path}, add a deb-src line (same options, URI, suite, components) after each Debian deb line`,
      act: () => writeFileSync(edit.path, edit.text),
    });
  }
  const update = addArch || sourceEdits.length > 0 || !aptListsComplete();
  if (update) steps.push({ what: 'apt-get update', shell: 'apt-get update', act: () => aptUpdate() });
  if (missing.length) {
    steps.push({
      what: `install ${missing.length} package(s): ${missing.join(' ')}`,
      shell: `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(' ')}`,
      act: () => aptInstall(missing, update),
    });
  }
  if (missing.length || !dockerAnswers()) {
    steps.push({
      what: 'start the Docker engine (dockerd) for the container backend',
      shell: `setsid dockerd >${DOCKERD_LOG} 2>&1 < /dev/null &`,
      act: () => startDockerd(),
    });
  }
  if (binfmtState() !== 'enabled') {
    steps.push({
      what: 'register binfmt qemu-aarch64',
      shell: `mountpoint -q ${BINFMT_DIR} || mount -t binfmt_misc binfmt_misc ${BINFMT_DIR}; update-binfmts --enable qemu-aarch64`,
      act: () => enableBinfmt(),
    });
  }
  return steps;
}

const DOCKERD_LOG = '/var/log/edgeproof-dockerd.log';

function dockerAnswers() {
  return run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 15_000 }).ok;
}

/** No init system to ask here (containers, CI sandboxes): start dockerd detached, wait until it answers. */
function startDockerd() {
  if (dockerAnswers()) return;
  const log = openSync(DOCKERD_LOG, 'a');
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  closeSync(log);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (dockerAnswers()) return;
    spawnSync('sleep', ['1']);
  }
  throw new StepFailed(`dockerd did not answer within 60 s; see ${DOCKERD_LOG}`);
}

class StepFailed extends Error {}

function must(command, args, options = {}) {
  const result = run(command, args, { env: APT_ENV, ...options });
  if (result.ok) return result;
  const why = result.error ? result.error.message : result.signal ? `killed by ${result.signal}` : result.stderr.trim().split('\n').slice(-8).join('\n');
  throw new StepFailed(`\`${command} ${args.join(' ')}\` failed: ${why}`);
}

let updated = false;
function aptUpdate() {
  must('apt-get', ['-q', 'update']);
  updated = true;
}

function aptInstall(packages, updatePlanned) {
  const args = ['install', '-y', '-q', '--no-install-recommends', ...packages];
  say(`installing (a few minutes on a fresh host)...`);
  try {
    must('apt-get', args);
  } catch (error) {
    if (updatePlanned || updated) throw error;
    say('install failed; refreshing the package lists and retrying');
    aptUpdate();
    must('apt-get', args);
  }
}

function enableBinfmt() {
  if (!existsSync(`${BINFMT_DIR}/register`)) must('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR]);
  if (binfmtState() === 'disabled') writeFileSync(BINFMT_ENTRY, '1');
  if (binfmtState() === 'absent') {
    const enabled = run('update-binfmts', ['--enable', 'qemu-aarch64']);
    if (!enabled.ok || binfmtState() === 'absent') {
      must('update-binfmts', ['--import', 'qemu-aarch64']);
      run('update-binfmts', ['--enable', 'qemu-aarch64']);
    }
  }
  if (binfmtState() !== 'enabled') throw new StepFailed(`${BINFMT_ENTRY} is still not enabled (is binfmt_misc available in this kernel/container?)`);
}

// ---------------------------------------------------------------- main

function ensureNpmDependencies(check) {
  const args = npmInstallArgs(PROJECT_ROOT);
  if (!args) return true;
  if (check) {
    say(`npm dependencies are missing or older than package-lock.json: run \`npm ${args[0]}\` in ${PROJECT_ROOT}`);
    return false;
  }
  say(`npm ${args[0]} (node_modules missing or older than package-lock.json)`);
  const result = spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (result.status === 0) return true;
  say(`npm ${args[0]} failed (${result.error?.message ?? `exit ${result.status}`})`);
  return false;
}

function printRootInstructions(steps) {
  say(`${steps.length} step(s) need root. Run: sudo node ${join(PROJECT_ROOT, 'scripts', 'setup.mjs')}`);
  say('or, as root:');
  for (const step of steps) process.stdout.write(`    ${step.shell}\n`);
}

function applySteps(steps) {
  for (const step of steps) {
    const started = Date.now();
    say(`${step.what}...`);
    step.act();
    say(`  done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  const left = planHostSteps();
  if (left.length) throw new StepFailed(`still not in place after set-up: ${left.map((step) => step.what).join('; ')}`);
}

export function main(argv = process.argv.slice(2)) {
  const check = argv.includes('--check');
  if (!nodeIsRecentEnough()) {
    say(`Node.js ${process.versions.node} is too old: edgeproof needs >= ${MIN_NODE.join('.')}`);
    return 1;
  }
  const npmReady = ensureNpmDependencies(check);
  if (!isDebianHost()) {
    say(`not a Debian host (no dpkg-query): install the equivalents of: ${HOST_PACKAGES.join(' ')}; then run \`node bin/edgeproof.js doctor\``);
    return 1;
  }
  const steps = planHostSteps();
  if (steps.length === 0) {
    say(`host ready (npm dependencies, ${HOST_PACKAGES.length} Debian packages, arm64, deb-src, binfmt qemu-aarch64)`);
    return npmReady ? 0 : 1;
  }
  if (check || process.getuid?.() !== 0) {
    printRootInstructions(steps);
    return 1;
  }
  try {
    applySteps(steps);
  } catch (error) {
    say(error instanceof StepFailed ? error.message : String(error?.stack ?? error));
    return 1;
  }
  say('host ready');
  return npmReady ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
