import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { describeError } from '../core/errors.js';
import { boards, type Board } from '../emulation/boards.js';
import { detectAccel, qemuVersion } from '../emulation/qemu/host-probe.js';
import { formatBytes, formatMiB } from './format.js';
import { componentCatalog } from '../components/component.js';
import { compareGoVersions, findGoToolchains, GO_DOWNLOAD_HINT } from '../components/go-toolchain.js';

/**
 * The host prerequisites `edgeproof doctor` checks, each with the exact fix.
 * `scripts/setup.mjs` installs the same things (HOST_PACKAGES must match its list).
 */
export type CheckStatus = 'ok' | 'missing' | 'warn';

export interface HostCheck {
  name: string;
  status: CheckStatus;
  /** A missing required check makes doctor exit 1; warnings never do. */
  required: boolean;
  detail: string;
  fix?: string;
}

export const HOST_PACKAGES = [
  'qemu-system-arm', 'qemu-system-x86', 'qemu-utils', 'qemu-user-static', 'binfmt-support', 'arch-test',
  'mmdebstrap', 'e2fsprogs', 'rsync', 'cpio', 'kmod', 'tini', 'busybox-static', 'xz-utils', 'openssl',
  'ca-certificates', 'util-linux', 'mount', 'docker.io', 'chromium',
  // The component builder's cgo builds (runc with seccomp, static): native and arm64 cross.
  'gcc', 'pkg-config', 'libseccomp-dev', 'gcc-aarch64-linux-gnu', 'libseccomp-dev:arm64',
] as const;

export const MIN_NODE_VERSION = '20.18.1';
export const FIRST_BUILD_DISK_BYTES = 15e9;
/** QEMU's own overhead beside the guest's memory. */
const QEMU_OVERHEAD_MIB = 512;
const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;

const ok = (name: string, detail: string, required = true): HostCheck => ({ name, status: 'ok', required, detail });
const missing = (name: string, detail: string, fix: string): HostCheck => ({ name, status: 'missing', required: true, detail, fix });
const warn = (name: string, detail: string, fix?: string): HostCheck => ({ name, status: 'warn', required: false, detail, ...(fix ? { fix } : {}) });

export const aptInstall = (...packages: string[]) => `apt-get install -y --no-install-recommends ${packages.join(' ')}`;

/** Every check, run concurrently, in a stable order. */
export function runHostChecks(cacheDir: string): Promise<HostCheck[]> {
  return Promise.all([
    checkNode(),
    checkRoot(),
    checkQemu('qemu-system-aarch64'),
    checkQemu('qemu-system-x86_64'),
    checkVersionedTool('qemu-img', ['--version'], 'qemu-utils'),
    checkVersionedTool('mmdebstrap', ['--version'], 'mmdebstrap'),
    checkQemuUserStatic(),
    checkBinfmt(),
    checkVersionedTool('go', ['version'], 'golang-go'),
    checkGoBuilder(),
    checkVersionedTool('openssl', ['version'], 'openssl'),
    checkVersionedTool('depmod', ['--version'], 'kmod'),
    checkMke2fs(),
    checkForeignArch(),
    checkDebSrc(),
    checkOtherPackages(),
    checkKvm(),
    checkDisk(cacheDir),
    checkMemory(),
  ]);
}

interface Probe {
  ok: boolean;
  stdout: string;
  stderr: string;
}

