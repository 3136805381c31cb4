import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, tempDir, text, until, type Answer, type Stack } from '../helpers.js';
import { SqliteApprovalStore } from '../../lib/approvals/sqlite-store.js';

// Approval mode hold: the agent's request stays open until an approver decides (or the bound
// passes), and it gets WeCom's real answer or a refusal instead of a 202.

const POLICY = `rules:
  - name: held-announcements
    description: announcements wait, with the request open, for an approver
    condition: { properties: { text: { properties: { content: { pattern: "^announce" } } } } }
    action: approve
    approval: { mode: hold, holdFor: 5m }
    reason: announcements are approved while the agent waits
  - name: brief-holds
    description: a hold short enough to run out in a spec
    condition: { properties: { text: { properties: { content: { pattern: "^brief" } } } } }
    action: approve
    approval: { mode: hold, holdFor: 1s }
    reason: nobody watches these
default: { action: allow, reason: nothing objected }
`;

describe('held approvals', () => {
  let stack: Stack;
  let alice: string;
  before(async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY);
    stack = await startStack({ policies: [dir], upstreamTimeout: '1s', resilience: { retries: 0 } });
    alice = await stack.token('alice');
  });
  after(() => stack.close());

  /** Sends a held message and returns its pending answer and approval id once the record exists. */
  async function hold(content: string): Promise<{ answer: Promise<Answer>; id: string }> {
    const answer = stack.send('ops', text(content));
    for (let i = 0; i < 100; i++) {
      const list = await stack.admin('GET', '/approvals', alice);
      const found = (list.json.approvals as Array<{ id: string; payload: { text: { content: string } } }>).find((a) => a.payload.text.content === content);
      if (found) return { answer, id: found.id };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the held message never appeared');
  }

  it('answers with WeCom\'s own answer once approved, and sends once', async () => {
    const { answer, id } = await hold('announce: release today');
    assert.equal(stack.sim.received().length, 0);
    assert.equal((await stack.admin('POST', `/approvals/${id}/approve`, alice)).status, 200);
    const a = await answer;
    assert.deepEqual([a.status, a.json.errcode], [200, 0]);
    assert.equal(stack.sim.delivered(stack.keys.ops).length, 1);
  });

  it('answers 403/9900014 when rejected, and sends nothing', async () => {
    const before = stack.sim.received().length;
    const { answer, id } = await hold('announce: maybe not');
    await stack.admin('POST', `/approvals/${id}/reject`, alice);
    const a = await answer;
    assert.deepEqual([a.status, a.json.errcode], [403, 9900014]);
    assert.equal(stack.sim.received().length, before);
  });

  it('answers 403/9900015 when nobody decides in time; the record expires, so a late approval sends nothing', async () => {
    const before = stack.sim.received().length;
    const { answer, id } = await hold('brief: nobody is watching');
    const a = await answer;
    assert.deepEqual([a.status, a.json.errcode], [403, 9900015]);
    const late = await stack.admin('POST', `/approvals/${id}/approve`, alice);
    assert.equal(late.status, 409);
    assert.equal(stack.sim.received().length, before);
  });

  it('answers 504/9900017, never -1, when the approved send may have reached WeCom (a held ambiguous failure was answered -1)', async () => {
    const { answer, id } = await hold('announce: WeCom stalls on this one');
    stack.sim.faultNext(1, { kind: 'stall' }, '/cgi-bin/webhook/send');
    await stack.admin('POST', `/approvals/${id}/approve`, alice);
    const a = await answer;
    assert.deepEqual([a.status, a.json.errcode], [504, 9900017]);
    const record = (await stack.admin('GET', `/approvals/${id}`, alice)).json.approval as { status: string; upstream: { code: string } };
    assert.deepEqual([record.status, record.upstream.code], ['failed', 'UPSTREAM_TIMEOUT']);
  });

  it('records the hold as the record\'s expiry: a held record cannot outlive its request (a held approval outlived its hold)', async () => {
    const { answer, id } = await hold('announce: how long may this wait');
    const record = (await stack.admin('GET', `/approvals/${id}`, alice)).json.approval as { held: boolean; created_at: string; expires_at: string };
    assert.equal(record.held, true);
    const span = Date.parse(record.expires_at) - Date.parse(record.created_at);
    assert.ok(span > 4 * 60_000 && span <= 5 * 60_000 + 1_000, `expires ${span} ms after it was parked: the hold, not the approvals ttl`);
    await stack.admin('POST', `/approvals/${id}/reject`, alice);
    await answer;
  });
});

