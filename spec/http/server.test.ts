import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import https from 'node:https';
import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { serve, type RunningServer } from '../../lib/http/server.js';
import type { FirewallConfigInput } from '../../lib/config/load.js';
import { ADMIN_SECRET, mintToken, tempDir, until } from '../helpers.js';

// The listeners themselves: TLS on both, and the limits that cut off slow or oversized clients.
// Nothing here reaches an upstream: the probes and the admin API answer on their own.

const env = { SPEC_ADMIN_SECRET: ADMIN_SECRET };

async function start(config: Partial<FirewallConfigInput>): Promise<{ server: RunningServer; port: number; close: () => Promise<void> }> {
  const dataDir = tempDir();
  const server = await serve({ config: { listen: '127.0.0.1:0', upstream: 'http://127.0.0.1:9', dataDir, reload: { watch: false }, logLevel: 'error', ...config }, env });
  return { server, port: Number(new URL(server.url).port), close: async () => (await server.close(), rmSync(dataDir, { recursive: true, force: true })) };
}

/** A raw connection and what happens to it: the bytes it got, and when (ms after connecting) it closed. */
function connect(port: number): Promise<{ socket: net.Socket; data: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('error', () => undefined); // a reset is a close here
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, data: () => data, closed }));
    socket.once('error', reject);
  });
}

function httpsGet(url: string, ca: Buffer | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('listener limits', () => {
  let fw: Awaited<ReturnType<typeof start>>;
  before(async () => {
    fw = await start({ server: { headersTimeout: '1s', requestTimeout: '2s', maxHeaderSize: '2kb', maxConnections: 4 } });
  });
  after(() => fw.close());

  it('cuts off a client that trickles its headers, headersTimeout after it started (slowloris)', async () => {
    const c = await connect(fw.port);
    const request = `POST /cgi-bin/webhook/send?key=ops HTTP/1.1\r\nHost: firewall\r\nX-Slow: ${'a'.repeat(200)}`;
    let i = 0;
    const trickle = setInterval(() => void (c.socket.writable && c.socket.write(request[i++] ?? 'a')), 200);
    const ms = await c.closed;
    clearInterval(trickle);
    // 1 s, swept every 250 ms. The upper bound only tells "enforced" from "node's 30 s default sweep":
    // generous, so a loaded machine's late timers do not fail it.
    assert.ok(ms >= 900 && ms < 10_000, `closed after ${ms} ms`);
    assert.match(c.data(), /^HTTP\/1\.1 408 /);
  });

  it('cuts off a connection that sends nothing', async () => {
    const c = await connect(fw.port);
    const ms = await c.closed;
    assert.ok(ms >= 900 && ms < 10_000, `closed after ${ms} ms`);
  });

  it('refuses headers over maxHeaderSize with 431', async () => {
    const res = await fetch(`${fw.server.url}/healthz`, { headers: { 'x-big': 'b'.repeat(4096) } });
    assert.equal(res.status, 431);
    assert.equal((await fetch(`${fw.server.url}/healthz`)).status, 200);
  });

  it('closes connections past maxConnections at once, and takes new ones when some are gone', async () => {
    // A listener of its own: no keep-alive socket an earlier fetch left open counts toward its 4.
    const own = await start({ server: { headersTimeout: '1s', requestTimeout: '2s', maxConnections: 4 } });
    try {
      // Four connections the server has certainly taken: each has had an answer, and stays open
      // (keep-alive, 5 s) while the fifth arrives.
      const open = await Promise.all([1, 2, 3, 4].map(() => connect(own.port)));
      for (const c of open) c.socket.write('GET /healthz HTTP/1.1\r\nHost: firewall\r\n\r\n');
      await until('the four connections to be answered', () => open.every((c) => /^HTTP\/1\.1 200 [\s\S]*\r\n\r\n/.test(c.data())));
      const extra = await connect(own.port);
      await extra.closed;
      // Closed on arrival, without a word: not the 408 that a connection which merely sent nothing
      // gets after headersTimeout, which would mean it had been taken.
      assert.equal(extra.data(), '', 'the fifth connection is closed at once, unanswered');
      for (const c of open) c.socket.destroy();
      await Promise.all(open.map((c) => c.closed));
      // The server notices those closes on its own schedule: a new connection is taken once it has.
      await until('a new connection to be taken', async () => (await fetch(`${own.server.url}/healthz`)).status === 200);
    } finally {
      await own.close();
    }
  });
});

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('TLS on both listeners', { skip: !haveOpenssl && 'openssl is not installed' }, () => {
  let fw: Awaited<ReturnType<typeof start>>;
  let dir: string;
  let cert: Buffer;
  before(async () => {
    dir = tempDir();
    // A throwaway self-signed certificate for 127.0.0.1.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    fw = await start({ tls, admin: { listen: '127.0.0.1:0', jwtSecret: '${env:SPEC_ADMIN_SECRET}', tls }, approvals: { approvers: ['alice'] } });
  });
  after(async () => {
    await fw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the proxy listener over https only', async () => {
    assert.match(fw.server.url, /^https:\/\//);
    const probe = await httpsGet(`${fw.server.url}/healthz`, cert);
    assert.equal(probe.status, 200);
    await assert.rejects(fetch(fw.server.url.replace('https:', 'http:') + '/healthz'));
    await assert.rejects(httpsGet(`${fw.server.url}/healthz`, undefined), 'an untrusted certificate is refused by the client');
  });

  it('serves the admin listener over https', async () => {
    assert.match(fw.server.adminUrl!, /^https:\/\//);
    const me = await httpsGet(`${fw.server.adminUrl!}/me`, cert, { authorization: `Bearer ${await mintToken('alice')}` });
    assert.equal(me.status, 200);
    assert.equal((JSON.parse(me.body) as { sub: string }).sub, 'alice');
  });
});
