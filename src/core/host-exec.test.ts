import { describe, expect, it } from 'vitest';
import { hostRun } from './host-exec.js';
import { CommandFailedError } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('hostRun', () => {
  it('carries exit code and output tails in its error', async () => {
    const error = await hostRun('sh', ['-c', 'echo out; echo boom >&2; exit 3']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as CommandFailedError).outcome).toMatchObject({ exitCode: 3, stdout: 'out', stderr: 'boom' });
    expect((error as CommandFailedError).message).toContain('boom');
  });

  it('names a command by its display name in errors, never by its command line (it may carry credentials)', async () => {
    const silent = await hostRun('sh', ['-c', 'exit 4 # --password=Hunter2-Secret'], { display: 'the powerOff command of pi-1' }).catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(CommandFailedError);
    expect((silent as CommandFailedError).message).toBe('Command `the powerOff command of pi-1` on host exited with code 4');
    expect((silent as CommandFailedError).detail()).not.toContain('Hunter2-Secret');
  });

  it('an abort ends the whole process tree, grandchildren included', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const run = hostRun('sh', ['-c', 'sleep 300 & echo "grandchild $!"; wait'], {
      signal: controller.signal,
      onLine: (line) => lines.push(line),
    }).catch((e: unknown) => e);
    while (!lines.some((l) => l.startsWith('grandchild'))) await new Promise((r) => setTimeout(r, 20));
    const grandchild = Number(lines.find((l) => l.startsWith('grandchild'))!.split(' ')[1]);
    expect(alive(grandchild)).toBe(true);
    controller.abort();
    expect(await run).toBeInstanceOf(CommandFailedError);
    const deadline = Date.now() + 3_000;
    while (alive(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(grandchild)).toBe(false);
  });
});
