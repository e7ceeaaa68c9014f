import { UsageError } from '../core/errors.js';
import { boardByName, boardNames, type Arch } from '../emulation/boards.js';
import { distroNames } from '../distros/names.js';
import { IMAGE_FORMATS, parseMirror, type ImagesOptions } from './images-command.js';
import { RUN_DEFAULTS, directoryOption, parseSuiteList, requireChoice } from './run-options.js';

const ARCHS: readonly Arch[] = ['arm64', 'amd64'];

/** `edgeproof images` flags, validated: the same names and checks as `edgeproof run`. */
export function parseImagesOptions(flags: { distro?: string; version?: string; channel?: string; board?: string; arch?: string; suite?: string; addon?: string[]; format?: string; mirror?: string; cacheDir?: string }): ImagesOptions {
  if (flags.board !== undefined && flags.arch !== undefined) throw new UsageError('--board and --arch both choose the architecture', 'give one of them');
  const arch = flags.arch !== undefined ? requireChoice(flags.arch, ARCHS, 'architecture', '--arch') : boardByName(requireChoice(flags.board ?? RUN_DEFAULTS.board, boardNames, 'board', '--board')).arch;
  const format = requireChoice(flags.format ?? 'text', IMAGE_FORMATS, 'format', '--format');
  if (format === 'mirror') parseMirror(flags.mirror);
  else if (flags.mirror !== undefined) throw new UsageError('--mirror applies to --format mirror', 'add --format mirror');
  return {
    distro: requireChoice(flags.distro ?? RUN_DEFAULTS.distro, distroNames, 'distribution', '--distro'),
    ...(flags.version ? { version: flags.version.trim() } : {}),
    ...(flags.channel ? { channel: flags.channel.trim() } : {}),
    arch,
    suites: parseSuiteList(flags.suite ?? RUN_DEFAULTS.suite),
    addons: (flags.addon ?? []).map((a) => a.split(':')[0]!.trim()),
    format,
    ...(flags.mirror ? { mirror: flags.mirror } : {}),
    ...(flags.cacheDir ? { cacheDir: directoryOption(flags.cacheDir, '--cache-dir') } : {}),
  };
}
