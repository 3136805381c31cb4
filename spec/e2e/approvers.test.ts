import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, tempDir, text, type Stack } from '../helpers.js';

// Per-rule approvers (names and groups), N of M, a vote that counts once, and no self-approval.

const POLICY = `rules:
  - name: release-two-of-security
    description: release announcements need two of the security group or carol
    match: { robots: [ops] }
    condition: { properties: { text: { properties: { content: { pattern: "^release" } } } } }
    action: approve
    approval: { approvers: [group:security, carol, "127.0.0.1"], required: 2, ttl: 10m }
    reason: releases need two approvers
default: { action: allow, reason: nothing objected }
`;

describe('approvers per rule', () => {
  let stack: Stack;
  let id: string;
  before(async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY);
    stack = await startStack({ policies: [dir], approvals: { approvers: ['alice'], groups: { security: ['bob', 'dave'] } } });
    const parked = await stack.send('ops', text('release 1.2 is out'));
    assert.equal(parked.status, 202);
    id = parked.json.approval_id as string;
  });
  after(() => stack.close());

  it('lets only the rule\'s approvers decide (a default approver gets 403)', async () => {
    const a = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
    assert.deepEqual([a.status, a.json.errcode], [403, 9900011]);
  });

  it('refuses the caller that made the request as its approver', async () => {
    const a = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('127.0.0.1'));
    assert.deepEqual([a.status, a.json.errcode], [403, 9900011]);
  });

  it('needs two approvals: the first leaves it pending, a repeated vote counts once, the second sends it once', async () => {
    const first = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('bob'));
    assert.equal(first.status, 200);
    assert.equal((first.json.approval as { status: string }).status, 'pending');
    assert.equal(stack.sim.received().length, 0);
    const again = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('bob'));
    assert.deepEqual([again.status, again.json.errcode], [409, 9900013]);
    const second = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('carol'));
    assert.equal((second.json.approval as { status: string }).status, 'sent', second.text);
    assert.equal(stack.sim.delivered(stack.keys.ops).length, 1);
    const late = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('dave'));
    assert.equal(late.status, 409);
    assert.equal(stack.sim.delivered(stack.keys.ops).length, 1);
  });

  it('refuses a policy naming an unknown group, or needing more approvals than it has approvers', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), POLICY.replace('group:security', 'group:securty'));
    await assert.rejects(startStack({ policies: [dir], approvals: { approvers: ['alice'], groups: { security: ['bob'] } } }), /unknown approver group "securty"/);
    writeFileSync(join(dir, 'rules.yaml'), POLICY.replace('approvers: [group:security, carol, "127.0.0.1"], ', ''));
    await assert.rejects(startStack({ policies: [dir], approvals: { approvers: ['alice'] } }), /required: 2 but only 1 approvers/);
    writeFileSync(join(dir, 'rules.yaml'), POLICY.replace('required: 2', 'required: 9'));
    await assert.rejects(startStack({ policies: [dir], approvals: { approvers: ['alice'], groups: { security: ['bob'] } } }), /required: 9 but only 3 approvers/);
  });
});
