import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { HELPDESK } from '../helpers.js';
import { encode, encoding, envelope, fromValue, jnode, mutate, mutation, nastyString, serialize, style, validAppMessage } from './arbitraries.js';
import { checkReply, outcome, fuzzParams, replyOf, useFuzzStack, tally, upstreamCount, type FuzzStack, type Reply } from './harness.js';

const params = fuzzParams(import.meta.url);

// Fuzzing the self-built-app API: gettoken queries, access tokens, message/send and appchat/send
// bodies, the privileged endpoints and any other app path. Whatever comes in: no 5xx, a refusal is
// a 4xx with an errcode and reaches nothing, the real corpsecret, client secret and WeCom's token
// never appear, a token is only ever minted for the exact client secret, a privileged call is never
// made without an approval, and a message is forwarded as the JSON the policies judged.

describe('fuzz: app API', () => {
  let stack: FuzzStack;
  const tokens = new Set<string>();
  useFuzzStack((s) => (stack = s), { forbidden: tokens });

  const get = async (pathAndQuery: string): Promise<Reply> => replyOf(await fetch(`${stack.server.url}${pathAndQuery}`));
  const post = async (pathAndQuery: string, body: Buffer | string, contentType = 'application/json'): Promise<Reply> =>
    replyOf(await fetch(`${stack.server.url}${pathAndQuery}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) }));

  it('gettoken: a token only for the exact client secret, WeCom never asked, the real secrets never shown', async () => {
    const secretValue = fc.oneof(
      { arbitrary: fc.constantFrom(HELPDESK.clientSecret, HELPDESK.clientSecret, HELPDESK.corpSecret, HELPDESK.clientSecret.toUpperCase(), `${HELPDESK.clientSecret} `, HELPDESK.clientSecret.slice(0, -1), `${HELPDESK.clientSecret}x`, '', 'ops'), weight: 4 },
      { arbitrary: nastyString, weight: 1 },
    );
    const corpValue = fc.oneof({ arbitrary: fc.constantFrom(HELPDESK.corpId, HELPDESK.corpId, 'ww-other', '', HELPDESK.corpId.toUpperCase()), weight: 4 }, { arbitrary: nastyString, weight: 1 });
    // Usually both parameters, in either order, sometimes repeated or missing, with extras around them.
    const pairs = fc
      .tuple(
        fc.option(fc.tuple(fc.constant('corpid'), corpValue), { freq: 8, nil: undefined }),
        fc.option(fc.tuple(fc.constant('corpsecret'), secretValue), { freq: 8, nil: undefined }),
        fc.array(fc.oneof(fc.tuple(fc.constant('corpid'), corpValue), fc.tuple(fc.constant('corpsecret'), secretValue), fc.tuple(fc.constantFrom('CORPID', 'corpSecret', 'access_token', 'x', ''), nastyString)), { maxLength: 2 }),
        fc.boolean(),
      )
      .map(([c, s, extra, swap]): Array<[string, string]> => {
        const base: Array<[string, string]> = [];
        for (const p of [c, s]) if (p) base.push(p);
        return [...(swap ? base.reverse() : base), ...extra];
      });
    await fc.assert(
      fc.asyncProperty(pairs, async (ps) => {
        const query = new URLSearchParams(ps);
        const tokenRequests = stack.sim.tokenRequests();
        const before = upstreamCount(stack);
        const a = await get(`/cgi-bin/gettoken?${query}`);
        tally('gettoken', outcome(a));
        const corpid = query.get('corpid');
        const secret = query.get('corpsecret');
        const expected = !corpid ? [400, 41002] : !secret ? [400, 41004] : corpid !== HELPDESK.corpId ? [401, 40013] : secret !== HELPDESK.clientSecret ? [401, 40001] : [200, 0];
        checkReply(stack, a, { mintedAllowed: expected[0] === 200 });
        assert.deepEqual([a.status, a.json?.errcode], expected, `${query}: ${a.text}`);
        if (expected[0] === 200) {
          assert.equal(a.json?.access_token, stack.minted, 'the same token while it is valid');
          assert.ok(typeof a.json?.expires_in === 'number' && a.json.expires_in > 0 && a.json.expires_in <= 7200);
        } else assert.equal(a.json?.access_token, undefined);
        assert.equal(stack.sim.tokenRequests(), tokenRequests, 'WeCom is not asked: the real token is cached');
        assert.equal(upstreamCount(stack), before);
      }),
      params(100),
    );
  });

  it('access tokens: only the minted token works; tampered, foreign and real WeCom tokens are 401 and never echoed', async () => {
    const token = fc.oneof(
      fc.constantFrom<(s: FuzzStack) => string>(
        (s) => s.minted,
        (s) => s.minted,
        (s) => s.minted,
        (s) => s.realToken,
        (s) => s.keys.ops!,
        (s) => s.minted.toUpperCase(),
        (s) => `${s.minted}x`,
        (s) => s.minted.slice(0, -1),
        (s) => s.minted.split('.').reverse().join('.'),
        (s) => s.minted.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        (s) => encodeURIComponent(s.minted),
        () => '',
        () => 'ops',
      ),
      fc.tuple(fc.nat(), fc.constantFrom(...'ABCxyz019-_.~')).map(([i, c]) => (s: FuzzStack) => {
        const at = i % s.minted.length;
        return s.minted.slice(0, at) + c + s.minted.slice(at + 1);
      }),
      nastyString.map((t) => () => t),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(token, fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }), fc.constantFrom('/cgi-bin/message/send', '/cgi-bin/appchat/send'), async (make, twice, path) => {
        const t = make(stack);
        const body = path.includes('appchat') ? { chatid: 'c1', msgtype: 'text', text: { content: `tok ${++n}` } } : { touser: `fz${++n}`, msgtype: 'text', agentid: HELPDESK.agentId, text: { content: 'tok' } };
        const q = new URLSearchParams([['access_token', t], ...(twice ? [['access_token', t] as [string, string]] : [])]);
        // Token-shaped values (tampered minted tokens, WeCom's, a robot key) must not reach the audit
        // log; short random strings may coincide with its own words ("__proto__" in a reason).
        if (t !== stack.minted && t.length >= 20) tokens.add(t);
        const before = upstreamCount(stack);
        const a = await post(`${path}?${q}`, JSON.stringify(body));
        tally('access tokens', outcome(a));
        const valid = t === stack.minted && !twice;
        checkReply(stack, a, { notEchoed: t === stack.minted ? [] : [t] });
        if (valid) {
          assert.equal(a.status, 200, a.text);
          assert.equal(upstreamCount(stack) - before, 1);
        } else {
          assert.equal(a.status, 401, `${JSON.stringify(t)}: ${a.text}`);
          assert.ok([40014, 41001, 42001].includes(a.json?.errcode as number), a.text);
          assert.equal(upstreamCount(stack) - before, 0);
        }
      }),
      params(100),
    );
  });

  it('message/send and appchat/send bodies: near-valid messages, mutated', async () => {
    const message = fc.oneof(
      validAppMessage({ agentid: HELPDESK.agentId }).map((m) => ({ m, path: '/cgi-bin/message/send' })),
      validAppMessage({ chatid: 'chat-1' }).map((m) => ({ m, path: '/cgi-bin/appchat/send' })),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(message, fc.array(mutation, { maxLength: 3 }), style, encoding, async ({ m, path }, muts, st, enc) => {
        // A fresh recipient each time keeps WeCom's per-member limit (30/min) out of the way.
        const unique = { ...m, ...(path.includes('message') ? { touser: `fz${++n}` } : { chatid: `chat-${++n}` }) };
        const body = encode(serialize(mutate(fromValue(unique), muts), st), enc);
        const before = upstreamCount(stack);
        const messages = stack.sim.appMessages().length;
        const a = await post(`${path}?access_token=${stack.minted}`, body);
        tally('app messages', outcome(a));
        checkReply(stack, a);
        const delta = upstreamCount(stack) - before;
        const model = envelope(body);
        const shown = `${path} ${a.status} ${a.text.slice(0, 200)} for ${body.toString('utf8').slice(0, 200)}`;
        if (body.length > 64 * 1024) assert.equal(a.status, 413, shown);
        else if ('refuse' in model) assert.deepEqual([a.status, a.json?.errcode], [400, model.refuse], `${model.why}: ${shown}`);
        else if (path === '/cgi-bin/message/send' && model.payload.agentid !== HELPDESK.agentId) assert.deepEqual([a.status, a.json?.errcode], [400, 40056], shown);
        if (a.status !== 200 || a.headers['x-firewall-duplicate-of']) {
          assert.equal(delta, 0, `nothing reaches WeCom: ${shown}`);
          return;
        }
        assert.ok(!('refuse' in model), shown);
        assert.equal(delta, 1, shown);
        const got = stack.sim.appMessages().slice(messages);
        assert.equal(got.length, 1, shown);
        assert.ok(isDeepStrictEqual(got[0]!.body, JSON.parse(model.canonical)), `WeCom got the JSON the policies judged: ${shown}`);
      }),
      params(200),
    );
  });

  it('privileged endpoints are parked or refused, never made without an approval', async () => {
    const ADMIN = ['/cgi-bin/user/delete', '/cgi-bin/department/delete', '/cgi-bin/user/batchdelete', '/cgi-bin/user/update', '/cgi-bin/tag/addtagusers', '/cgi-bin/tag/deltagusers', '/cgi-bin/agent/set'];
    const GETS = ['/cgi-bin/user/delete', '/cgi-bin/department/delete'];
    const call = fc.oneof(
      fc.tuple(fc.constantFrom(...ADMIN), jnode, style).map(([path, doc, st]) => ({ method: 'POST', path, query: '', body: serialize(doc, st) })),
      fc.tuple(fc.constantFrom(...ADMIN), fc.jsonValue()).map(([path, v]) => ({ method: 'POST', path, query: `debug=1&userid=${encodeURIComponent('ceo')}`, body: JSON.stringify(v) })),
      fc
        .tuple(fc.constantFrom(...GETS), fc.array(fc.tuple(fc.constantFrom('userid', 'id', 'userid', 'x', ''), nastyString), { maxLength: 3 }))
        .map(([path, ps]) => ({ method: 'GET', path, query: new URLSearchParams(ps).toString(), body: '' })),
    );
    await fc.assert(
      fc.asyncProperty(call, async ({ method, path, query, body }) => {
        const before = upstreamCount(stack);
        const admin = stack.sim.adminCalls().length;
        const url = `${path}?${query ? `${query}&` : ''}access_token=${stack.minted}`;
        const a = method === 'GET' ? await get(url) : await post(url, body);
        tally('privileged', outcome(a));
        checkReply(stack, a);
        assert.ok(a.status === 202 || (a.status >= 400 && a.status < 500), `${method} ${url}: ${a.status} ${a.text}`);
        if (a.status === 202) assert.equal(typeof a.json?.approval_id, 'string');
        if (method === 'GET') {
          const names = [...new URLSearchParams(query).keys()];
          if (new Set(names).size !== names.length) assert.deepEqual([a.status, a.json?.errcode], [400, 40058], `a repeated parameter: ${a.text}`);
        }
        assert.equal(stack.sim.adminCalls().length, admin, 'no privileged call without an approval');
        assert.equal(upstreamCount(stack), before);
      }),
      params(100),
    );
  });

  it('any other app path with a token is refused (403/9900001) and never reaches WeCom', async () => {
    const segment = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_'), minLength: 1, maxLength: 12 });
    const other = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom('GET', 'POST'), fc.jsonValue()).filter(([segs]) => !['webhook', 'gettoken', 'message', 'appchat', 'media', 'user', 'department', 'tag', 'agent'].includes(segs[0]!));
    await fc.assert(
      fc.asyncProperty(other, async ([segs, method, v]) => {
        const path = `/cgi-bin/${segs.join('/')}?access_token=${stack.minted}`;
        const before = upstreamCount(stack);
        const a = method === 'GET' ? await get(path) : await post(path, JSON.stringify(v));
        tally('app.other', outcome(a));
        checkReply(stack, a);
        const model = envelope(Buffer.from(JSON.stringify(v)), { msgtype: false });
        if (method === 'GET' || !('refuse' in model)) assert.deepEqual([a.status, a.json?.errcode], [403, 9900001], `${method} ${path}: ${a.text}`);
        else assert.deepEqual([a.status, a.json?.errcode], [400, model.refuse], a.text);
        assert.equal(upstreamCount(stack), before);
      }),
      params(60),
    );
  });
});
