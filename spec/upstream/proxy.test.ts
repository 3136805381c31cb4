import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpstreamProxy } from '../../lib/upstream/proxy.js';
import { UpstreamGuard } from '../../lib/upstream/guard.js';
import { Cooldowns } from '../../lib/limits/cooldowns.js';

const SETTINGS = { retries: 2, baseDelayMs: 10, maxDelayMs: 50, budgetMs: 1000, breaker: { failures: 5, halfOpenAfterMs: 1000 }, cooldownMs: 1000 };
const guardFor = (url: string) => new UpstreamGuard(new URL(url), SETTINGS, new Cooldowns());

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('UpstreamProxy', () => {
  it('relays the upstream answer unchanged but for hop-by-hop headers, and reads its errcode', async () => {
    const upstream = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'x-wecom': 'yes', connection: 'keep-alive' });
      res.end(JSON.stringify({ errcode: 93000, errmsg: `invalid webhook url ${req.url}` }));
    });
    const agent = new http.Agent({ keepAlive: true });
    const proxy = new UpstreamProxy(new URL(upstream.url), agent, 2000, guardFor(upstream.url));
    let result: unknown;
    const front = await listen((req, res) => void proxy.forward(req, res, '/cgi-bin/webhook/send?key=real', Buffer.from('{}'), 'application/json').then((r) => (result = r)));
    const res = await fetch(`${front.url}/anything`, { method: 'POST', body: 'ignored' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-wecom'), 'yes');
    assert.equal(((await res.json()) as { errmsg: string }).errmsg, 'invalid webhook url /cgi-bin/webhook/send?key=real');
    assert.deepEqual(result, { status: 200, errcode: 93000, attempts: 1 });
    proxy.close();
    agent.destroy();
    front.server.close();
    upstream.server.close();
  });

  it('settles the forward when the agent disconnects before WeCom answers (regression: it hung, unaudited)', async () => {
    const upstream = await listen(() => {}); // never answers
    const agent = new http.Agent({ keepAlive: true });
    const proxy = new UpstreamProxy(new URL(upstream.url), agent, 500, guardFor(upstream.url));
    const settled = new Promise<string>((resolve) => {
      void listen((req, res) => {
        proxy.forward(req, res, '/cgi-bin/webhook/send?key=real', Buffer.from('{}'), 'application/json').then(
          () => resolve('resolved'),
          () => resolve('rejected'),
        );
      }).then(({ url, server }) => {
        const client = http.request(`${url}/x`, { method: 'POST' });
        client.on('error', () => {});
        client.end('{}');
        setTimeout(() => client.destroy(), 100);
        void settled.then(() => server.close());
      });
    });
    const hung = new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 5000).unref());
    assert.equal(await Promise.race([settled, hung]), 'rejected');
    proxy.close();
    agent.destroy();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });

  it('retries "system busy" before writing anything, so the agent gets one answer: WeCom\'s success', async () => {
    const bodies: string[] = [];
    const upstream = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString())).on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errcode: bodies.length < 3 ? -1 : 0, errmsg: bodies.length < 3 ? 'system busy' : 'ok' }));
      });
    });
    const agent = new http.Agent({ keepAlive: true });
    const proxy = new UpstreamProxy(new URL(upstream.url), agent, 2000, guardFor(upstream.url));
    let result: unknown;
    const front = await listen((req, res) => void proxy.forward(req, res, '/cgi-bin/webhook/send?key=real', Buffer.from('{"n":1}'), 'application/json').then((r) => (result = r)));
    const res = await fetch(`${front.url}/x`, { method: 'POST', body: 'ignored' });
    assert.deepEqual([res.status, ((await res.json()) as { errcode: number }).errcode], [200, 0]);
    assert.deepEqual(result, { status: 200, errcode: 0, attempts: 3 });
    assert.deepEqual(bodies, ['{"n":1}', '{"n":1}', '{"n":1}'], 'the same bytes each time');
    proxy.close();
    agent.destroy();
    front.server.close();
    upstream.server.close();
  });

  it('answers a stalled upstream with 504/9900017 after upstreamTimeout and does not resend', async () => {
    let got = 0;
    const upstream = await listen(() => void got++);
    const agent = new http.Agent({ keepAlive: true });
    const proxy = new UpstreamProxy(new URL(upstream.url), agent, 150, guardFor(upstream.url));
    let refusal: unknown;
    const front = await listen((req, res) =>
      void proxy.forward(req, res, '/cgi-bin/webhook/send?key=real', Buffer.from('{}'), 'application/json').catch((err: { status: number; errcode: number }) => {
        refusal = [err.status, err.errcode];
        res.writeHead(err.status).end();
      }),
    );
    const res = await fetch(`${front.url}/x`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 504);
    assert.deepEqual(refusal, [504, 9900017]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, 1);
    proxy.close();
    agent.destroy();
    front.server.close();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });
});
