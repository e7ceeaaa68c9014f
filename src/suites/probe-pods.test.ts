import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequestLog, REQUEST_SCRIPT, requestPod, summarizeAttempts } from './probe-pods.js';

const run = promisify(execFile);

/**
 * The probe script runs for real under Debian's busybox (the same busybox-static
 * the workload image is built from; scripts/setup.mjs installs it), with only
 * busybox applets on PATH, against a local HTTP server and a closed port.
 */
describe('request probe script under busybox', () => {
  let server: Server;
  let port: number;
  let closedPort: number;
  let bin: string;
  const requests: { host?: string; method?: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    bin = mkdtempSync(join(tmpdir(), 'ep-bb-'));
    for (const applet of ['sh', 'nc', 'cut', 'sleep', 'printf', 'echo', '[']) symlinkSync('/usr/bin/busybox', join(bin, applet));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({ host: req.headers.host, method: req.method, auth: req.headers.authorization, body });
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('edgeproof-marker test-pod\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const spare = createTcpServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    closedPort = (spare.address() as AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(bin, { recursive: true, force: true });
  });

  const probe = async (env: Record<string, string>) => {
    const pod = requestPod('p', 'img', { address: '127.0.0.1', port, attempts: 1, timeoutSeconds: 2, pauseSeconds: 0, ...JSON.parse(env.SPEC ?? '{}') });
    const podEnv = Object.fromEntries(pod.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? '']));
    const { stdout } = await run('/usr/bin/busybox', ['sh', '-c', REQUEST_SCRIPT], { env: { PATH: bin, ...podEnv, ...env } });
    return parseRequestLog(stdout);
  };

  it('frames each attempt with its HTTP status, body and duration', async () => {
    const attempts = await probe({ SPEC: JSON.stringify({ attempts: 2, hostHeader: 'ns.edgeproof.test' }) });
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ attempt: 1, statusLine: 'HTTP/1.1 200 OK', status: 200, rc: 0, body: 'edgeproof-marker test-pod' });
    expect(attempts[0]!.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(requests.at(-1)).toMatchObject({ host: 'ns.edgeproof.test', method: 'GET' });
  });

  it('sends a POST body and extra headers (as from a Secret)', async () => {
    const attempts = await probe({ SPEC: JSON.stringify({ method: 'POST', path: '/function/echo', body: 'edgeproof-marker abc' }), EXTRA_HEADERS: 'Authorization: Basic dXNlcjpwdw==\\r\\nX-Callback-Url: http://10.0.0.1:8080/\\r\\n' });
    expect(attempts[0]!.status).toBe(200);
    expect(requests.at(-1)).toMatchObject({ method: 'POST', auth: 'Basic dXNlcjpwdw==', body: 'edgeproof-marker abc' });
  });

  it('a refused connection is an attempt with no HTTP answer', async () => {
    const pod = requestPod('p', 'img', { address: '127.0.0.1', port: closedPort, attempts: 1, timeoutSeconds: 2, pauseSeconds: 0 });
    const env = Object.fromEntries(pod.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? '']));
    const { stdout } = await run('/usr/bin/busybox', ['sh', '-c', REQUEST_SCRIPT], { env: { PATH: bin, ...env } });
    const [attempt] = parseRequestLog(stdout);
    expect(attempt).toMatchObject({ attempt: 1, rc: 1 });
    expect(attempt!.status).toBeUndefined();
    expect(summarizeAttempts([attempt!])[0]).toMatch(/^1: no HTTP answer \(nc rc=1: .*refused/i);
  });

  it('takes credentials from a Secret reference, never inline', () => {
    const pod = requestPod('p', 'img', { address: '10.0.0.1', port: 8080, attempts: 1, timeoutSeconds: 1 }, { headersSecret: { name: 'auth', key: 'headers' } });
    expect(pod.spec!.containers[0]!.env!.find((e) => e.name === 'EXTRA_HEADERS')).toEqual({ name: 'EXTRA_HEADERS', valueFrom: { secretKeyRef: { name: 'auth', key: 'headers' } } });
  });
});
