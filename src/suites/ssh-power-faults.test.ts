import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createDebug from 'debug';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTestServer } from '../../test/ssh-test-server.js';
import { RunContext } from '../core/context.js';
import { fixturePath } from '../core/paths.js';
import { writeReports } from '../reports/write-reports.js';
import { pass, runCheck } from './check.js';
import { powerOffNode, powerOnNode } from './faults.js';
import { generateSshKey } from '../emulation/guest/ssh-key.js';
import { loadHostsFile } from '../emulation/ssh/hosts-file.js';
import { SshMachine } from '../emulation/ssh/ssh-machine.js';

/**
 * Power commands of the hosts file carry credentials (a PDU password, an
 * SNMP community): a run that uses them, and fails with one, writes neither
 * command nor credential to events.jsonl, result.json, the reports or the
 * debug log.
 */
describe('power commands of ssh hosts', () => {
  const password = 'Hunter2-Pdu-Secret';
  const token = 'Tok3n-On-Secret';
  let root: string;
  let powerOff: string;
  const powerOn = `true --token=${token} outlet 3 on`;
  let board: SshTestServer;
  let ctx: RunContext;
  let debugOutput = '';
  const writeStderr = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ep-power-'));
    const userKey = generateSshKey('edgeproof-test');
    board = await SshTestServer.start(userKey, (command) => (command.includes('@@fact machine') ? { stdout: readFileSync(fixturePath('samples', 'ssh', 'facts-rpi4-raspios.txt'), 'utf8') } : {}));
    writeFileSync(join(root, 'id_ed25519'), userKey.privateKey, { mode: 0o600 });
    // A PDU tool that echoes its credential when it fails, as some do.
    writeFileSync(join(root, 'pdu-tool'), '#!/bin/sh\necho "pdu: login admin/$PDU_PASSWORD refused" >&2\nexit 3\n', { mode: 0o755 });
    powerOff = `PDU_PASSWORD=${password} ${join(root, 'pdu-tool')} outlet 3 off`;
    // The debug log goes to stderr; keep a copy of what this run writes there.
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      debugOutput += chunk.toString();
      return writeStderr(chunk, ...rest);
    }) as typeof process.stderr.write;
    createDebug.enable('edgeproof:*');
  });

  afterAll(async () => {
    createDebug.disable();
    process.stderr.write = writeStderr;
    await ctx?.dispose();
    await board.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('leave no trace of the commands or their credentials in events, result, reports or debug log', async () => {
    const hostsPath = join(root, 'hosts.yaml');
    const yaml = (value: string) => JSON.stringify(value);
    writeFileSync(hostsPath, `hosts:\n  - name: pi-1\n    address: 127.0.0.1\n    port: ${board.port}\n    key: id_ed25519\n    arch: arm64\n    role: control-plane\n    hostKey: ${board.hostKeyFingerprint}\n    powerOff: ${yaml(powerOff)}\n    powerOn: ${yaml(powerOn)}\n`);
    const hosts = loadHostsFile(hostsPath);
    ctx = new RunContext({ runDir: join(root, 'run'), cacheDir: join(root, 'cache'), progress: false });
    // As `edgeproof run` records it: the whole configuration, hosts included.
    ctx.events.emit({ type: 'run-start', runId: ctx.runId, argv: ['run', '--backend', 'ssh', '--hosts', hostsPath], config: { clusterSource: { backend: 'ssh', hosts, hostsFile: hostsPath } } });
    const machine = await SshMachine.connect(ctx, hosts[0]!);
    const node = { name: 'pi-1', role: 'control-plane' as const, machine };

    const off = await runCheck(ctx, { id: 'HA-3', suite: 'ha', name: 'power off a node' }, async () => {
      await powerOffNode(ctx, node, 'HA-3');
      return pass();
    });
    const on = await runCheck(ctx, { id: 'HA-5', suite: 'ha', name: 'power on a node' }, async () => {
      await powerOnNode(ctx, node, 'HA-5');
      return pass();
    });
    ctx.events.emit({ type: 'run-end', outcome: 'completed', durationMs: 1 });
    await writeReports(ctx.runDir, ctx.events.events, { claims: {} });

    const written = readdirSync(ctx.runDir).filter((name) => /\.(jsonl|json|html|xml|md)$/.test(name));
    expect(written).toEqual(expect.arrayContaining(['events.jsonl', 'result.json', 'report.html', 'junit.xml', 'summary.md']));
    const texts: [string, string][] = [...written.map((name): [string, string] => [name, readFileSync(join(ctx.runDir, name), 'utf8')]), ['debug log', debugOutput]];
    const leaks = texts.flatMap(([what, text]) => [password, token].filter((secret) => text.includes(secret)).map((secret) => `${what}: ${secret}`));
    expect(leaks).toEqual([]);
    const result = JSON.parse(readFileSync(join(ctx.runDir, 'result.json'), 'utf8'));
    expect(result.config.clusterSource.hosts[0]).toMatchObject({ name: 'pi-1', powerOff: '[redacted]', powerOn: '[redacted]' });
    expect(debugOutput).toContain('the powerOff command of host "pi-1"');
    expect(off).toMatchObject({ verdict: 'fail', reason: `Command \`the powerOff command of host "pi-1" (${hostsPath}:2)\` on host exited with code 3: pdu: login admin/[redacted] refused` });
    expect(on.verdict).toBe('pass');
  });
});
