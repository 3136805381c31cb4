import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answerOf, startStack, text } from '../helpers.js';

// Tokens taken for a message come back, exactly once, when WeCom certainly did not get it, so an
// outage or a full approval queue does not leave agents (or members) locked out afterwards.

describe('tokens given back when nothing was sent', () => {
  it('a member\'s tokens come back for every send WeCom never got (per-member recipient tokens were never given back)', async () => {
    const stack = await startStack({ resilience: { retries: 0, breaker: { failures: 1000, halfOpenAfter: '1s' } } });
    try {
      const minted = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
      const send = (content: string) =>
        fetch(`${stack.server.url}/cgi-bin/message/send?access_token=${encodeURIComponent(minted.json.access_token as string)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ touser: 'zhangsan', msgtype: 'text', agentid: stack.app.agentId, text: { content } }),
        }).then(answerOf);
      await stack.sim.refuseConnections();
      for (let i = 0; i < 31; i++) assert.deepEqual([(await send(`during the outage ${i}`)).json.errcode], [-1]);
      await stack.sim.acceptConnections();
      const after = await send('WeCom is back');
      assert.deepEqual([after.status, after.json.errcode], [200, 0], 'zhangsan still has all 30: WeCom received none of the 31');
    } finally {
      await stack.close();
    }
  });

  it('a park refused because the queue is full gives the caller\'s tokens back (caller tokens were drained by a full queue)', async () => {
    const stack = await startStack({ limits: { perCaller: '4/min' }, approvals: { approvers: ['alice', 'bob'], maxPending: 1 } });
    try {
      const all = (content: string) => stack.send('ops', text(content, { mentioned_list: ['@all'] }));
      assert.equal((await all('fills the queue')).status, 202);
      for (let i = 0; i < 6; i++) assert.deepEqual([(await all(`queue full ${i}`)).json.errcode], [45009]);
      for (let i = 0; i < 3; i++) {
        const a = await stack.send('ops', text(`an ordinary message ${i}`));
        assert.deepEqual([a.status, a.json.errcode], [200, 0], 'the caller still has 3 of its 4 tokens');
      }
    } finally {
      await stack.close();
    }
  });
});
