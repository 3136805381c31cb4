import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerOf, readAuditLines, startStack, text, until, type Stack } from '../helpers.js';
import type { FirewallConfigInput } from '../../lib/config/load.js';

// Resilience toward WeCom, end to end: the real server against the simulator's fault injection.
// Durations are short so the suite stays fast, and only ever lower bounds where time is the subject:
// upstreamTimeout 1.5 s (long enough that a loaded machine's slow answer is not taken for a stall),
// backoff 10-50 ms, the breaker opening after 3 unwell outcomes and probing after 300 ms, a 45009
// cooldown of 400 ms. "Not resent" is checked once the request's audit line is written: the
// firewall is done with it then, so no retry can still come.
// The rule every test checks in its own way: one message never becomes two.

const SEND = '/cgi-bin/webhook/send';
const FAST: Partial<FirewallConfigInput> = {
  upstreamTimeout: '1500ms',
  resilience: { retries: 2, baseDelay: '10ms', maxDelay: '50ms', budget: '2s', breaker: { failures: 3, halfOpenAfter: '300ms' }, cooldown: '400ms' },
};
/** The breaker out of the way, for tests about one request's retries. */
const NO_BREAKER: Partial<FirewallConfigInput> = { ...FAST, resilience: { ...FAST.resilience, breaker: { failures: 1000, halfOpenAfter: '300ms' } } };

async function withStack(config: Partial<FirewallConfigInput>, run: (stack: Stack) => Promise<void>): Promise<void> {
  const stack = await startStack(config, { ratePerMinute: 0 });
  try {
    await run(stack);
  } finally {
    await stack.close();
  }
}

const auditLines = (stack: Stack) => readAuditLines<Record<string, unknown> & { decision: string; request_id: string; why?: { reason?: string } }>(stack.dataDir);

/** The request's audit line, once written (lines are written in batches, just after the answer). */
function auditOf(stack: Stack, requestId: string) {
  return until(`the audit line of ${requestId}`, () => auditLines(stack).find((r) => r.request_id === requestId && r.decision !== 'parked'));
}

describe('upstream faults: what is retried', () => {
  it('errcode -1 twice, then success: the agent gets the success; WeCom received 3, delivered 1', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.failNext(2, -1, SEND);
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [200, 0]);
      assert.equal(stack.sim.received(stack.keys.ops!).length, 3);
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
      const record = await auditOf(stack, a.headers.get('x-request-id')!);
      assert.equal(record.decision, 'forwarded');
      assert.match(record.why?.reason ?? '', /attempt 3/);
    }));

  it('HTTP 503 then 502 from a gateway, then success: the agent gets the success; received 3, delivered 1', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.faultNext(1, { kind: 'http', status: 503 }, SEND);
      stack.sim.faultNext(1, { kind: 'http', status: 502 }, SEND);
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [200, 0]);
      assert.equal(stack.sim.received(stack.keys.ops!).length, 3);
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
    }));

  it('a gateway 503 on every attempt: 502/-1 (WeCom did not get it: safe to retry), after 3 attempts', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.faultNext(3, { kind: 'http', status: 503 }, SEND);
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [502, -1]);
      assert.equal(stack.sim.requestCount(SEND), 3);
      assert.equal(stack.sim.delivered().length, 0);
    }));

  it('refused connections: 502/-1 at once, nothing sent; once WeCom is back the message goes out once', () =>
    withStack(NO_BREAKER, async (stack) => {
      await stack.sim.refuseConnections();
      const started = Date.now();
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [502, -1]);
      assert.ok(Date.now() - started < 1_400, 'three quick attempts, not a wait for the upstream timeout');
      await stack.sim.acceptConnections();
      assert.equal(stack.sim.received().length, 0);
      const b = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([b.status, b.json.errcode], [200, 0]);
      assert.equal(stack.sim.received(stack.keys.ops!).length, 1);
      const record = await auditOf(stack, a.headers.get('x-request-id')!);
      assert.equal(record.decision, 'upstream_error');
      assert.match(record.why?.reason ?? '', /did not receive it/);
    }));

  it('a content refusal (40058) is relayed as WeCom answered it and never retried', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.failNext(1, 40058, SEND);
      const a = await stack.send('ops', text('fine by our policies'));
      assert.deepEqual([a.status, a.json.errcode], [200, 40058]);
      assert.equal(stack.sim.requestCount(SEND), 1);
    }));
});

