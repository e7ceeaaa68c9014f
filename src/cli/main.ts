import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import createDebug from 'debug';
import { describeError, errorDetail } from '../core/errors.js';
import { cacheDir as defaultCacheDir, projectRoot, reportsDir as defaultReportsDir } from '../core/paths.js';
import { boardNames } from '../emulation/boards.js';
import { distroNames } from '../distros/names.js';
import { EXIT, EXIT_CODES_HELP, exitCodeForError } from '../core/exit-codes.js';
import { installInterruptHandlers, runInterruptibly, type InterruptOptions } from '../core/interrupt.js';
import { checkGivenValues } from './option-values.js';
import { RUN_DEFAULTS, backendNames, directoryOption, outputDirectoryOption, parsePositiveNumber, parseRunOptions, requireChoice, suiteNames, suitesHelp, type RunFlags } from './run-options.js';

/**
 * The `edgeproof` command. Parses and validates, hands over to one command
 * function, and turns the outcome into an exit code (see EXIT_CODES_HELP).
 * Command modules are imported when their command runs, so a usage error
 * answers before the heavy layers (QEMU, Kubernetes client) are loaded.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  const interruptMode: InterruptOptions = { graceful: false };
  const removeHandlers = installInterruptHandlers(interruptMode);
  let exitCode: number = EXIT.ok;
  const program = buildProgram((code) => (exitCode = code), interruptMode);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error, argv.includes('--debug') || debugEnabled);
  } finally {
    removeHandlers();
  }
}

type SetExit = (code: number) => void;
let debugEnabled = false;

export function buildProgram(setExit: SetExit, interruptMode: InterruptOptions): Command {
  const program = new Command('edgeproof')
    .description('Conformance and benchmark harness for lightweight Kubernetes distributions on emulated edge boards')
    .version(packageVersion(), '-V, --version')
    // `run --version 1.32` is the distribution's version, not edgeproof's.
    .enablePositionalOptions()
    .option('--debug', 'print full error details and stacks; enable debug logs (edgeproof:*)')
    .exitOverride()
    .showHelpAfterError('(see edgeproof --help)')
    .addHelpText('after', EXIT_CODES_HELP);
  program.hook('preAction', (_, action) => {
    if (program.opts().debug || action.opts().debug) enableDebug();
    checkGivenValues(action);
  });
  addRunCommand(program, setExit, interruptMode);
  addBoardsCommand(program, setExit);
  addImagesCommand(program, setExit);
  addComponentsCommand(program, setExit);
  addDoctorCommands(program, setExit);
  addCleanCommand(program, setExit);
  addResultCommands(program, setExit);
  return program;
}

function subcommand(program: Command, name: string, description: string): Command {
  return program.command(name).description(description).showHelpAfterError(`(see edgeproof ${name} --help)`);
}

function addRunCommand(program: Command, setExit: SetExit, interruptMode: InterruptOptions): void {
  subcommand(program, 'run', 'bring up a cluster on an emulated board, run the suites, write the reports')
    .option('--board <name>', `board to emulate: ${boardNames.join(', ')} (default: ${RUN_DEFAULTS.board})`)
    .option('--backend <name>', `what makes the nodes: ${backendNames.join(', ')} (container: Docker, native speed)`, RUN_DEFAULTS.backend)
    .option('--topology <n[+w]>', 'control planes[+workers]: 1, 1+2, 3 (HA), 3+1', RUN_DEFAULTS.topology)
    .option('--distro <name>', 'Kubernetes distribution to install: upstream, microk8s, k3s, minikube', RUN_DEFAULTS.distro)
    .option('--version <version>', "the distribution's version (k3s, minikube)")
    .option('--channel <channel>', 'the MicroK8s snap channel, e.g. 1.32/stable or 1.32-strict/stable')
    .option('--airgap <dir>', "install from the files in DIR instead of the distribution's online sources (`edgeproof images` lists them); adds the airgap suite")
    .option('--airgap-target <ip[:port],...>', 'addresses the airgap suite (BOOT-6) must fail to reach from the cut-off nodes (default: 198.51.100.1:443, a documentation address)')
    .option('--hosts <file>', 'the boards of --backend ssh (YAML: name, address, user, key, arch, role)')
    .option('--kubeconfig <file>', 'the cluster of --backend existing')
    .option('--context <name>', 'the kubeconfig context of --backend existing')
    .option('--suite <list>', `comma-separated suites: ${suiteNames.join(', ')}`, RUN_DEFAULTS.suite)
    .option('--memory <size>', "guest memory per board, e.g. 2G (default: the board's)")
    .option('--cpus <n>', "vCPUs per board, 1 to the board's cores (default: all of them; fewer help a small host run several boards)")
    .option('--timeout-scale <float>', 'multiply every timeout (default: picked from KVM/TCG)')
    .option('--addon <name[:args]>', 'an addon the addon suites may use, e.g. metallb:10.64.140.43-10.64.140.49 (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--install-addons', "install the --addon list the distribution's own way before the addon suites")
    .option('--budgets <file>', 'budgets overriding the shipped defaults (fixtures/budgets.yaml)')
    .option('--reports-dir <dir>', 'where run directories are written', defaultReportsDir())
    .option('--cache-dir <dir>', 'build cache (default: EDGEPROOF_CACHE_DIR or ~/.cache/edgeproof)')
    .option('--footprint-window <duration>', 'steady window over which memory is sampled', RUN_DEFAULTS.footprintWindow)
    .option('--latency-rate <n>', 'API requests per second (open model)', RUN_DEFAULTS.latencyRate)
    .option('--latency-duration <duration>', 'how long the API latency load runs', RUN_DEFAULTS.latencyDuration)
    .option('--conformance-preset <name>', 'conformance suite: quick (one spec), conformance ([Conformance] minus Serial/Flaky/Disruptive), serial', RUN_DEFAULTS.conformancePreset)
    .option('--conformance-parallel <n>', 'Ginkgo nodes for the conformance preset (default: half the CPUs)')
    .option('--conformance-image <ref>', "run the suite as a pod from this conformance image (hydrophone's way) instead of e2e.test on the host")
    .option('--conformance-repo-list <file>', "the suite's image registries (KUBE_TEST_REPO_LIST), e.g. a mirror's; default: the stand-ins built onto this project's nodes")
    .option('--cold', 'boot and install from scratch: neither restore nor save a Ready-cluster snapshot (qemu backend)')
    .option('--keep', 'leave the cluster running until Ctrl-C')
    .option('--debug', 'print full error details and stacks; enable debug logs (edgeproof:*)')
    .addHelpText('after', suitesHelp())
    .addHelpText('after', '\nExamples:\n  edgeproof run\n  edgeproof run --board rpi3b --suite smoke --timeout-scale 1.5\n  edgeproof run --memory 4G --footprint-window 2m --keep')
    .action(async (flags: RunFlags) => {
      const options = await parseRunOptions({ ...flags, debug: Boolean(flags.debug || program.opts().debug) });
      const { runCommand } = await import('./run-command.js');
      setExit(await runInterruptibly(() => runCommand(options), interruptMode));
    });
}

function addBoardsCommand(program: Command, setExit: SetExit): void {
  subcommand(program, 'conformance-images', 'the images the conformance suite pulls, for an air-gapped mirror: list, copy plan, KUBE_TEST_REPO_LIST')
    .option('--mirror <registry>', 'mirror registry host[:port][/path]: print "source target" copy lines')
    .option('--out <dir>', 'write images.txt (and with --mirror, mirror.txt and repo-list.yaml) there')
    .addOption(cacheDirOption())
    .action(async (flags: { mirror?: string; out?: string; cacheDir: string }) => {
      const { conformanceImagesCommand } = await import('./conformance-images-command.js');
      setExit(await conformanceImagesCommand({ cacheDir: outputDirectoryOption(flags.cacheDir, '--cache-dir'), ...(flags.mirror !== undefined ? { mirror: flags.mirror } : {}), ...(flags.out ? { out: outputDirectoryOption(flags.out, '--out') } : {}) }));
    });
  subcommand(program, 'boards', 'list the boards, their QEMU models, and how they would run on this host')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      const { boardsCommand } = await import('./boards-command.js');
      setExit(await boardsCommand({ json: Boolean(flags.json) }));
    });
}

function addImagesCommand(program: Command, setExit: SetExit): void {
  subcommand(program, 'images', 'list every file and container image a run needs, where each comes from, and what a registry mirror needs (air-gapped operation)')
    .option('--distro <name>', 'upstream, microk8s, k3s, minikube', RUN_DEFAULTS.distro)
    .option('--version <version>', "the distribution's version (k3s, minikube)")
    .option('--channel <channel>', 'the MicroK8s snap channel')
    .option('--board <name>', `the board whose architecture is listed (default: ${RUN_DEFAULTS.board})`)
    .option('--arch <arch>', 'the architecture instead of a board: arm64, amd64')
    .option('--suite <list>', `comma-separated suites: ${suiteNames.join(', ')}`, RUN_DEFAULTS.suite)
    .option('--addon <name>', 'limit the addon suites to these addons (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--format <format>', 'text, json, or mirror (src -> mirror refs and the registry config; needs --mirror)', 'text')
    .option('--mirror <host[:port]>', 'the registry mirror for --format mirror (https unless given as http://...)')
    .addOption(cacheDirOption())
    .addHelpText('after', '\nExamples:\n  edgeproof images --distro k3s --arch arm64\n  edgeproof images --distro microk8s --suite smoke,lb --format mirror --mirror registry.lan:5000')
    .action(async (flags: { distro: string; version?: string; channel?: string; board?: string; arch?: string; suite: string; addon?: string[]; format: string; mirror?: string; cacheDir: string }) => {
      const { parseImagesOptions } = await import('./images-options.js');
      const { imagesCommand } = await import('./images-command.js');
      setExit(await imagesCommand(parseImagesOptions(flags)));
    });
}

const COMPONENT_ARCHS = ['amd64', 'arm64'] as const;

function addComponentsCommand(program: Command, setExit: SetExit): void {
  subcommand(program, 'components', 'list the components a run builds from their Go modules (module, version, cache state and size per architecture) and what still comes from Debian')
    .option('--distro <name>', 'the distribution whose components are listed', RUN_DEFAULTS.distro)
    .option('--arch <arch>', `only this architecture: ${COMPONENT_ARCHS.join(', ')} (default: both)`)
    .option('--json', 'machine-readable output')
    .addOption(cacheDirOption())
    .addHelpText('after', '\nCache states: built (verified against its checksums), missing, corrupt (rebuilt on next use),\nunknown (no Go toolchain or C compiler here to compute its key).\n\nExamples:\n  edgeproof components\n  edgeproof components --arch arm64 --json')
    .action(async (flags: { distro: string; arch?: string; json?: boolean; cacheDir: string }) => {
      const distro = requireChoice(flags.distro, distroNames, 'distribution', '--distro');
      const archs = flags.arch !== undefined ? [requireChoice(flags.arch, COMPONENT_ARCHS, 'architecture', '--arch')] : [...COMPONENT_ARCHS];
      const cacheDir = directoryOption(flags.cacheDir, '--cache-dir');
      const { componentsCommand } = await import('./components-command.js');
      setExit(await componentsCommand({ distro, archs, json: Boolean(flags.json), cacheDir }));
    });
}

function cacheDirOption(): Option {
  return new Option('--cache-dir <dir>', 'build cache').default(defaultCacheDir(), 'EDGEPROOF_CACHE_DIR or ~/.cache/edgeproof');
}

function addDoctorCommands(program: Command, setExit: SetExit): void {
  subcommand(program, 'doctor', 'check this host for every prerequisite (with the fix), and list the cache')
    .addOption(cacheDirOption())
    .option('--json', 'machine-readable output')
    .action(async (flags: { cacheDir: string; json?: boolean }) => {
      const { doctorCommand } = await import('./doctor-command.js');
      setExit(await doctorCommand({ cacheDir: directoryOption(flags.cacheDir, '--cache-dir'), json: Boolean(flags.json) }));
    });
  subcommand(program, 'cache', 'list cached artifacts: kind, size on disk, age, last use')
    .addOption(cacheDirOption())
    .option('--json', 'machine-readable output')
    .action(async (flags: { cacheDir: string; json?: boolean }) => {
      const { cacheCommand } = await import('./doctor-command.js');
      setExit(cacheCommand({ cacheDir: directoryOption(flags.cacheDir, '--cache-dir'), json: Boolean(flags.json) }));
    });
}

function addCleanCommand(program: Command, setExit: SetExit): void {
  subcommand(program, 'clean', 'sweep what crashed runs left (QEMU processes, scratch disks); optionally the cache and reports')
    .addOption(cacheDirOption())
    .option('--reports-dir <dir>', 'reports dir', defaultReportsDir())
    .option('--cache', 'also delete built artifacts and build caches (Kubernetes sources, Go build cache)')
    .option('--reports', 'also delete the runs in the reports dir')
    .option('--snapshots', 'also delete the saved Ready clusters (QEMU snapshots; --cache deletes them too)')
    .action(async (flags: { cacheDir: string; reportsDir: string; cache?: boolean; reports?: boolean; snapshots?: boolean }) => {
      const { cleanCommand } = await import('./clean-command.js');
      const options = {
        cacheDir: directoryOption(flags.cacheDir, '--cache-dir'),
        reportsDir: directoryOption(flags.reportsDir, '--reports-dir'),
        cache: Boolean(flags.cache),
        reports: Boolean(flags.reports),
        snapshots: Boolean(flags.snapshots),
      };
      setExit(await cleanCommand(options));
    });
}

function addResultCommands(program: Command, setExit: SetExit): void {
  subcommand(program, 'report', "re-render a run directory's reports (report.html, summary.md, junit.xml, result.json) from its events.jsonl")
    .argument('<run-dir>', 'a run directory (holds events.jsonl)')
    .action(async (runDir: string) => {
      const { reportCommand } = await import('./report-commands.js');
      setExit(await reportCommand({ runDir: resolve(runDir) }));
    });
  subcommand(program, 'compare', 'comparison table across runs (distributions, boards): claimed vs measured, each cell linked to its evidence')
    .argument('<path...>', 'run directories, result.json files, merged directories, or directories of runs')
    .option('--out <dir>', 'where compare.html and compare.md are written', '.')
    .action(async (paths: string[], flags: { out: string }) => {
      const { compareCommand } = await import('./report-commands.js');
      setExit(await compareCommand({ paths, out: outputDirectoryOption(flags.out, '--out') }));
    });
  subcommand(program, 'diff', 'what changed between runs: new failures, fixed, flaky, metric regressions (exit 1 on new failures or regressions)')
    .argument('<old>', 'earlier run(s): a run directory, result.json, merged directory, or a directory of runs (several: their spread is used)')
    .argument('<new>', 'later run(s), the same kinds')
    .option('--budgets <file>', 'budgets file overriding fixtures/budgets.yaml (its regression: section sets the tolerances)')
    .option('--out <dir>', 'also write diff.md and diff.json there')
    .action(async (older: string, newer: string, flags: { budgets?: string; out?: string }) => {
      const { diffCommand } = await import('./report-commands.js');
      setExit(await diffCommand({ old: older, new: newer, ...(flags.budgets ? { budgets: flags.budgets } : {}), ...(flags.out ? { out: outputDirectoryOption(flags.out, '--out') } : {}) }));
    });
  subcommand(program, 'merge', "combine shards' results into one merged directory (merged.json, report.html, summary.md); missing or corrupt shards are named (exit 3; 1 if a merged run failed checks)")
    .argument('<shard-dir...>', "shard result directories (each holds that shard's run directories)")
    .requiredOption('--out <dir>', 'the merged directory to write')
    .option('--plan <file>', 'the plan `edgeproof matrix plan` printed: shards and cells that should be there')
    .action(async (shards: string[], flags: { out: string; plan?: string }) => {
      const { mergeCommand } = await import('./report-commands.js');
      setExit(await mergeCommand({ shards, out: outputDirectoryOption(flags.out, '--out'), ...(flags.plan ? { plan: flags.plan } : {}) }));
    });
  const matrix = subcommand(program, 'matrix', 'the nightly matrix (distros x boards x topologies x suites)');
  matrix
    .command('plan')
    .description('print GitHub Actions matrix JSON ({"include": [...]}): cells packed into shards that fit the time budget')
    .option('--file <file>', 'matrix file', 'fixtures/matrix/nightly.yaml')
    .option('--shard-minutes <n>', 'time budget of one shard (runner job), minutes', '300')
    .option('--history <dir>', 'earlier runs (result.json files) whose measured durations replace the estimates')
    .option('--results-dir <dir>', 'where shards write their run directories (<dir>/<shard>)', 'results')
    .option('--pretty', 'indented JSON')
    .action(async (flags: { file: string; shardMinutes: string; history?: string; resultsDir: string; pretty?: boolean }) => {
      const { matrixPlanCommand } = await import('./report-commands.js');
      const shardMinutes = parsePositiveNumber(flags.shardMinutes, '--shard-minutes', 'a number of minutes, e.g. 300');
      const options = { file: flags.file, shardMinutes, resultsDir: flags.resultsDir, pretty: Boolean(flags.pretty), ...(flags.history ? { history: flags.history } : {}) };
      setExit(await matrixPlanCommand(options, { distros: distroNames, boards: boardNames, suites: suiteNames }));
    });
}

function reportError(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  process.stderr.write(`error: ${debug ? debugDetail(error) : describeError(error)}\n`);
  return exitCodeForError(error);
}

/** The long tier: detail, stack and causes. */
function debugDetail(error: unknown): string {
  const parts = [errorDetail(error)];
  if (error instanceof Error && error.stack && !parts[0]?.includes(error.stack)) parts.push(error.stack);
  if (error instanceof Error && error.cause !== undefined) parts.push(`caused by: ${debugDetail(error.cause)}`);
  return parts.join('\n');
}

function enableDebug(): void {
  debugEnabled = true;
  createDebug.enable([process.env.DEBUG, 'edgeproof:*'].filter(Boolean).join(','));
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
