import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPolicySample } from './cni-plan.js';
import {
  MANAGED_BY,
  NO_PROBE_TOOL_EXIT,
  POD_NAME_LABEL,
  httpProbeFailure,
  httpProbePod,
  httpRequestCommand,
  nodeHttpRequestCommand,
  parseHttpProbeOutput,
  service,
  sleeperPod,
  webDeployment,
  webPod,
} from './workloads.js';

/** The workload image is built from Debian's busybox-static; the project's setup installs the same package here. */
const BUSYBOX = '/bin/busybox';

describe('pinned pods and Services', () => {
  it('pins a web pod and a client pod to a node, tolerating every taint, with labels that name them', () => {
    const web = webPod('ep-echo-1', 'ep-echo', 'img:1', { nodeName: 'node-b' });
    const client = sleeperPod('ep-client-1', 'ep-client', 'img:1', { nodeName: 'node-b' });
    for (const [pod, app, name] of [[web, 'ep-echo', 'ep-echo-1'], [client, 'ep-client', 'ep-client-1']] as const) {
      expect(pod.spec?.nodeName).toBe('node-b');
      expect(pod.spec?.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(pod.metadata?.labels).toEqual({ app, [POD_NAME_LABEL]: name, ...MANAGED_BY });
      expect(pod.spec?.containers[0]?.image).toBe('img:1');
    }
    expect(web.spec?.containers[0]).toMatchObject({ name: 'web', ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 } } });
    expect(client.spec?.containers[0]).toMatchObject({ name: 'client', command: ['sleep', '2147483647'] });
  });

  it('leaves an unpinned pod to the scheduler, and the Deployment keeps the same web container', () => {
    expect(webPod('w', 'a', 'img').spec).not.toHaveProperty('nodeName');
    expect(webPod('w', 'a', 'img').spec).not.toHaveProperty('tolerations');
    expect(webDeployment('ep-web', 'img', 2).spec?.template.spec?.containers).toEqual(webPod('w', 'a', 'img').spec?.containers);
  });

  it('makes NodePort and ClusterIP Services from port 80 to 8080', () => {
    expect(service('s', { app: 'x' }, 'NodePort').spec).toEqual({ type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', name: 'http' }] });
  });

  it('runs the same request script in a probe pod and in an exec', () => {
    const argv = httpRequestCommand('http://10.96.0.12/healthz?x=1', 2.4);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['10.96.0.12', '80', '/healthz?x=1', '2']);
    expect(httpProbePod('p', 'img', 'http://10.96.0.12/healthz?x=1', 2.4).spec?.containers[0]?.command).toEqual(argv);
    expect(httpRequestCommand('http://10.0.0.1:8080/', 0.2).at(-1)).toBe('1');
  });
});