describe('upstream faults: never two', () => {
  it('a stall past upstreamTimeout: 504/9900017, not resent (WeCom received exactly 1), audited as upstream_error', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.faultNext(1, { kind: 'stall' }, SEND);
      const started = Date.now();
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [504, 9900017]);
      assert.ok(Date.now() - started >= 1_400, 'answered after the upstream timeout');
      const record = await auditOf(stack, a.headers.get('x-request-id')!);
      assert.equal(stack.sim.requestCount(SEND), 1);
      assert.equal(record.decision, 'upstream_error');
      assert.match(record.why?.reason ?? '', /may have received it/);
    }));

  it('a connection reset after the request was sent: 502/9900017, not resent', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.faultNext(1, { kind: 'reset' }, SEND);
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [502, 9900017]);
      await auditOf(stack, a.headers.get('x-request-id')!);
      assert.equal(stack.sim.requestCount(SEND), 1);
    }));

  it('a gateway 500 or 504: the backend may have acted, so not resent (502 / 504, 9900017)', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.faultNext(1, { kind: 'http', status: 500 }, SEND);
      const a = await stack.send('ops', text('one'));
      assert.deepEqual([a.status, a.json.errcode], [502, 9900017]);
      stack.sim.faultNext(1, { kind: 'http', status: 504 }, SEND);
      const b = await stack.send('ops', text('two'));
      assert.deepEqual([b.status, b.json.errcode], [504, 9900017]);
      assert.equal(stack.sim.requestCount(SEND), 2);
    }));

  it('non-JSON (an HTML page with HTTP 200): 502/9900018, not resent, and not passed to the agent as a success', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.faultNext(1, { kind: 'html' }, SEND);
      const a = await stack.send('ops', text('deploy finished'));
      assert.deepEqual([a.status, a.json.errcode], [502, 9900018]);
      assert.equal(stack.sim.requestCount(SEND), 1);
    }));
});