describe('held approvals when the firewall stops', () => {
  it('close() with a held request in flight answers it 503/9900023, expires the record and does not crash (close() crashed on the hold timer)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY);
    const stack = await startStack({ policies: [dir] });
    const alice = await stack.token('alice');
    const answer = stack.send('ops', text('announce: the firewall stops now'));
    const id = await until('the held record', async () => ((await stack.admin('GET', '/approvals', alice)).json.approvals as Array<{ id: string }>)[0]?.id);
    const dataDir = stack.dataDir;
    const closing = stack.server.close();
    const a = await answer;
    await closing;
    assert.deepEqual([a.status, a.json.errcode], [503, 9900023]);
    const store = new SqliteApprovalStore(dataDir);
    try {
      assert.equal(store.get(id)?.status, 'expired');
    } finally {
      store.close();
    }
    assert.equal(stack.sim.received().length, 0);
    await stack.sim.close();
  });

  it('close() while a held message is being sent answers with the send\'s outcome, never 503 "not sent" (a held message was sent after the agent was told it was not)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY);
    const stack = await startStack({ policies: [dir], upstreamTimeout: '1s', resilience: { retries: 0 } });
    const alice = await stack.token('alice');
    const answer = stack.send('ops', text('announce: sent while the firewall stops'));
    const id = await until('the held record', async () => ((await stack.admin('GET', '/approvals', alice)).json.approvals as Array<{ id: string }>)[0]?.id);
    stack.sim.faultNext(1, { kind: 'stall' }, '/cgi-bin/webhook/send');
    const approving = stack.admin('POST', `/approvals/${id}/approve`, alice);
    await until('the send reached WeCom', () => stack.sim.requestCount('/cgi-bin/webhook/send') === 1);
    const dataDir = stack.dataDir;
    const closing = stack.server.close();
    const a = await answer;
    await Promise.all([closing, approving.catch(() => undefined)]);
    assert.deepEqual([a.status, a.json.errcode], [504, 9900017], 'WeCom may have it: the agent is told so, not "not sent"');
    const store = new SqliteApprovalStore(dataDir);
    try {
      assert.equal(store.get(id)?.status, 'failed');
    } finally {
      store.close();
    }
    await stack.sim.close();
  });
});

describe('held approvals at the robot\'s limit', () => {
  it('a held message approved while its robot is full is answered 202 with expected_at at once, not at the end of its hold (a held request hung until its hold ended)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY);
    const stack = await startStack({ policies: [dir], robots: { ops: { key: '', limit: '1/min' } } });
    try {
      const alice = await stack.token('alice');
      assert.equal((await stack.send('ops', text('fills the minute'))).status, 200);
      const answer = stack.send('ops', text('announce: waits for the window'));
      const id = await until('the held record', async () => ((await stack.admin('GET', '/approvals', alice)).json.approvals as Array<{ id: string }>)[0]?.id);
      const started = Date.now();
      await stack.admin('POST', `/approvals/${id}/approve`, alice);
      const a = await answer;
      assert.ok(Date.now() - started < 2_000, `answered ${Date.now() - started} ms after the approval`);
      assert.deepEqual([a.status, a.json.errcode, a.json.approval_id], [202, 0, id]);
      assert.ok(Date.parse(a.json.expected_at as string) > started, 'says when it will go');
      assert.equal(stack.sim.delivered(stack.keys.ops).length, 1, 'only the first, so far');
    } finally {
      await stack.close();
    }
  });
});
