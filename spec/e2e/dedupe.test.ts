import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, text, until, type Stack } from '../helpers.js';

// A repeated request gets the first answer and is not sent again; an explicit Idempotency-Key
// decides what counts as the same message.

describe('dedupe', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({}, { ratePerMinute: 0 });
  });
  after(() => stack.close());
  const sent = (content: string) => stack.sim.delivered(stack.keys.ops).filter((m) => m.raw.includes(content)).length;

  it('answers a repeat with the first answer, marked with the first request id, and sends once', async () => {
    const first = await stack.send('ops', text('build 41 passed'));
    const again = await stack.send('ops', text('build 41 passed'));
    assert.deepEqual([first.status, again.status, again.json.errcode], [200, 200, 0]);
    assert.equal(again.headers.get('x-firewall-duplicate-of'), first.headers.get('x-request-id'));
    assert.equal(sent('build 41 passed'), 1);
    // Audit lines are written in batches, just after the answer: wait for this one.
    const audited = () => readFileSync(join(stack.dataDir, 'audit', 'audit.log'), 'utf8').split('\n').some((l) => l.includes('"duplicate"') && l.includes(again.headers.get('x-request-id')!));
    await until('the repeat\'s "duplicate" audit record', audited);
  });

  it('sends a repeat that arrives while the first is still on its way only once', async () => {
    const [a, b] = await Promise.all([stack.send('ops', text('concurrent twin')), stack.send('ops', text('concurrent twin'))]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal(sent('concurrent twin'), 1);
  });

  it('treats each Idempotency-Key as one message: same key is a repeat, another key is another message', async () => {
    const h = (key: string) => ({ headers: { 'idempotency-key': key } });
    assert.equal((await stack.send('ops', text('deploy done'), h('job-1'))).status, 200);
    assert.equal((await stack.send('ops', text('deploy done'), h('job-1'))).headers.get('x-firewall-duplicate-of') !== null, true);
    assert.equal((await stack.send('ops', text('deploy done'), h('job-2'))).status, 200);
    assert.equal(sent('deploy done'), 2);
    const reused = await stack.send('ops', text('something else'), h('job-1'));
    assert.deepEqual([reused.status, reused.json.errcode], [422, 9900020]);
    assert.equal(sent('something else'), 0);
    const bad = await stack.send('ops', text('x'), { headers: { 'idempotency-key': 'has spaces in it' } });
    assert.deepEqual([bad.status, bad.json.errcode], [400, 40058]);
  });

  it('parks a repeated message once: the repeat gets the same approval id', async () => {
    const a = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
    const b = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
    assert.deepEqual([a.status, b.status], [202, 202]);
    assert.equal(b.json.approval_id, a.json.approval_id);
    const pending = await stack.admin('GET', '/approvals', await stack.token('alice'));
    assert.equal((pending.json.approvals as unknown[]).length, 1);
  });

  it('does not remember a failure: a retry after WeCom refused is sent again', async () => {
    stack.sim.failNext(3, -1, '/cgi-bin/webhook/send');
    const first = await stack.send('ops', text('retry me'));
    assert.equal(first.json.errcode, -1);
    const retry = await stack.send('ops', text('retry me'));
    assert.deepEqual([retry.status, retry.json.errcode, retry.headers.get('x-firewall-duplicate-of')], [200, 0, null]);
    assert.equal(sent('retry me'), 1);
  });

  it('does not remember a refusal: the same message refused by a policy is judged again', async () => {
    const a = await stack.send('ops', text('key AKIAABCDEFGHIJKLMNOP'));
    const b = await stack.send('ops', text('key AKIAABCDEFGHIJKLMNOP'));
    assert.deepEqual([a.status, b.status, b.headers.get('x-firewall-duplicate-of')], [403, 403, null]);
  });
});

describe('dedupe regressions', () => {
  let stack: Stack;
  before(async () => {
    // upstreamTimeout: the stalled request below waits it out; short for a spec, long enough that a
    // loaded machine's gettoken or connect is not mistaken for WeCom not answering.
    stack = await startStack({ upstreamTimeout: '2s' }, { ratePerMinute: 0 });
  });
  after(() => stack.close());

  it('keeps two app endpoints with the same body apart (regression: the key used the route, not the path)', async () => {
    const token = ((await (await fetch(`${stack.server.url}/cgi-bin/gettoken?${new URLSearchParams({ corpid: stack.app.corpId, corpsecret: stack.app.clientSecret })}`)).json()) as { access_token: string }).access_token;
    const call = (path: string) =>
      fetch(`${stack.server.url}${path}?access_token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tagid: 1, userlist: ['zhangsan'] }) });
    const add = await call('/cgi-bin/tag/addtagusers');
    const del = await call('/cgi-bin/tag/deltagusers');
    assert.equal(del.headers.get('x-firewall-duplicate-of'), null);
    assert.deepEqual([add.status, del.status], [202, 202], 'both privileged calls are parked');
    assert.notEqual(((await add.json()) as { approval_id: string }).approval_id, ((await del.json()) as { approval_id: string }).approval_id);
  });

  it('answers a keyed retry of a message WeCom may already have with the same 9900017, and does not send it again', async () => {
    stack.sim.faultNext(1, { kind: 'stall' }, '/cgi-bin/webhook/send');
    const before = stack.sim.requestCount('/cgi-bin/webhook/send');
    const h = { headers: { 'idempotency-key': 'deploy-77' } };
    const first = await stack.send('ops', text('deploy 77 done'), h);
    assert.deepEqual([first.status, first.json.errcode], [504, 9900017]);
    const retry = await stack.send('ops', text('deploy 77 done'), h);
    assert.deepEqual([retry.status, retry.json.errcode], [504, 9900017]);
    assert.equal(retry.headers.get('x-firewall-duplicate-of'), first.headers.get('x-request-id'));
    assert.equal(stack.sim.requestCount('/cgi-bin/webhook/send') - before, 1, 'the retry never reached WeCom');
  });
});

describe('dedupe switched off', () => {
  it('sends every request', async () => {
    const stack = await startStack({ dedupe: { enabled: false } }, { ratePerMinute: 0 });
    try {
      await stack.send('ops', text('twice on purpose'));
      await stack.send('ops', text('twice on purpose'));
      assert.equal(stack.sim.delivered(stack.keys.ops).length, 2);
    } finally {
      await stack.close();
    }
  });
});
