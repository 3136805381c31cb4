import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, tempDir, text, type Answer, type Stack } from '../helpers.js';

// Approval mode hold: the agent's request stays open until an approver decides (or the bound
// passes), and it gets WeCom's real answer or a refusal instead of a 202.

const POLICY = `rules:
  - name: held-announcements
    description: announcements wait, with the request open, for an approver
    condition: { properties: { text: { properties: { content: { pattern: "^announce" } } } } }
    action: approve
    approval: { mode: hold, holdFor: 2s }
    reason: announcements are approved while the agent waits
default: { action: allow, reason: nothing objected }
`;

describe('held approvals', () => {
  let stack: Stack;
  let alice: string;
  before(async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY);
    stack = await startStack({ policies: [dir] });
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
    const { answer, id } = await hold('announce: nobody is watching');
    const a = await answer;
    assert.deepEqual([a.status, a.json.errcode], [403, 9900015]);
    const late = await stack.admin('POST', `/approvals/${id}/approve`, alice);
    assert.equal(late.status, 409);
    assert.equal(stack.sim.received().length, before);
  });
});
