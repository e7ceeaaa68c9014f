import { describeError } from '../core/errors.js';
import { boards, type Board } from '../emulation/boards.js';
import { detectAccel, qemuVersion } from '../emulation/qemu/host-probe.js';
import { EXIT } from '../core/exit-codes.js';
import { formatMiB, renderTable } from './format.js';

interface QemuInstall {
  installed: boolean;
  version?: string;
  hint?: string;
}

interface BoardOnThisHost extends Board {
  accel: 'kvm' | 'tcg';
  accelReason: string;
}

export interface BoardsReport {
  host: { arch: string; qemu: Record<string, QemuInstall> };
  boards: BoardOnThisHost[];
}

/** `edgeproof boards`: what each board is and how it would run on this host. */
export async function boardsCommand(options: { json: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const report = await probeBoards(Object.values(boards));
  out.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderBoards(report)}\n`);
  return EXIT.ok;
}

export async function probeBoards(list: Board[]): Promise<BoardsReport> {
  const binaries = [...new Set(list.map((board) => board.qemuBinary))];
  const installs = await Promise.all(binaries.map(async (binary) => [binary, await probeQemu(binary)] as const));
  const withAccel = await Promise.all(
    list.map(async (board) => {
      const { accel, reason } = await detectAccel(board);
      return { ...board, memoryChoicesMiB: [...board.memoryChoicesMiB], accel, accelReason: reason };
    }),
  );
  return { host: { arch: process.arch, qemu: Object.fromEntries(installs) }, boards: withAccel };
}

async function probeQemu(binary: Board['qemuBinary']): Promise<QemuInstall> {
  try {
    return { installed: true, version: await qemuVersion(binary) };
  } catch (error) {
    return { installed: false, hint: describeError(error) };
  }
}

function renderBoards(report: BoardsReport): string {
  const rows = report.boards.map((board) => [
    board.name,
    board.arch,
    board.machine,
    board.cpu,
    String(board.cpus),
    memoryColumn(board),
    board.disk,
    board.nic,
    board.accel,
    boardNotes(board),
  ]);
  const table = renderTable(['board', 'arch', 'qemu machine', 'cpu', 'cores', 'memory (choices)', 'disk', 'nic', 'accel', 'notes'], rows);
  return [table, '', renderHost(report)].join('\n');
}

function memoryColumn(board: Board): string {
  return `${formatMiB(board.memoryMiB)} (${board.memoryChoicesMiB.map(formatMiB).join('/')})`;
}

function boardNotes(board: Board): string {
  const notes: string[] = [];
  if (board.haltsInsteadOfPowerOff) notes.push('halts instead of power-off (the harness ends QEMU)');
  if (board.dtb) notes.push(`device tree ${board.dtb}`);
  if (notes.length === 0) notes.push(board.description.split(':')[0] ?? '');
  return notes.join('; ');
}

function renderHost(report: BoardsReport): string {
  const qemuLines = Object.entries(report.host.qemu).map(([binary, install]) =>
    install.installed ? `  ${binary}: QEMU ${install.version}` : `  ${binary}: not installed (${install.hint?.replace(/\n\s*/g, '; ')})`,
  );
  const accelLines = report.boards.map((board) => `  ${board.name}: ${board.accel === 'kvm' ? 'KVM' : 'TCG (emulation)'}: ${board.accelReason}`);
  return [`This host (${report.host.arch}):`, ...qemuLines, 'Acceleration:', ...accelLines].join('\n');
}
