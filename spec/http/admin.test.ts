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

describe('admin API history and console pages', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('lists pending by default and the history by status, robot and time, with paging', async () => {
    const alice = await stack.token('alice');
    const ids: string[] = [];
    for (const [i, who] of ['ops', 'team', 'ops'].entries()) ids.push((await stack.send(who, text(`hi all ${i}`, { mentioned_list: ['@all'] }))).json.approval_id as string);
    await stack.admin('POST', `/approvals/${ids[0]}/reject`, alice, { comment: 'no' });
    const list = async (q: string) => ((await stack.admin('GET', `/approvals${q}`, alice)).json.approvals as Array<{ id: string; may_decide: boolean }>);
    assert.deepEqual((await list('')).map((a) => a.id).sort(), [ids[1], ids[2]].sort());
    assert.ok((await list('')).every((a) => a.may_decide));
    assert.deepEqual((await list('?status=rejected')).map((a) => a.id), [ids[0]]);
    assert.equal((await list('?status=rejected'))[0]!.may_decide, false);
    assert.deepEqual((await list('?status=all&robot=team')).map((a) => a.id), [ids[1]]);
    assert.equal((await list(`?status=all&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 0);
    const page1 = await stack.admin('GET', '/approvals?status=all&limit=2', alice);
    const page2 = await stack.admin('GET', `/approvals?status=all&limit=2&before=${encodeURIComponent(page1.json.next_before as string)}`, alice);
    assert.deepEqual([...(page1.json.approvals as Array<{ id: string }>), ...(page2.json.approvals as Array<{ id: string }>)].map((a) => a.id).sort(), [...ids].sort());
  });

  for (const q of ['?status=bogus', '?limit=0', '?limit=501', '?limit=ten', '?since=yesterday', '?before=nope', '?robot=a&robot=b']) {
    it(`answers a bad history query (${q}) with 400/40058`, async () => {
      const res = await stack.admin('GET', `/approvals${q}`, await stack.token('alice'));
      assert.deepEqual([res.status, res.json.errcode], [400, 40058]);
    });
  }

  it('says who a token signs in as', async () => {
    const me = await stack.admin('GET', '/me', await stack.token('bob'));
    assert.deepEqual([me.status, me.json.sub, me.json.via], [200, 'bob', 'jwt']);
  });

  it('serves the console without a token, under a strict content security policy', async () => {
    const root = await fetch(`${stack.server.adminUrl}/`, { redirect: 'manual' });
    assert.deepEqual([root.status, root.headers.get('location')], [302, '/console/']);
    for (const path of ['/console/', '/console/approvals/some-id', '/console/console.js', '/console/console.css']) {
      const res = await fetch(`${stack.server.adminUrl}${path}`);
      assert.equal(res.status, 200, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), `${path}: ${directive}`);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      await res.body?.cancel();
    }
    assert.equal((await fetch(`${stack.server.adminUrl}/console/secrets.json`)).status, 404);
  });
});
