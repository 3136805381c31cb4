import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { serve } from '../../lib/http/server.js';
import { startSimulator } from '../../lib/simulator/index.js';
import { answerOf, mintToken, startStack, tempDir, text, until } from '../helpers.js';

// Limits end to end: the firewall's robot limit against the simulator's rolling minute (WeCom's),
// and approved messages at the limit.

describe('robot limits against WeCom\'s rolling window', () => {
  it('traffic that straddles a window edge never meets WeCom\'s 45009: the firewall refuses first (a fixed window let 2x through)', async () => {
    // One clock, moved by hand, for the firewall's limiter and the simulator's rate window.
    let now = 1_000_000_000_000;
    const clock = () => now;
    const key = randomUUID();
    const sim = await startSimulator({ keys: [key], quiet: true, ratePerMinute: 20, clock });
    const dataDir = tempDir();
    const server = await serve({ config: { listen: '127.0.0.1:0', upstream: sim.url, dataDir, robots: { ops: { key: '${env:OPS_KEY}', limit: '20/min' } } }, env: { OPS_KEY: key }, clock });
    try {
      const send = (i: number) =>
        fetch(`${server.url}/cgi-bin/webhook/send?key=ops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(text(`tick ${i} at ${now}`)) }).then(answerOf);
      const answers: Array<[number, number]> = [];
      let i = 0;
      // One at the start of a minute, nineteen near its end, then bursts across the edge and after.
      for (const [advance, burst] of [[0, 1], [59_000, 19], [1_000, 25], [500, 5], [58_000, 25], [2_000, 25]] as const) {
        now += advance;
        for (let n = 0; n < burst; n++) {
          const a = await send(i++);
          answers.push([a.status, a.json.errcode as number]);
        }
      }
      const wecomRefused = answers.filter(([status, errcode]) => status === 200 && errcode === 45009).length;
      assert.equal(wecomRefused, 0, 'WeCom answered 45009');
      const sent = answers.filter(([status, errcode]) => status === 200 && errcode === 0).length;
      const refused = answers.filter(([status, errcode]) => status === 429 && errcode === 45009).length;
      assert.equal(sent + refused, answers.length);
      // 1 + 19 in the first minute; the first ages out at +60 s: 1 more; the 19 at +119 s; then 20 in the next.
      assert.equal(sent, 1 + 19 + 1 + 0 + 19 + 1, `sent ${sent}`);
      assert.equal(sim.delivered(key).length, sent);
    } finally {
      await server.close();
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('approving a message while its robot is at the limit', () => {
  it('answers within 2 s with when it will go, and sends it exactly once when the window allows (approving at the limit blocked, then the message was lost)', async () => {
    const stack = await startStack({ robots: { ops: { key: '', limit: '3/s' } } }, { ratePerMinute: 20 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await stack.send('ops', text(`fills the window ${i}`))).status, 200);
      const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
      assert.equal(parked.status, 202);
      const id = parked.json.approval_id as string;
      const alice = await mintToken('alice');
      const started = Date.now();
      const approved = await stack.admin('POST', `/approvals/${id}/approve`, alice);
      const took = Date.now() - started;
      assert.ok(took < 2_000, `answered in ${took} ms`);
      assert.equal(approved.status, 200);
      const view = approved.json.approval as { status: string; expected_at: string | null };
      assert.ok(view.status === 'approved' || view.status === 'sent', view.status);
      if (view.status === 'approved') assert.ok(view.expected_at && Date.parse(view.expected_at) > started, 'says when it is expected to go');
      await until('sent', async () => ((await stack.admin('GET', `/approvals/${id}`, alice)).json.approval as { status: string }).status === 'sent');
      assert.equal(stack.sim.delivered(stack.keys.ops).filter((m) => m.raw.includes('all hands')).length, 1);
      assert.equal(stack.sim.delivered(stack.keys.ops).length, 4);
    } finally {
      await stack.close();
    }
  });

  it('at WeCom\'s 20/min the approver is answered at once with when it will go, not after the minute (approving blocked for up to 60 s)', async () => {
    const stack = await startStack({}, { ratePerMinute: 20 });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await stack.send('ops', text(`fills the minute ${i}`))).status, 200);
      const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
      const started = Date.now();
      const approved = await stack.admin('POST', `/approvals/${parked.json.approval_id as string}/approve`, await mintToken('alice'));
      assert.ok(Date.now() - started < 2_000, `answered in ${Date.now() - started} ms`);
      const view = approved.json.approval as { status: string; expected_at: string; waiting_because: string };
      assert.equal(view.status, 'approved');
      const inSeconds = (Date.parse(view.expected_at) - started) / 1000;
      assert.ok(inSeconds > 30 && inSeconds <= 61, `expected in ${inSeconds} s: when the first of the 20 leaves the window`);
      assert.match(view.waiting_because, /robot limit/);
      assert.equal(stack.sim.delivered(stack.keys.ops).length, 20, 'nothing beyond the limit reached WeCom');
    } finally {
      await stack.close();
    }
  });
});