describe('upstream faults: circuit breaker', () => {
  it('opens after 3 unwell outcomes: 503/9900016 at once without reaching WeCom; a half-open probe closes it', () =>
    withStack({ ...FAST, resilience: { ...FAST.resilience, retries: 0 } }, async (stack) => {
      stack.sim.failNext(3, -1, SEND);
      for (let i = 0; i < 3; i++) assert.equal((await stack.send('ops', text(`busy ${i}`))).json.errcode, -1);
      const reached = stack.sim.requestCount();
      const started = Date.now();
      const open = await stack.send('ops', text('while open'));
      assert.deepEqual([open.status, open.json.errcode], [503, 9900016]);
      assert.ok(Number(open.headers.get('retry-after')) >= 1);
      assert.ok(Date.now() - started < 1_000, 'refused at once, not after the upstream timeout');
      // The app API shares the upstream, so it shares the circuit.
      const token = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
      assert.deepEqual([token.status, token.json.errcode], [503, 9900016]);
      assert.equal(stack.sim.requestCount(), reached, 'WeCom was not called while the circuit was open');
      const metrics = await (await fetch(`${stack.server.adminUrl}/metrics`)).text();
      assert.match(metrics, /wecom_firewall_circuit_state\{upstream="[^"]+"\} 1/);

      await sleep(350);
      const probe = await stack.send('ops', text('probe'));
      assert.deepEqual([probe.status, probe.json.errcode], [200, 0]);
      const after = await stack.send('ops', text('closed again'));
      assert.deepEqual([after.status, after.json.errcode], [200, 0]);
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 2);
    }));

  it('logs a few failure lines per window and counts the rest, not one per refusal (every 5xx refusal logged an error line)', () =>
    withStack({ ...FAST, resilience: { ...FAST.resilience, retries: 0, breaker: { failures: 1, halfOpenAfter: '1m' } } }, async (stack) => {
      let stderr = '';
      const write = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
      process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
        stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
        return write(chunk, ...rest);
      }) as typeof process.stderr.write;
      try {
        stack.sim.failNext(1, -1, SEND);
        await stack.send('ops', text('opens the circuit'));
        for (let i = 0; i < 28; i++) assert.equal((await stack.send('ops', text(`refused ${i}`))).json.errcode, 9900016);
      } finally {
        process.stderr.write = write as typeof process.stderr.write;
      }
      const lines = stderr.split('\n').filter((l) => l.includes('request refused by a failure'));
      assert.ok(lines.length <= 10, `${lines.length} failure lines for 28 refusals`);
    }));

  it('a message approved while the circuit is open is answered at once and sent once the circuit closes (an open circuit failed an approved message)', () =>
    withStack({ ...FAST, resilience: { ...FAST.resilience, retries: 0, breaker: { failures: 1, halfOpenAfter: '1s' } } }, async (stack) => {
      const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
      assert.equal(parked.status, 202);
      const id = parked.json.approval_id as string;
      await stack.sim.refuseConnections();
      assert.deepEqual((await stack.send('team', text('opens the circuit'))).json.errcode, -1);
      await stack.sim.acceptConnections();
      const started = Date.now();
      const approved = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
      assert.ok(Date.now() - started < 2_000, 'answered within 2 s');
      assert.equal(approved.status, 200);
      const view = approved.json.approval as { status: string; expected_at?: string };
      assert.equal(view.status, 'approved', approved.text);
      assert.ok(view.expected_at, 'says when it is expected to go');
      await until('sent once the circuit closed', async () => ((await stack.admin('GET', `/approvals/${id}`, await stack.token('alice'))).json.approval as { status: string }).status === 'sent');
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
    }));
});

describe('upstream faults: approved messages', () => {
  it('WeCom\'s 45009 on an approved send is not final: the message waits out the cooldown and is sent once (a 45009 lost an approved message)', () =>
    withStack(NO_BREAKER, async (stack) => {
      const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
      const id = parked.json.approval_id as string;
      stack.sim.failNext(1, 45009, SEND);
      const approved = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
      assert.equal((approved.json.approval as { status: string }).status, 'approved', approved.text);
      await until('sent after the cooldown', async () => ((await stack.admin('GET', `/approvals/${id}`, await stack.token('alice'))).json.approval as { status: string }).status === 'sent');
      assert.equal(stack.sim.received(stack.keys.ops!).length, 2, 'refused once by WeCom, then taken');
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
    }));

  it('WeCom busy (-1 on every attempt) on an approved send is not final either: tried again and sent once (errcode -1 failed an approved message)', () =>
    withStack({ ...NO_BREAKER, resilience: { ...NO_BREAKER.resilience, retries: 0 } }, async (stack) => {
      const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
      const id = parked.json.approval_id as string;
      stack.sim.failNext(1, -1, SEND);
      const approved = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
      assert.equal((approved.json.approval as { status: string }).status, 'approved', approved.text);
      await until('sent after WeCom was busy', async () => ((await stack.admin('GET', `/approvals/${id}`, await stack.token('alice'))).json.approval as { status: string }).status === 'sent');
      assert.equal(stack.sim.received(stack.keys.ops!).length, 2);
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
    }));

  it('an approved message WeCom never takes fails at its delivery deadline, saying why, audited', () =>
    withStack({ ...NO_BREAKER, approvals: { approvers: ['alice', 'bob'], deliverWithin: '1500ms' } }, async (stack) => {
      const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
      const id = parked.json.approval_id as string;
      await stack.sim.refuseConnections();
      const approved = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
      assert.equal((approved.json.approval as { status: string }).status, 'approved', approved.text);
      const failed = await until('failed at the deadline', async () => {
        const a = (await stack.admin('GET', `/approvals/${id}`, await stack.token('alice'))).json.approval as { status: string; upstream?: { body: string } };
        return a.status === 'failed' ? a : undefined;
      });
      assert.match(failed.upstream?.body ?? '', /deadline/);
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 0);
      await until('audited', () => auditLines(stack).some((r) => r.decision === 'send_failed' && (r as { what?: { approval_id?: string } }).what?.approval_id === id));
    }));
});

