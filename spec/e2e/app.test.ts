import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { answerOf, startStack, type Answer, type Stack } from '../helpers.js';

// The self-built-app API through the real server, against the simulator's app API.

describe('app API end to end', () => {
  let stack: Stack;
  let token: string;
  let alice: string;
  const answers: Answer[] = [];
  const remember = (a: Answer) => (answers.push(a), a);

  const gettoken = async (query: Record<string, string>) => remember(await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?${new URLSearchParams(query)}`)));
  const call = async (path: string, body: unknown, accessToken = token, method = 'POST') =>
    remember(
      await answerOf(
        await fetch(`${stack.server.url}${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(accessToken)}`, {
          method,
          headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
          body: method === 'POST' ? JSON.stringify(body) : undefined,
        }),
      ),
    );
  const textTo = (touser: string, content = 'your ticket #42 is resolved', extra: Record<string, unknown> = {}) => ({ touser, msgtype: 'text', agentid: stack.app.agentId, text: { content }, ...extra });

  before(async () => {
    stack = await startStack();
    alice = await stack.token('alice');
  });
  after(() => stack.close());

  it('mints a token for the client secret, having fetched the real one itself; the same token while valid', async () => {
    const a = await gettoken({ corpid: stack.app.corpId, corpsecret: stack.app.clientSecret });
    assert.equal(a.status, 200);
    assert.equal(a.json.errcode, 0);
    token = a.json.access_token as string;
    assert.ok(token && !token.includes(stack.app.corpSecret));
    const expiresIn = a.json.expires_in as number;
    assert.ok(expiresIn > 7000 && expiresIn <= 7200);
    assert.equal(stack.sim.tokenRequests(), 1);
    const again = await gettoken({ corpid: stack.app.corpId, corpsecret: stack.app.clientSecret });
    assert.equal(again.json.access_token, token);
    assert.equal(stack.sim.tokenRequests(), 1);
  });

  const badTokenRequests: Array<[string, () => Record<string, string>, number, number]> = [
    ['a wrong client secret (refused here, WeCom is not asked)', () => ({ corpid: stack.app.corpId, corpsecret: 'guess' }), 401, 40001],
    ['the real corpsecret, which no agent should hold', () => ({ corpid: stack.app.corpId, corpsecret: stack.app.corpSecret }), 401, 40001],
    ['an unknown corpid', () => ({ corpid: 'ww-other', corpsecret: stack.app.clientSecret }), 401, 40013],
    ['no corpid', () => ({ corpsecret: stack.app.clientSecret }), 400, 41002],
    ['no corpsecret', () => ({ corpid: stack.app.corpId }), 400, 41004],
  ];
  for (const [name, query, status, errcode] of badTokenRequests) {
    it(`refuses gettoken with ${name}: ${status}/${errcode}`, async () => {
      const before = stack.sim.tokenRequests();
      const a = await gettoken(query());
      assert.deepEqual([a.status, a.json.errcode], [status, errcode]);
      assert.equal(stack.sim.tokenRequests(), before);
    });
  }

  it('sends an allowed message with the real token and returns WeCom\'s answer', async () => {
    const a = await call('/cgi-bin/message/send', textTo('zhangsan'));
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.errcode, 0);
    const sent = stack.sim.appMessages().at(-1)!;
    assert.deepEqual(sent.recipients, ['zhangsan']);
    assert.equal((sent.body as { text: { content: string } }).text.content, 'your ticket #42 is resolved');
  });

  it('parks @all and delivers it exactly once when approved', async () => {
    const before = stack.sim.appMessages().length;
    const parked = await call('/cgi-bin/message/send', textTo('@all', 'office closed tomorrow'));
    assert.deepEqual([parked.status, parked.json.errcode], [202, 0]);
    assert.equal(stack.sim.appMessages().length, before);
    const approved = await stack.admin('POST', `/approvals/${parked.json.approval_id as string}/approve`, alice);
    assert.equal(approved.status, 200, approved.text);
    assert.equal((approved.json.approval as { status: string }).status, 'sent');
    assert.equal(stack.sim.appMessages().length, before + 1);
    assert.equal((await stack.admin('POST', `/approvals/${parked.json.approval_id as string}/approve`, alice)).status, 409);
    assert.equal(stack.sim.appMessages().length, before + 1);
  });

  const refused: Array<[string, () => Promise<Answer>, number, number]> = [
    ['agentid as a string', () => call('/cgi-bin/message/send', { ...textTo('zhangsan'), agentid: '1000002' }), 400, 40056],
    ['another app\'s agentid', () => call('/cgi-bin/message/send', { ...textTo('zhangsan'), agentid: 1000003 }), 400, 40056],
    ['1001 users in touser', () => call('/cgi-bin/message/send', textTo(Array.from({ length: 1001 }, (_, i) => `u${i}`).join('|'))), 400, 40058],
    ['no token', async () => answerOf(await fetch(`${stack.server.url}/cgi-bin/message/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })), 401, 41001],
    ['a token the firewall did not mint', () => call('/cgi-bin/message/send', textTo('zhangsan'), 'made-up-token'), 401, 40014],
    ['a robot alias passed as the token', () => call('/cgi-bin/message/send', textTo('zhangsan'), 'ops'), 401, 40014],
    ['a credential in the text', () => call('/cgi-bin/message/send', textTo('zhangsan', 'the key is AKIAIOSFODNN7EXAMPLE')), 403, 9900001],
  ];
  for (const [name, send, status, errcode] of refused) {
    it(`refuses ${name} with ${status}/${errcode} and sends nothing`, async () => {
      const before = stack.sim.appMessages().length;
      const a = await send();
      assert.deepEqual([a.status, a.json.errcode], [status, errcode], a.text);
      assert.equal(stack.sim.appMessages().length, before);
    });
  }

  it('refuses the minted token where a webhook key is expected, and the real WeCom token at the firewall', async () => {
    const asKey = await stack.send(token, { msgtype: 'text', text: { content: 'hi' } });
    assert.deepEqual([asKey.status, asKey.json.errcode], [404, 93000]);
    assert.ok(!asKey.text.includes(token));
    const real = await realToken(stack);
    const a = await call('/cgi-bin/message/send', textTo('zhangsan'), real);
    assert.deepEqual([a.status, a.json.errcode], [401, 40014]);
  });

  it('fetches a new real token once when WeCom invalidates the old one early, and still sends once', async () => {
    const tokensBefore = stack.sim.tokenRequests();
    const before = stack.sim.appMessages().filter((m) => m.errcode === 0).length;
    stack.sim.expireTokens();
    const a = await call('/cgi-bin/message/send', textTo('wangwu'));
    assert.deepEqual([a.status, a.json.errcode], [200, 0], a.text);
    assert.equal(stack.sim.tokenRequests(), tokensBefore + 1);
    assert.equal(stack.sim.appMessages().filter((m) => m.errcode === 0).length, before + 1);
  });

  it('parks privileged calls (bulk delete, permission change) and makes them only when approved', async () => {
    const del = await call('/cgi-bin/user/batchdelete', { useridlist: ['zhangsan', 'lisi'] });
    assert.deepEqual([del.status, del.json.errcode], [202, 0]);
    const single = await call('/cgi-bin/user/delete?userid=lisi', undefined, token, 'GET');
    assert.deepEqual([single.status, single.json.errcode], [202, 0]);
    const perm = await call('/cgi-bin/agent/set', { agentid: stack.app.agentId, name: 'evil' });
    assert.equal(perm.status, 202);
    assert.equal(stack.sim.adminCalls().length, 0);
    const approved = await stack.admin('POST', `/approvals/${single.json.approval_id as string}/approve`, alice);
    assert.equal((approved.json.approval as { status: string }).status, 'sent', approved.text);
    assert.equal(stack.sim.adminCalls().length, 1);
    assert.equal(stack.sim.adminCalls()[0]!.path, '/cgi-bin/user/delete');
    await stack.admin('POST', `/approvals/${del.json.approval_id as string}/reject`, alice);
    assert.equal(stack.sim.adminCalls().length, 1);
  });

  it('uploads media, sends it and downloads it again, all with the minted token', async () => {
    const form = new FormData();
    const bytes = Buffer.from('minutes of the incident review\n');
    form.append('media', new Blob([bytes], { type: 'text/plain' }), 'review.txt');
    const up = await answerOf(await fetch(`${stack.server.url}/cgi-bin/media/upload?access_token=${token}&type=file&debug=1`, { method: 'POST', body: form }));
    assert.deepEqual([up.status, up.json.errcode], [200, 0], up.text);
    const mediaId = up.json.media_id as string;
    const sent = await call('/cgi-bin/message/send', { touser: 'wangwu', msgtype: 'file', agentid: stack.app.agentId, file: { media_id: mediaId } });
    assert.deepEqual([sent.status, sent.json.errcode], [200, 0], sent.text);
    const got = await fetch(`${stack.server.url}/cgi-bin/media/get?access_token=${token}&media_id=${encodeURIComponent(mediaId)}`);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
    const twice = await answerOf(await fetch(`${stack.server.url}/cgi-bin/media/upload?access_token=${token}&type=file&type=image`, { method: 'POST', body: form }));
    assert.deepEqual([twice.status, twice.json.errcode], [400, 40058]);
  });

  it('refuses any other app endpoint unless a policy allows it, and never reaches WeCom', async () => {
    const before = stack.sim.adminCalls().length;
    const a = await call('/cgi-bin/user/list?department_id=1', undefined, token, 'GET');
    assert.deepEqual([a.status, a.json.errcode], [403, 9900001]);
    const noToken = await answerOf(await fetch(`${stack.server.url}/cgi-bin/user/list?department_id=1`));
    assert.deepEqual([noToken.status, noToken.json.errcode], [404, 9900002]);
    assert.equal(stack.sim.adminCalls().length, before);
  });

  it('refuses a repeated query parameter (policies and WeCom could read different copies)', async () => {
    const a = await call('/cgi-bin/media/get?media_id=bogus&media_id=other', undefined, token, 'GET');
    assert.deepEqual([a.status, a.json.errcode], [400, 40058]);
  });

  it('forwards no query parameter of a POST call: its arguments are the body the policies saw', async () => {
    const parked = await call('/cgi-bin/user/batchdelete?useridlist=ceo&debug=1', { useridlist: ['lisi'] });
    assert.equal(parked.status, 202);
    const approved = await stack.admin('POST', `/approvals/${parked.json.approval_id as string}/approve`, alice);
    assert.equal((approved.json.approval as { status: string }).status, 'sent', approved.text);
    const made = stack.sim.adminCalls().at(-1)!;
    assert.equal(made.path, '/cgi-bin/user/batchdelete');
    assert.deepEqual(made.query, {});
    assert.deepEqual(made.body, { useridlist: ['lisi'] });
  });

  it('refuses the 31st message to one member within a minute instead of letting WeCom drop it', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await call('/cgi-bin/message/send', textTo('lisi', `update ${i}`))).status, 200);
    const a = await call('/cgi-bin/message/send', textTo('lisi', 'one too many'));
    assert.deepEqual([a.status, a.json.errcode], [429, 45009]);
    assert.ok(Number(a.headers.get('retry-after')) >= 1);
  });

  // Last in this suite: it stops the firewall.
  it('never shows the corpsecret or a real token in an answer or a file under dataDir', async () => {
    const secrets = [stack.app.corpSecret, await realToken(stack)];
    for (const a of answers) for (const s of secrets) assert.ok(!a.text.includes(s), 'an answer leaks a secret');
    // The audit log is written in batches; its only flush is close() (the audit log drained, the
    // approval store closed), so the files are scanned once the firewall has stopped.
    await stack.server.close();
    for (const f of walk(stack.dataDir)) {
      const content = readFileSync(f).toString('latin1');
      for (const s of secrets) assert.ok(!content.includes(s), `${f} leaks a secret`);
    }
  });
});

/** WeCom answers gettoken with the same token while it is valid: this is the one the firewall holds. */
async function realToken(stack: Stack): Promise<string> {
  const res = await fetch(`${stack.sim.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.corpSecret}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
