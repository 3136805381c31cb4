import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AdminCall, Simulator } from '../../lib/simulator/index.js';
import { AGENT, startAppSimulator, tokenFor } from './app-helpers.js';

describe('simulator privileged app endpoints', () => {
  let sim: Simulator;
  let token: string;
  before(async () => {
    sim = await startAppSimulator();
    token = await tokenFor(sim);
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  const call = async (method: string, pathAndQuery: string, body?: unknown): Promise<{ errcode: number; errmsg: string }> => {
    const separator = pathAndQuery.includes('?') ? '&' : '?';
    const init: RequestInit = body === undefined ? { method } : { method, body: typeof body === 'string' ? body : JSON.stringify(body) };
    const response = await fetch(`${sim.url}${pathAndQuery}${separator}access_token=${token}`, init);
    assert.equal(response.status, 200);
    return (await response.json()) as { errcode: number; errmsg: string };
  };

  const cases: Array<[string, string, unknown, string]> = [
    ['GET', '/cgi-bin/user/delete?userid=zhangsan', undefined, 'deleted'],
    ['POST', '/cgi-bin/user/delete?userid=zhangsan', undefined, 'deleted'],
    ['POST', '/cgi-bin/user/batchdelete', { useridlist: ['zhangsan', 'lisi'] }, 'deleted'],
    ['POST', '/cgi-bin/user/update', { userid: 'zhangsan', name: '张三' }, 'updated'],
    ['POST', '/cgi-bin/tag/addtagusers', { tagid: 7, userlist: ['zhangsan'] }, 'ok'],
    ['POST', '/cgi-bin/tag/deltagusers', { tagid: 7, userlist: ['zhangsan'] }, 'deleted'],
    ['POST', '/cgi-bin/agent/set', { agentid: AGENT, name: 'renamed' }, 'ok'],
    ['GET', '/cgi-bin/department/delete?id=2', undefined, 'deleted'],
    ['POST', '/cgi-bin/department/delete?id=2', undefined, 'deleted'],
  ];
  for (const [method, pathAndQuery, body, errmsg] of cases) {
    it(`${method} ${pathAndQuery}: errcode 0, errmsg "${errmsg}", recorded`, async () => {
      assert.deepEqual(await call(method, pathAndQuery, body), { errcode: 0, errmsg });
      const [record] = sim.adminCalls();
      assert.equal(record?.path, pathAndQuery.split('?')[0]);
      assert.equal(record?.method, method);
      assert.equal(record?.agentId, AGENT);
      assert.equal(record?.errcode, 0);
      assert.equal('access_token' in (record?.query ?? {}), false);
      assert.deepEqual(record?.body, body ?? null, 'the JSON body as sent; null for a call without one');
    });
  }

  it('records the query without the token', async () => {
    await call('GET', '/cgi-bin/user/delete?userid=zhangsan');
    assert.deepEqual(sim.adminCalls()[0]?.query, { userid: 'zhangsan' });
  });

  it('40058 for a JSON endpoint called with GET or a body that is not a JSON object', async () => {
    assert.equal((await call('GET', '/cgi-bin/user/batchdelete')).errcode, 40058);
    assert.equal((await call('POST', '/cgi-bin/user/update', '{nope')).errcode, 40058);
    assert.equal((await call('POST', '/cgi-bin/agent/set', '[]')).errcode, 40058);
    assert.equal((await call('PUT', '/cgi-bin/user/delete?userid=zhangsan', '')).errcode, 40058);
    assert.deepEqual(sim.adminCalls().map((record) => record.errcode), [40058, 40058, 40058, 40058]);
  });

  it('a refused token is recorded too, so a test can tell the call reached WeCom and failed', async () => {
    const response = await fetch(`${sim.url}/cgi-bin/user/delete?userid=zhangsan&access_token=stolen`);
    assert.equal(((await response.json()) as { errcode: number }).errcode, 40014);
    assert.deepEqual(
      sim.adminCalls().map((record: AdminCall) => [record.errcode, record.agentId]),
      [[40014, null]],
    );
  });

  it('failNext applies to admin endpoints', async () => {
    sim.failNext(1, -1, '/cgi-bin/user/delete');
    assert.equal((await call('GET', '/cgi-bin/user/delete?userid=zhangsan')).errcode, -1);
    assert.equal((await call('GET', '/cgi-bin/user/delete?userid=zhangsan')).errcode, 0);
  });

  it('GET /__sim/admin-calls lists the calls; none when nothing reached WeCom', async () => {
    const empty = (await (await fetch(`${sim.url}/__sim/admin-calls`)).json()) as { calls: AdminCall[] };
    assert.deepEqual(empty, { calls: [] });
    await call('POST', '/cgi-bin/user/batchdelete', { useridlist: ['zhangsan'] });
    const listed = (await (await fetch(`${sim.url}/__sim/admin-calls`)).json()) as { calls: AdminCall[] };
    assert.equal(listed.calls.length, 1);
    assert.equal(listed.calls[0]?.path, '/cgi-bin/user/batchdelete');
  });
});
