import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type ReceivedMessage, type Simulator } from '../../lib/simulator/index.js';
import { KEY, OTHER_KEY, send, text } from './helpers.js';

describe('simulator controls', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ quiet: true });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  const control = async (path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const init = body === undefined ? {} : { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) };
    const response = await fetch(`${sim.url}${path}`, init);
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it('failNext: the next N requests answer -1 whatever they carry, then WeCom recovers', async () => {
    sim.failNext(2);
    assert.equal((await send(sim, text('hi'))).json.errcode, -1);
    assert.equal((await send(sim, '{not json', 'not-a-key')).json.errcode, -1);
    assert.equal((await send(sim, text('hi'))).json.errcode, 0);
    assert.deepEqual(sim.received().map((message) => message.errcode), [-1, -1, 0]);
  });

  it('failNext: queued faults with their own errcode', async () => {
    sim.failNext(1);
    sim.failNext(1, 45033);
    assert.equal((await send(sim, text('hi'))).json.errcode, -1);
    assert.equal((await send(sim, text('hi'))).json.errcode, 45033);
    assert.equal((await send(sim, text('hi'))).json.errcode, 0);
    assert.throws(() => sim.failNext(-1), RangeError);
  });

  it('GET /healthz', async () => {
    assert.deepEqual(await control('/healthz'), { status: 200, json: { ok: true } });
  });

  it('POST /__sim/fail then recovery', async () => {
    assert.deepEqual(await control('/__sim/fail', { count: 1, errcode: -1 }), { status: 200, json: { ok: true } });
    assert.equal((await send(sim, text('hi'))).json.errcode, -1);
    assert.equal((await send(sim, text('hi'))).json.errcode, 0);
    assert.deepEqual(await control('/__sim/fail', { count: 1 }), { status: 200, json: { ok: true } });
    assert.equal((await send(sim, text('hi'))).json.errcode, -1);
  });

  it('POST /__sim/fail refuses a bad request with 400', async () => {
    assert.equal((await control('/__sim/fail', '{nope')).status, 400);
    assert.equal((await control('/__sim/fail', { count: 'three' })).status, 400);
    assert.equal((await control('/__sim/fail', { count: 1.5 })).status, 400);
    assert.equal((await control('/__sim/fail')).status, 405);
  });

  it('GET /__sim/messages lists received requests, by key and delivered', async () => {
    await send(sim, text('first'));
    await send(sim, text(''));
    await send(sim, text('elsewhere'), OTHER_KEY);
    const all = (await control('/__sim/messages')).json.messages as ReceivedMessage[];
    assert.equal(all.length, 3);
    const mine = (await control(`/__sim/messages?key=${KEY}`)).json.messages as ReceivedMessage[];
    assert.deepEqual(mine.map((message) => message.errcode), [0, 44004]);
    assert.deepEqual(mine[0]?.body, text('first'));
    assert.equal(typeof mine[0]?.at, 'number');
    assert.equal(mine[0]?.path, '/cgi-bin/webhook/send');
    const delivered = (await control(`/__sim/messages?key=${KEY}&delivered=1`)).json.messages as ReceivedMessage[];
    assert.equal(delivered.length, 1);
  });

  it('POST /__sim/reset clears received messages', async () => {
    await send(sim, text('hi'));
    assert.deepEqual(await control('/__sim/reset', ''), { status: 200, json: { ok: true } });
    assert.deepEqual(sim.received(), []);
  });

  it('close is idempotent', async () => {
    const other = await startSimulator({ quiet: true });
    await Promise.all([other.close(), other.close()]);
  });
});
