import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, text, type Stack } from '../helpers.js';

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
    for (let i = 0; i < 100 && !audited(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(audited());
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
