import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestUpstream } from '../../lib/upstream/send.js';
import { UpstreamFailure, failureOf } from '../../lib/upstream/failure.js';

// One attempt, classified: only what happened before a connection existed is "certainly not sent".

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: URL }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) })));
}

async function failure(p: Promise<unknown>): Promise<UpstreamFailure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UpstreamFailure, String(err));
    return err;
  }
  assert.fail('did not fail');
}

const post = { method: 'POST' as const, path: '/cgi-bin/webhook/send?key=k', body: Buffer.from('{}') };

describe('requestUpstream: what a failed attempt means', () => {
  it('a refused connection: unreachable, certainly not sent, worth retrying', async () => {
    const { server, url } = await listen(() => {});
    server.close();
    const agent = new http.Agent();
    const f = await failure(requestUpstream(url, agent, post, 1000));
    assert.deepEqual([f.kind, f.mayHaveArrived, f.transient], ['unreachable', false, true]);
    agent.destroy();
  });

  it('no answer in time after sending: timeout, may have arrived', async () => {
    let got = 0;
    const { server, url } = await listen(() => void got++);
    const agent = new http.Agent();
    const f = await failure(requestUpstream(url, agent, post, 150));
    assert.deepEqual([f.kind, f.mayHaveArrived, got], ['timeout', true, 1]);
    agent.destroy();
    server.closeAllConnections();
    server.close();
  });

  it('a connection reset after sending: lost, may have arrived', async () => {
    const { server, url } = await listen((req) => req.on('data', () => {}).on('end', () => req.socket.destroy()));
    const agent = new http.Agent();
    const f = await failure(requestUpstream(url, agent, post, 1000));
    assert.deepEqual([f.kind, f.mayHaveArrived], ['lost', true]);
    agent.destroy();
    server.close();
  });

  it('classifies DNS and TLS failures as never sent; TLS ones are not worth repeating', () => {
    const dns = failureOf(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    assert.deepEqual([dns.kind, dns.mayHaveArrived, dns.transient], ['unreachable', false, true]);
    const tls = failureOf(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }));
    assert.deepEqual([tls.kind, tls.mayHaveArrived, tls.transient], ['unreachable', false, false]);
    const reset = failureOf(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    assert.deepEqual([reset.kind, reset.mayHaveArrived], ['lost', true]);
  });
});
