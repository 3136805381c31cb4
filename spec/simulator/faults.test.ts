import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { KEY, send, text } from './helpers.js';
import { until } from '../helpers.js';

// Transport faults: what a network or a gateway in front of WeCom does instead of WeCom answering.

/**
 * A raw POST that reports how it ended: an answer, or the socket error ('TIMEOUT' after
 * `timeoutMs`, only short where no answer is the point).
 */
function rawPost(sim: Simulator, timeoutMs = 10_000): Promise<{ status?: number; contentType?: string; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(`${sim.url}/cgi-bin/webhook/send?key=${KEY}`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString())).on('end', () => resolve({ status: res.statusCode, contentType: res.headers['content-type'], body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(JSON.stringify(text('hi')));
  });
}

describe('simulator transport faults', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ quiet: true });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('stall: reads the request and never answers', async () => {
    sim.faultNext(1, { kind: 'stall' });
    assert.deepEqual(await rawPost(sim, 200), { error: 'TIMEOUT' });
    assert.equal(sim.received().length, 1);
    assert.deepEqual([sim.received()[0]!.fault, sim.delivered().length], ['stall', 0]);
    assert.equal((await send(sim, text('next'))).json.errcode, 0, 'only the next request stalls');
  });

  it('reset: drops the connection without an answer', async () => {
    sim.faultNext(1, { kind: 'reset' });
    assert.equal((await rawPost(sim)).error, 'ECONNRESET');
    assert.equal(sim.received()[0]!.fault, 'reset');
  });

  it('http: a gateway page with that status; html: HTTP 200 that is not JSON', async () => {
    sim.faultNext(1, { kind: 'http', status: 503 });
    sim.faultNext(1, { kind: 'html' });
    const gateway = await rawPost(sim);
    assert.deepEqual([gateway.status, gateway.contentType], [503, 'text/html']);
    assert.match(gateway.body!, /503 Service Unavailable/);
    const portal = await rawPost(sim);
    assert.deepEqual([portal.status, portal.contentType], [200, 'text/html']);
    assert.equal(sim.requestCount('/cgi-bin/webhook/send'), 2);
  });

  it('shares one queue with failNext, in order, and honours a path', async () => {
    sim.failNext(1);
    sim.faultNext(1, { kind: 'http', status: 502 }, '/cgi-bin/webhook/send');
    assert.equal((await send(sim, text('a'))).json.errcode, -1);
    assert.equal((await rawPost(sim)).status, 502);
    assert.equal((await send(sim, text('c'))).json.errcode, 0);
    sim.faultNext(1, { kind: 'stall' }, '/cgi-bin/message/send');
    assert.equal((await send(sim, text('d'))).json.errcode, 0, 'a fault for another path is not taken');
    assert.throws(() => sim.faultNext(1, { kind: 'http', status: 200 }), RangeError);
    assert.throws(() => sim.faultNext(1, { kind: 'nope' } as never), RangeError);
  });

  it('refuseConnections: connect() is refused until acceptConnections(), on the same port', async () => {
    await sim.refuseConnections();
    assert.equal((await rawPost(sim)).error, 'ECONNREFUSED');
    await sim.acceptConnections();
    assert.equal((await send(sim, text('back'))).json.errcode, 0);
    // For a while: 1 s, long enough that the refusal is seen on a loaded machine; then connections
    // are taken again on their own (waited for, not slept on).
    await sim.refuseConnections(1000);
    assert.equal((await rawPost(sim)).error, 'ECONNREFUSED');
    await until('connections taken again after the 1 s', async () => (await rawPost(sim)).status === 200);
    assert.equal((await send(sim, text('back again'))).json.errcode, 0);
  });

  it('over HTTP: POST /__sim/fault, POST /__sim/refuse, GET /__sim/requests', async () => {
    const control = (path: string, body?: unknown) => fetch(`${sim.url}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
    assert.equal((await control('/__sim/fault', { count: 1, kind: 'http', status: 504 })).status, 200);
    assert.equal((await rawPost(sim)).status, 504);
    assert.equal((await control('/__sim/fault', { count: 1, kind: 'http' })).status, 400);
    assert.equal((await control('/__sim/fault', { count: 1, kind: 'bogus' })).status, 400);
    assert.deepEqual(await control('/__sim/requests?path=/cgi-bin/webhook/send'), { status: 200, json: { count: 1 } });
    assert.equal((await control('/__sim/refuse', { ms: 0 })).status, 400);
    assert.equal((await control('/__sim/refuse', { ms: 1000 })).status, 200);
    // It stops listening just after answering: wait for the refusal, then for connections again.
    await until('connections refused', async () => (await rawPost(sim)).error === 'ECONNREFUSED');
    await until('connections taken again after the 1 s', async () => (await rawPost(sim)).status === 200);
    assert.equal((await send(sim, text('back'))).json.errcode, 0);
  });
});