describe('HTTP probes against a real busybox httpd (the binary the workload image carries)', () => {
  let dir: string;
  let httpd: ChildProcess;
  let port: number;
  let closedPort: number;

  beforeAll(async () => {
    expect(existsSync(BUSYBOX), `${BUSYBOX} is missing: run the project's setup (it installs busybox-static)`).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'ep-workloads-test-'));
    writeFileSync(join(dir, 'index.html'), 'edgeproof-marker ep-echo-0\n');
    [port, closedPort] = [await freePort(), await freePort()];
    httpd = spawn(BUSYBOX, ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', dir], { stdio: 'ignore' });
    await waitForPort(port);
  });

  afterAll(() => {
    httpd?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const inPod = (url: string) => {
    const [, ...rest] = httpRequestCommand(url, 2);
    return spawnSync(BUSYBOX, ['sh', ...rest], { encoding: 'utf8', timeout: 20_000 });
  };
  const onNode = (url: string, env: NodeJS.ProcessEnv = process.env) => spawnSync('/bin/sh', ['-c', nodeHttpRequestCommand(url, 2)], { encoding: 'utf8', timeout: 20_000, env });

  it('a pod probe (busybox sh + nc) reads the status, the marker and its own timing', () => {
    const run = inPod(`http://127.0.0.1:${port}/`);
    expect(run.status).toBe(0);
    const result = parseHttpProbeOutput(run.stdout);
    expect(result).toMatchObject({ statusLine: 'HTTP/1.1 200 OK', status: 200, marker: 'edgeproof-marker ep-echo-0', servedBy: 'ep-echo-0', exitCode: 0 });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(result.elapsedMs).toBeLessThan(20_000);
    expect(httpProbeFailure(result, ['ep-echo-0'])).toBeUndefined();
    expect(httpProbeFailure(result, ['ep-echo-1'])).toBe('served by ep-echo-0, expected ep-echo-1');
    expect(classifyPolicySample(result)).toBe('reached');
  });

  it('a refused connection is no HTTP answer, with nc\'s error and exit code: blocked, not reached', () => {
    const run = inPod(`http://127.0.0.1:${closedPort}/`);
    const result = parseHttpProbeOutput(run.stdout);
    expect(run.status).toBe(1);
    expect(result.statusLine).toBeUndefined();
    expect(result.exitCode).toBe(1);
    expect(result.error).toMatch(/^nc: can't connect to remote host \(127\.0\.0\.1\): Connection refused/);
    expect(httpProbeFailure(result)).toMatch(/^no HTTP answer \(exit 1\): nc: can't connect/);
    expect(classifyPolicySample(result)).toBe('blocked');
  });

  it('a 404 is an answer (the packets got through) but not a good one', () => {
    const result = parseHttpProbeOutput(inPod(`http://127.0.0.1:${port}/missing`).stdout);
    expect(result.status).toBe(404);
    expect(httpProbeFailure(result)).toBe('answered "HTTP/1.1 404 Not Found", not 200');
    expect(classifyPolicySample(result)).toBe('reached');
  });

  it('a node probe prints the same format through bash /dev/tcp', () => {
    const ok = parseHttpProbeOutput(onNode(`http://127.0.0.1:${port}/`).stdout);
    expect(ok).toMatchObject({ status: 200, servedBy: 'ep-echo-0', exitCode: 0 });
    const refused = onNode(`http://127.0.0.1:${closedPort}/`);
    expect(refused.status).toBe(1);
    expect(parseHttpProbeOutput(refused.stdout)).toMatchObject({ exitCode: 1, error: expect.stringMatching(/Connection refused/) });
  });

  it('a node without bash falls back to nc (a busybox-only node has it as an applet); one with neither says so with exit 127', () => {
    const bin = mkdtempSync(join(tmpdir(), 'ep-nobash-'));
    const url = `http://127.0.0.1:${port}/`;
    const run = () => spawnSync(join(bin, 'sh'), ['-c', nodeHttpRequestCommand(url, 2)], { encoding: 'utf8', env: { PATH: bin } });
    try {
      symlinkSync('/bin/dash', join(bin, 'sh'));
      const noTools = run();
      expect(noTools.status).toBe(NO_PROBE_TOOL_EXIT);
      expect(noTools.stdout).toContain('probe-tool=none');
      symlinkSync(BUSYBOX, join(bin, 'nc'));
      expect(parseHttpProbeOutput(run().stdout)).toMatchObject({ status: 200, servedBy: 'ep-echo-0', exitCode: 0 });
      rmSync(join(bin, 'nc'));
      rmSync(join(bin, 'sh'));
      symlinkSync(BUSYBOX, join(bin, 'sh'));
      expect(parseHttpProbeOutput(run().stdout)).toMatchObject({ status: 200, servedBy: 'ep-echo-0', exitCode: 0 });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('parseHttpProbeOutput', () => {
  it('reads a probe pod log of the older format (no timing), and an exec that printed nothing', () => {
    expect(parseHttpProbeOutput('HTTP/1.0 200 OK\r\n\r\nedgeproof-marker ep-web-abc\n\nprobe-exit=0\n')).toEqual({
      statusLine: 'HTTP/1.0 200 OK', status: 200, marker: 'edgeproof-marker ep-web-abc', servedBy: 'ep-web-abc', exitCode: 0,
    });
    const nothing = parseHttpProbeOutput('');
    expect(nothing).toEqual({});
    expect(classifyPolicySample(nothing)).toBe('error');
    expect(classifyPolicySample(undefined)).toBe('error');
  });

  it('a timed-out node probe (timeout exits 124 with no output) is blocked with no error line', () => {
    const result = parseHttpProbeOutput('\nprobe-exit=124 uptime=10.00..12.01\n');
    expect(result).toEqual({ exitCode: 124, elapsedMs: 2010 });
    expect(httpProbeFailure(result)).toBe('no HTTP answer (exit 124): no output');
    expect(classifyPolicySample(result)).toBe('blocked');
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const probe = spawnSync(BUSYBOX, ['nc', '-w', '1', '127.0.0.1', String(port)], { input: '', encoding: 'utf8' });
    if (probe.status === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`busybox httpd did not listen on ${port}`);
}
