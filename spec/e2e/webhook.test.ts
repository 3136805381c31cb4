import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, text, type Answer, type Stack } from '../helpers.js';
import { md5, tinyPng } from '../fixtures/images.js';

// The real server, the shipped policies and the WeCom simulator, over HTTP.

describe('webhook/send end to end', () => {
  let stack: Stack;
  let alice: string;
  const answers: Answer[] = [];
  const remember = (a: Answer) => (answers.push(a), a);

  before(async () => {
    stack = await startStack({ robots: { tight: { key: '', limit: '3/min' } } });
    alice = await stack.token('alice');
  });
  after(() => stack.close());

  it('forwards an allowed message with the real key and returns WeCom\'s answer as it came', async () => {
    const a = remember(await stack.send('ops', text('deploy finished 部署完成')));
    assert.equal(a.status, 200);
    assert.equal(a.json.errcode, 0);
    assert.ok(a.headers.get('x-request-id'));
    const delivered = stack.sim.delivered(stack.keys.ops);
    assert.equal(delivered.length, 1);
    assert.deepEqual(delivered[0]!.body, text('deploy finished 部署完成'));
  });

  it('forwards an image that passes the contract', async () => {
    const png = tinyPng();
    const a = remember(await stack.send('team', { msgtype: 'image', image: { base64: png.toString('base64'), md5: md5(png) } }));
    assert.deepEqual([a.status, a.json.errcode], [200, 0]);
  });

  it('refuses what WeCom would refuse, before it reaches WeCom', async () => {
    const before = stack.sim.received().length;
    const cases: Array<[unknown, number]> = [
      [text('长'.repeat(700)), 40058], // 700 characters, 2100 bytes
      [{ msgtype: 'markdown', markdown: { content: '字'.repeat(1400) } }, 40058],
      [{ msgtype: 'news', news: { articles: Array.from({ length: 9 }, (_, i) => ({ title: `t${i}`, url: 'https://example.com' })) } }, 45008],
      [{ msgtype: 'voice_call', voice_call: {} }, 40008],
    ];
    for (const [body, errcode] of cases) {
      const a = remember(await stack.send('ops', body));
      assert.equal(a.status, 400, JSON.stringify(a.json));
      assert.equal(a.json.errcode, errcode);
      assert.ok(a.json.request_id);
    }
    assert.equal(stack.sim.received().length, before);
  });

  it('rejects a message carrying a credential with 403', async () => {
    const before = stack.sim.received().length;
    const a = remember(await stack.send('ops', text('creds: AKIAIOSFODNN7EXAMPLE')));
    assert.deepEqual([a.status, a.json.errcode], [403, 9900001]);
    assert.equal(stack.sim.received().length, before);
  });

  it('parks an @all message, forwards it exactly once when approved', async () => {
    const body = text('all hands at 3pm', { mentioned_list: ['@all'] });
    const parked = remember(await stack.send('ops', body));
    assert.equal(parked.status, 202);
    assert.equal(parked.json.errcode, 0);
    assert.equal(parked.json.errmsg, 'pending approval');
    const id = parked.json.approval_id as string;
    assert.ok(id && parked.json.request_id);
    const deliveredBefore = stack.sim.delivered(stack.keys.ops).length;

    const list = await stack.admin('GET', '/approvals', alice);
    assert.equal(list.status, 200);
    const listed = (list.json.approvals as Array<{ id: string; payload: unknown; rule: string }>).find((x) => x.id === id);
    assert.deepEqual(listed?.payload, body);

    const approved = await stack.admin('POST', `/approvals/${id}/approve`, alice, { comment: 'ok' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal((approved.json.approval as { status: string }).status, 'sent');
    assert.equal(stack.sim.delivered(stack.keys.ops).length, deliveredBefore + 1);
    assert.deepEqual(stack.sim.delivered(stack.keys.ops).at(-1)!.body, body);

    const again = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('bob'));
    assert.equal(again.status, 409);
    assert.equal(stack.sim.delivered(stack.keys.ops).length, deliveredBefore + 1);
  });

  it('never forwards a parked message that is rejected', async () => {
    const parked = await stack.send('team', text('everyone!', { mentioned_mobile_list: ['@all'] }));
    assert.equal(parked.status, 202);
    const before = stack.sim.received().length;
    const rejected = await stack.admin('POST', `/approvals/${parked.json.approval_id as string}/reject`, alice, { comment: 'no' });
    assert.equal(rejected.status, 200);
    assert.equal((rejected.json.approval as { status: string }).status, 'rejected');
    assert.equal((await stack.admin('POST', `/approvals/${parked.json.approval_id as string}/approve`, alice)).status, 409);
    assert.equal(stack.sim.received().length, before);
  });

  it('rate limits per robot with 429, 45009 and Retry-After, before WeCom does', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await stack.send('tight', text(`m${i}`))).status, 200);
    const a = remember(await stack.send('tight', text('one too many')));
    assert.deepEqual([a.status, a.json.errcode], [429, 45009]);
    assert.ok(Number(a.headers.get('retry-after')) >= 1);
    assert.equal(stack.sim.received(stack.keys.tight).length, 3);
  });

  it('passes WeCom\'s own errors through unchanged', async () => {
    stack.sim.failNext(3, -1); // -1 is retried twice, then passed through
    const a = await stack.send('team', text('while WeCom is busy'));
    assert.deepEqual([a.status, a.json.errcode], [200, -1]);
  });

  const badInput: Array<[string, () => Promise<Answer>, number, number]> = [
    ['a body over the size limit', () => stack.send('ops', text('x'.repeat(5 * 1024 * 1024))), 413, 40058],
    ['not JSON', () => stack.send('ops', null, { raw: '{"msgtype":' }), 400, 40058],
    ['a JSON array', () => stack.send('ops', [text('hi')]), 400, 40058],
    ['a JSON string', () => stack.send('ops', 'hello'), 400, 40058],
    ['invalid UTF-8', () => stack.send('ops', null, { raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }), 400, 40058],
    ['a wrong content-type', () => stack.send('ops', text('hi'), { headers: { 'content-type': 'text/plain' } }), 415, 9900004],
    ['a missing msgtype', () => stack.send('ops', { text: { content: 'hi' } }), 400, 40008],
    ['a missing msgtype object', () => stack.send('ops', { msgtype: 'text' }), 400, 40058],
    ['a __proto__ key', () => stack.send('ops', null, { raw: '{"msgtype":"text","text":{"content":"x"},"__proto__":{"polluted":1}}' }), 400, 40058],
    ['a constructor key', () => stack.send('ops', null, { raw: '{"msgtype":"text","text":{"content":"x","constructor":{"prototype":{"polluted":1}}}}' }), 400, 40058],
    ['a missing key', () => stack.send('', text('hi'), { path: '/cgi-bin/webhook/send' }), 400, 93000],
    ['an unknown robot alias', () => stack.send('nobody', text('hi')), 404, 93000],
    ['a GET', () => stack.send('ops', null, { method: 'GET' }), 405, 9900003],
    ['an unknown path', () => stack.send('ops', text('hi'), { path: '/cgi-bin/user/list' }), 404, 9900002],
  ];
  for (const [name, call, status, errcode] of badInput) {
    it(`answers ${name} with ${status}/${errcode} and forwards nothing`, async () => {
      const before = stack.sim.received().length;
      const a = remember(await call());
      assert.equal(a.status, status, a.text);
      assert.equal(a.json.errcode, errcode);
      assert.equal(typeof a.json.errmsg, 'string');
      assert.equal(stack.sim.received().length, before);
      assert.equal((await fetch(`${stack.server.url}/healthz`)).status, 200);
    });
  }

  it('never echoes an unknown alias (it may be a real key pasted by an agent)', async () => {
    const a = await stack.send(stack.keys.ops!, text('hi'));
    assert.equal(a.status, 404);
    assert.ok(!a.text.includes(stack.keys.ops!));
  });

  it('uploads media through the firewall and sends the file it returned', async () => {
    const form = new FormData();
    form.append('media', new Blob([Buffer.from('quarterly numbers\n')], { type: 'text/plain' }), 'report.txt');
    const res = await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=file`, { method: 'POST', body: form });
    const up = (await res.json()) as { errcode: number; media_id: string };
    assert.equal(res.status, 200);
    assert.equal(up.errcode, 0);
    const sent = await stack.send('ops', { msgtype: 'file', file: { media_id: up.media_id } });
    assert.deepEqual([sent.status, sent.json.errcode], [200, 0]);
  });

  it('a truncated upload body does not crash the server', async () => {
    const boundary = 'cut-short';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="a.txt"\r\n\r\nsome bytes but no closing boundary`;
    const res = await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=file`, { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    assert.equal(res.status, 400);
    assert.equal((await fetch(`${stack.server.url}/healthz`)).status, 200);
  });

  it('refuses an upload naming its type twice: WeCom gets only the type the policies saw', async () => {
    const before = stack.sim.received().length;
    const form = new FormData();
    form.append('media', new Blob([Buffer.from('quarterly numbers\n')]), 'report.txt');
    const res = await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=file&type=voice`, { method: 'POST', body: form });
    assert.deepEqual([res.status, ((await res.json()) as { errcode: number }).errcode], [400, 40058]);
    assert.equal(stack.sim.received().length, before);
  });

  it('refuses an upload of the wrong type or size before WeCom sees it', async () => {
    const before = stack.sim.received().length;
    const form = new FormData();
    form.append('media', new Blob([Buffer.from('tiny')]), 'a.txt');
    const res = await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=file`, { method: 'POST', body: form });
    assert.equal(res.status, 400);
    const bad = await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=video`, { method: 'POST', body: form });
    assert.ok(bad.status >= 400 && bad.status < 500);
    const notMultipart = await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=file`, { method: 'POST', body: 'raw', headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(notMultipart.status, 415);
    assert.equal(stack.sim.received().length, before);
  });

  it('no secret appears in any answer or in any file under dataDir', async () => {
    const secrets = [...Object.values(stack.keys), 'spec-admin-secret'];
    for (const a of answers) for (const s of secrets) assert.ok(!a.text.includes(s), `answer leaks ${s.slice(0, 4)}…`);
    await stack.server.firewall.flushAudit(); // every line of this stack's requests is on disk
    const files = walk(stack.dataDir);
    assert.ok(files.some((f) => f.endsWith('audit.log')));
    for (const f of files) {
      const content = readFileSync(f).toString('latin1');
      for (const s of secrets) assert.ok(!content.includes(s), `${f} leaks a secret`);
    }
  });
});

describe('upstream failures', () => {
  it('answers 502 with errcode -1 when WeCom cannot be reached', async () => {
    const stack = await startStack();
    await stack.sim.close();
    const a = await stack.send('ops', text('hello'));
    assert.deepEqual([a.status, a.json.errcode], [502, -1]);
    await stack.server.close();
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
