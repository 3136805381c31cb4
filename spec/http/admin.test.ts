import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ADMIN_SECRET, mintToken, startStack, text, type Stack } from '../helpers.js';

describe('admin API authentication', () => {
  let stack: Stack;
  let approvalId: string;
  before(async () => {
    stack = await startStack();
    const parked = await stack.send('ops', text('hi all', { mentioned_list: ['@all'] }));
    approvalId = parked.json.approval_id as string;
  });
  after(() => stack.close());

  const unauthenticated: Array<[string, () => Promise<string | undefined>]> = [
    ['no token', async () => undefined],
    ['a garbage token', async () => 'not.a.jwt'],
    ['an alg:none token', async () => new UnsecuredJWT({ sub: 'alice' }).setExpirationTime('5m').encode()],
    ['a token signed with another secret', async () => mintToken('alice', { secret: 'another-secret-0123456789abcdef-0123456789' })],
    ['an expired token', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(ADMIN_SECRET))],
    ['a token without exp', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(new TextEncoder().encode(ADMIN_SECRET))],
    ['a token without iat', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('5m').sign(new TextEncoder().encode(ADMIN_SECRET))],
    ['a token issued more than 12 hours ago, whatever its exp', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt(Math.floor(Date.now() / 1000) - 13 * 3600).setExpirationTime('30d').sign(new TextEncoder().encode(ADMIN_SECRET))],
    ['an HS512 token', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('alice').setExpirationTime('5m').sign(new TextEncoder().encode(ADMIN_SECRET))],
  ];
  for (const [name, token] of unauthenticated) {
    it(`answers ${name} with 401 and decides nothing`, async () => {
      const t = await token();
      assert.equal((await stack.admin('GET', '/approvals', t)).status, 401);
      const a = await stack.admin('POST', `/approvals/${approvalId}/approve`, t);
      assert.deepEqual([a.status, a.json.errcode], [401, 9900010]);
      assert.equal(stack.sim.received().length, 0);
    });
  }

  it('answers a valid token of someone not listed with 403', async () => {
    const carol = await stack.token('carol');
    assert.equal((await stack.admin('GET', '/approvals', carol)).status, 403);
    const a = await stack.admin('POST', `/approvals/${approvalId}/approve`, carol);
    assert.deepEqual([a.status, a.json.errcode], [403, 9900011]);
    assert.equal(stack.sim.received().length, 0);
  });

  it('answers an unknown approval with 404 and a malformed body with 400', async () => {
    const alice = await stack.token('alice');
    assert.equal((await stack.admin('POST', '/approvals/no-such-id/approve', alice)).status, 404);
    const res = await fetch(`${stack.server.adminUrl}/approvals/${approvalId}/reject`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: '{"comment":' });
    assert.equal(res.status, 400);
    assert.equal((await stack.admin('GET', '/nowhere', alice)).status, 404);
  });

  it('shows one approval to an approver', async () => {
    const a = await stack.admin('GET', `/approvals/${approvalId}`, await stack.token('bob'));
    assert.equal(a.status, 200);
    assert.equal((a.json.approval as { status: string }).status, 'pending');
  });
});