async function probe(command: string, args: string[]): Promise<Probe> {
  const result = await execa(command, args, { reject: false, timeout: 15_000, env: { PATH: SBIN_PATH }, stdin: 'ignore' });
  return { ok: result.exitCode === 0, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** Numeric comparison of dotted versions: versionAtLeast('1.47.0', '1.43') is true. */
export function versionAtLeast(actual: string, minimum: string): boolean {
  const a = actual.split(/[.+~-]/).map((part) => Number.parseInt(part, 10) || 0);
  const b = minimum.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff > 0;
  }
  return true;
}

async function checkNode(): Promise<HostCheck> {
  const version = process.versions.node;
  if (versionAtLeast(version, MIN_NODE_VERSION)) return ok('node', `${version} (need >= ${MIN_NODE_VERSION})`);
  return missing('node', `${version} is too old (need >= ${MIN_NODE_VERSION})`, 'install Node.js 20.18.1 or newer 20.x/22.x (e.g. from nodejs.org)');
}

async function checkRoot(): Promise<HostCheck> {
  const uid = process.getuid?.();
  if (uid === 0) return ok('root', 'running as root (image builds mount and chroot)');
  return missing('root', `running as uid ${uid}; image builds (mmdebstrap, mke2fs -d of a root filesystem) need root`, 'run edgeproof as root, e.g. sudo node bin/edgeproof.js run');
}

async function checkQemu(binary: Board['qemuBinary']): Promise<HostCheck> {
  try {
    return ok(binary, `QEMU ${await qemuVersion(binary)}`);
  } catch {
    return missing(binary, 'not installed', aptInstall(binary === 'qemu-system-aarch64' ? 'qemu-system-arm' : 'qemu-system-x86', 'qemu-utils'));
  }
}

async function checkVersionedTool(command: string, args: string[], aptPackage: string): Promise<HostCheck> {
  const result = await probe(command, args);
  const firstLine = `${result.stdout}\n${result.stderr}`.trim().split('\n')[0] ?? '';
  if (result.ok) return ok(command, firstLine);
  return missing(command, 'not found', aptInstall(aptPackage));
}

/** The Go the component builder runs: the newest found, against the newest go directive of the pinned modules. */
export async function checkGoBuilder(env: NodeJS.ProcessEnv = process.env): Promise<HostCheck> {
  const needed = componentCatalog().goMinimum;
  const toolchains = await findGoToolchains(env);
  const [newest, ...others] = toolchains;
  const alsoFound = others.length ? `; also ${others.map((t) => `go ${t.version} (${t.path})`).join(', ')}, not used` : '';
  const name = 'go (component builder)';
  if (newest && compareGoVersions(newest.version, needed) >= 0) return ok(name, `go ${newest.version} (${newest.path}); the builder needs >= ${needed}${alsoFound}`);
  const found = newest ? `newest found: go ${newest.version} (${newest.path})${alsoFound}` : 'no go binary found';
  return missing(name, `the builder needs Go >= ${needed}, which builds Kubernetes, etcd, containerd and runc from their modules; ${found}`, GO_DOWNLOAD_HINT);
}

async function checkMke2fs(): Promise<HostCheck> {
  const result = await probe('mke2fs', ['-V']);
  const version = /mke2fs ([\d.]+)/.exec(`${result.stdout}${result.stderr}`)?.[1];
  if (!version) return missing('mke2fs', 'not found', aptInstall('e2fsprogs'));
  if (!versionAtLeast(version, '1.43')) return missing('mke2fs', `${version} lacks -d (need >= 1.43)`, aptInstall('e2fsprogs'));
  return ok('mke2fs', `${version} (-d supported)`);
}

async function checkQemuUserStatic(): Promise<HostCheck> {
  if (existsSync('/usr/bin/qemu-aarch64-static')) return ok('qemu-user-static', '/usr/bin/qemu-aarch64-static');
  return missing('qemu-user-static', 'qemu-aarch64-static not found (mmdebstrap --arch=arm64 needs it)', aptInstall('qemu-user-static', 'binfmt-support'));
}

const BINFMT_ENTRY = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
const BINFMT_FIX = 'mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64';

async function checkBinfmt(): Promise<HostCheck> {
  if (!existsSync(BINFMT_ENTRY)) return missing('binfmt qemu-aarch64', `${BINFMT_ENTRY} is absent: arm64 binaries cannot run on this host`, BINFMT_FIX);
  const entry = readFileSync(BINFMT_ENTRY, 'utf8');
  if (!entry.startsWith('enabled')) return missing('binfmt qemu-aarch64', 'registered but disabled', BINFMT_FIX);
  const interpreter = /^interpreter (.+)$/m.exec(entry)?.[1]?.trim();
  if (interpreter && !existsSync(interpreter)) return missing('binfmt qemu-aarch64', `interpreter ${interpreter} is missing`, aptInstall('qemu-user-static'));
  return ok('binfmt qemu-aarch64', `enabled (${interpreter ?? 'interpreter unknown'})`);
}

async function checkForeignArch(): Promise<HostCheck> {
  const result = await probe('dpkg', ['--print-foreign-architectures']);
  if (result.stdout.split(/\s+/).includes('arm64')) return ok('dpkg arch arm64', 'arm64 is a foreign architecture (guest packages download)');
  return missing('dpkg arch arm64', 'arm64 is not a dpkg foreign architecture', 'dpkg --add-architecture arm64 && apt-get update');
}

async function checkDebSrc(): Promise<HostCheck> {
  const result = await probe('apt-cache', ['showsrc', 'kubernetes']);
  const version = /^Version: (.+)$/m.exec(result.stdout)?.[1];
  if (result.ok && version) return ok('deb-src', `apt-get source kubernetes works (${version})`);
  return missing(
    'deb-src',
    'no Debian source lists: `apt-cache showsrc kubernetes` is empty',
    'node scripts/setup.mjs (or add deb-src to /etc/apt/sources.list.d/debian.sources "Types: deb deb-src") && apt-get update',
  );
}

/** Status of Debian packages: name -> installed. */
async function installedPackages(names: readonly string[]): Promise<Map<string, boolean>> {
  const result = await probe('dpkg-query', ['-W', '-f=${binary:Package} ${Status}\\n', ...names]);
  const installed = new Map(names.map((name) => [name, false]));
  for (const line of result.stdout.split('\n')) {
    const [name, ...status] = line.trim().split(' ');
    if (name && status.join(' ') === 'install ok installed') {
      // "libseccomp-dev:arm64" answers for itself and for the bare name.
      installed.set(name, true);
      installed.set(name.replace(/:.*$/, ''), true);
    }
  }
  return installed;
}

async function checkPackages(name: string, packages: readonly string[], why: string): Promise<HostCheck> {
  const status = await installedPackages(packages);
  const absent = packages.filter((pkg) => !status.get(pkg));
  if (absent.length === 0) return ok(name, `${packages.length} packages installed`);
  return missing(name, `not installed: ${absent.join(', ')} (${why})`, aptInstall(...absent));
}

function checkOtherPackages(): Promise<HostCheck> {
  return checkPackages('host packages', HOST_PACKAGES, 'image builds, guest tooling and the browser test of the HTML report');
}

async function checkKvm(): Promise<HostCheck> {
  const verdicts = await Promise.all(Object.values(boards).map(async (board) => ({ board, ...(await detectAccel(board)) })));
  const kvm = verdicts.filter((verdict) => verdict.accel === 'kvm').map((verdict) => verdict.board.name);
  if (kvm.length > 0) return ok('kvm', `KVM used for ${kvm.join(', ')}`, false);
  const reason = verdicts.find((verdict) => verdict.board.kvmCapable)?.reason ?? verdicts[0]?.reason ?? '';
  return warn('kvm', `every board runs under TCG (${reason}): about 10x slower, timeouts are scaled to match`);
}

function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

async function checkDisk(cacheDir: string): Promise<HostCheck> {
  try {
    const stats = statfsSync(nearestExisting(cacheDir));
    const free = stats.bavail * stats.bsize;
    const detail = `${formatBytes(free)} free for ${cacheDir}`;
    if (free >= FIRST_BUILD_DISK_BYTES) return ok('disk', detail, false);
    return warn('disk', `${detail}; a first build needs about ${formatBytes(FIRST_BUILD_DISK_BYTES)}`, 'free space, or point EDGEPROOF_CACHE_DIR (--cache-dir) at a larger disk');
  } catch (error) {
    return warn('disk', `cannot measure free space for ${cacheDir}: ${describeError(error)}`);
  }
}

/** MemAvailable from /proc/meminfo, in MiB. */
export function availableMemoryMiB(meminfo = readFileSync('/proc/meminfo', 'utf8')): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
  return kib === undefined ? undefined : Math.floor(Number(kib) / 1024);
}

async function checkMemory(): Promise<HostCheck> {
  const available = availableMemoryMiB();
  if (available === undefined) return warn('memory', 'cannot read MemAvailable from /proc/meminfo');
  const tooBig = Object.values(boards).filter((board) => board.memoryMiB + QEMU_OVERHEAD_MIB > available);
  const detail = `${(available / 1024).toFixed(1)} GiB available`;
  if (tooBig.length === 0) return ok('memory', `${detail}: enough for every board at its default memory`, false);
  const names = tooBig.map((board) => `${board.name} (${formatMiB(board.memoryMiB)} + QEMU)`).join(', ');
  return warn('memory', `${detail}: not enough for ${names}`, 'stop other work, or pick a smaller size with --memory');
}