describe('upstream faults: 45009 cooldown', () => {
  it('WeCom\'s 45009 is relayed, then the robot is answered 429/45009 locally (WeCom not called) until the cooldown ends', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.failNext(1, 45009, SEND);
      const first = await stack.send('ops', text('one too many for WeCom'));
      assert.deepEqual([first.status, first.json.errcode], [200, 45009]);
      const reached = stack.sim.requestCount(SEND);
      const held = await stack.send('ops', text('held back'));
      assert.deepEqual([held.status, held.json.errcode], [429, 45009]);
      assert.equal(held.headers.get('retry-after'), '1');
      assert.equal(stack.sim.requestCount(SEND), reached, 'answered locally');
      assert.equal((await stack.send('team', text('another robot'))).json.errcode, 0, 'only that robot cools down');
      assert.equal((await auditOf(stack, held.headers.get('x-request-id')!)).decision, 'rate_limited');
      await sleep(450);
      const later = await stack.send('ops', text('after the cooldown'));
      assert.deepEqual([later.status, later.json.errcode], [200, 0]);
      assert.equal(stack.sim.delivered(stack.keys.ops!).length, 1);
    }));
});

describe('upstream faults: the app API', () => {
  it('message/send: -1 twice then success goes out once; a stall is answered 504/9900017 and not resent', () =>
    withStack(NO_BREAKER, async (stack) => {
      const minted = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
      const call = async (content: string) =>
        answerOf(
          await fetch(`${stack.server.url}/cgi-bin/message/send?access_token=${encodeURIComponent(minted.json.access_token as string)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ touser: 'zhangsan', msgtype: 'text', agentid: stack.app.agentId, text: { content } }),
          }),
        );
      stack.sim.failNext(2, -1, '/cgi-bin/message/send');
      const a = await call('ticket resolved');
      assert.deepEqual([a.status, a.json.errcode], [200, 0]);
      assert.deepEqual(stack.sim.appMessages().map((m) => m.errcode), [-1, -1, 0]);
      stack.sim.faultNext(1, { kind: 'stall' }, '/cgi-bin/message/send');
      const b = await call('stalled');
      assert.deepEqual([b.status, b.json.errcode], [504, 9900017]);
      await auditOf(stack, b.headers.get('x-request-id')!);
      assert.equal(stack.sim.requestCount('/cgi-bin/message/send'), 4);
    }));

  it('regression: a busy gettoken (-1 on every attempt) was reported as WeCom refusing the firewall\'s credentials (9900009); it is 502/-1', () =>
    withStack(NO_BREAKER, async (stack) => {
      stack.sim.failNext(3, -1, '/cgi-bin/gettoken');
      const a = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
      assert.deepEqual([a.status, a.json.errcode], [502, -1]);
      assert.equal(stack.sim.tokenRequests(), 3);
      const b = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
      assert.deepEqual([b.status, b.json.errcode], [200, 0]);
    }));

  it('gettoken: a refused connection is still answered 502/-1, after quick retries', () =>
    withStack(NO_BREAKER, async (stack) => {
      await stack.sim.refuseConnections();
      const a = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
      assert.deepEqual([a.status, a.json.errcode], [502, -1]);
      await stack.sim.acceptConnections();
    }));
});
