import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HELPDESK } from '../helpers.js';
import { nastyString } from './arbitraries.js';
import { checkReply, fromFirewall, outcome, fuzzParams, rawRequest, requestBytes, useFuzzStack, tally, upstreamCount, type FuzzStack } from './harness.js';

const params = fuzzParams(import.meta.url);

// Fuzzing request lines over a raw socket (fetch would normalise them): methods, paths
// (percent-encoding, dot segments, double slashes, unicode, very long) and query strings (repeated
// and empty keys, encoded "key=", a real webhook key or a token where an alias goes). Whatever
// comes in: no 5xx, a refusal is a 4xx with an errcode, secrets and tokens are never echoed, and
// only a request routed exactly as documented reaches the simulator.

describe('fuzz: methods, paths and query strings', () => {
  let stack: FuzzStack;
  const unknownAliases = new Set<string>();
  useFuzzStack((s) => (stack = s), { forbidden: unknownAliases });

  const method = fc.oneof(
    { arbitrary: fc.constantFrom('POST', 'GET'), weight: 12 },
    { arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE'), weight: 2 },
    { arbitrary: fc.constantFrom('post', 'Get', 'FOO', 'CONNECT', 'M-SEARCH', 'PRI'), weight: 1 },
  );

  const BASE_PATHS = [
    '/cgi-bin/webhook/send', '/cgi-bin/webhook/send', '/cgi-bin/webhook/send', '/cgi-bin/webhook/send', '/cgi-bin/webhook/send', '/cgi-bin/webhook/send', '/cgi-bin/webhook/upload_media', '/cgi-bin/gettoken', '/cgi-bin/message/send',
    '/cgi-bin/appchat/send', '/cgi-bin/media/upload', '/cgi-bin/media/get', '/cgi-bin/media/get', '/cgi-bin/user/delete', '/cgi-bin/user/list', '/cgi-bin/externalcontact/list',
    '/healthz', '/readyz', '/', '', '*', '/metrics', '/approvals', '/console/', '/__sim/reset', '/t/agent-token/cgi-bin/webhook/send', 'http://qyapi.weixin.qq.com/cgi-bin/webhook/send',
  ];
  // Raw non-ASCII and control bytes are refused by node's parser (a bare 400) before the firewall: a few only.
  const INSERTS = ['/', '//', '/./', '/../', '/..', '%2F', '%2f', '%2e', '%2E%2E/', '%00', '%', '%zz', '%E4%B8%AD', '%E2%80%8B', ';', ';x=1', '#', '#frag', '\\', '..', '%20', '~', 'A', '.json', '?', '&', '中'];
  type Edit = { op: 'insert'; at: number; s: string } | { op: 'upper'; at: number } | { op: 'encode'; at: number } | { op: 'long'; n: number };
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.oneof({ arbitrary: fc.constantFrom(...INSERTS), weight: 8 }, { arbitrary: nastyString, weight: 1 }) }),
    fc.record({ op: fc.constant('upper' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('encode' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('long' as const), n: fc.constantFrom(300, 300, 5_000, 20_000) }),
  );
  const path = fc.tuple(fc.constantFrom(...BASE_PATHS), fc.oneof({ arbitrary: fc.constant<Edit[]>([]), weight: 4 }, { arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }), weight: 3 })).map(([p, edits]) => {
    let s = p;
    for (const e of edits) {
      const i = e.op === 'long' ? 0 : e.at % (s.length + 1);
      if (e.op === 'insert') s = s.slice(0, i) + e.s + s.slice(i);
      if (e.op === 'upper') s = s.slice(0, i) + s.slice(i, i + 1).toUpperCase() + s.slice(i + 1);
      if (e.op === 'encode' && i < s.length) s = `${s.slice(0, i)}%${s.charCodeAt(i).toString(16).padStart(2, '0').toUpperCase()}${s.slice(i + 1)}`;
      if (e.op === 'long') s = `${s}/${'a'.repeat(e.n)}`;
    }
    return s;
  });

  // Query values are markers the checks can look for: real keys, tokens, unknown aliases.
  const marker = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 6, maxLength: 12 }).map((s) => `zq${s}`);
  const value = (s: FuzzStack) =>
    fc.oneof(
      { arbitrary: fc.constantFrom('ops', 'team'), weight: 6 },
      { arbitrary: fc.constantFrom(s.keys.ops!, s.keys.team!, s.minted, s.minted, s.realToken, HELPDESK.corpId, HELPDESK.clientSecret, HELPDESK.corpSecret, '', 'file'), weight: 6 },
      { arbitrary: fc.constantFrom('ops%00', 'ops#x', 'o%70s', 'ops&key=team', 'ops%26key%3Dteam', 'ops;key=team', '%6Fps', 'OPS', 'ops ', '+ops', 'ops%20'), weight: 3 },
      { arbitrary: marker, weight: 2 },
      { arbitrary: nastyString, weight: 1 },
    );
  const name = fc.oneof(
    { arbitrary: fc.constant('key'), weight: 6 },
    { arbitrary: fc.constant('access_token'), weight: 3 },
    { arbitrary: fc.constantFrom('type', 'media_id', 'corpid', 'corpsecret', 'userid'), weight: 3 },
    { arbitrary: fc.constantFrom('KEY', 'Key', 'k%65y', '%6Bey', 'key[]', 'key%20', '', 'key%00', 'access%5Ftoken'), weight: 2 },
    { arbitrary: nastyString, weight: 1 },
  );
  // Mostly one credential parameter, as agents send it; sometimes several, repeated, or odd.
  const pair = (s: FuzzStack) => fc.record({ name, value: value(s), bare: fc.oneof({ arbitrary: fc.constant(false), weight: 6 }, { arbitrary: fc.constant(true), weight: 1 }), encode: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }) });
  const query = (s: FuzzStack) =>
    fc
      .record({
        pairs: fc.oneof({ arbitrary: fc.array(pair(s), { minLength: 1, maxLength: 1 }), weight: 4 }, { arbitrary: fc.array(pair(s), { maxLength: 5 }), weight: 3 }),
        sep: fc.constantFrom('&', '&', '&', ';', '&&'),
        none: fc.boolean(),
      })
      .map(({ pairs, sep, none }) => ({
        text: none && pairs.length === 0 ? '' : `?${pairs.map((p) => (p.bare && !p.value ? p.name : `${p.encode ? encodeURIComponentSafe(p.name) : p.name}=${p.encode ? encodeURIComponentSafe(p.value) : p.value}`)).join(sep)}`,
        values: pairs.map((p) => p.value),
      }));

  function encodeURIComponentSafe(s: string): string {
    try {
      return encodeURIComponent(s);
    } catch {
      return s;
    }
  }

  /** Whether the documented routing lets this request reach WeCom at all (policies allowing). */
  function mayForward(m: string, sent: string): boolean {
    const target = sent.split(' ')[0]!; // node reads the request target up to the first space
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    if (m === 'POST' && pathname === '/cgi-bin/webhook/send') {
      const keys = params.getAll('key');
      return keys.length === 1 && (keys[0] === 'ops' || keys[0] === 'team');
    }
    if (m === 'GET' && pathname === '/cgi-bin/media/get') {
      const tokens = params.getAll('access_token');
      params.delete('access_token');
      const names = [...params.keys()];
      return tokens.length === 1 && tokens[0] === stack.minted && new Set(names).size === names.length;
    }
    return false;
  }

  let n = 0;
  it('request lines: only documented routes reach WeCom; no 5xx; nothing echoed', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, fc.constant(null).chain(() => query(stack)), async (m, p, q) => {
        const target = `${p}${q.text}`;
        const body = JSON.stringify({ msgtype: 'text', text: { content: `path fuzz ${++n}` } });
        const before = upstreamCount(stack);
        const a = await rawRequest(
          stack.server.url,
          requestBytes(m, target, [['Host', 'fw'], ['Connection', 'close'], ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body),
        );
        const delta = upstreamCount(stack) - before;
        const shown = `${m} ${target.slice(0, 200)} → ${a.status} ${a.text.slice(0, 200)}`;
        tally('request lines', `${outcome(a)}${delta ? ' forwarded' : ''}`);
        for (const v of q.values) if (v.startsWith('zq') || v === stack.keys.ops || v === stack.keys.team) unknownAliases.add(v);
        if (!a.answered) {
          // node closes the connection without an answer only for methods it hands elsewhere (CONNECT).
          assert.ok(['CONNECT'].includes(m), `no answer: ${shown}`);
          assert.equal(delta, 0, shown);
          return;
        }
        const gettoken = target.startsWith('/cgi-bin/gettoken');
        const notEchoed = q.values.filter((v) => v.startsWith('zq') || v === stack.minted || v === stack.realToken);
        if (m === 'HEAD') a.json = { errcode: 1, errmsg: '', request_id: '' }; // HEAD answers carry no body
        checkReply(stack, a, { mintedAllowed: gettoken, notEchoed: a.status >= 400 ? notEchoed : [] });
        if (delta > 0) {
          assert.ok(mayForward(m, target), `reached WeCom though not routed there: ${shown}`);
          assert.equal(delta, 1, shown);
        } else if (mayForward(m, target) && fromFirewall(a)) {
          assert.ok(a.status === 200 && a.headers['x-firewall-duplicate-of'] !== undefined, `routed there but not forwarded: ${shown}`);
        }
        if (m === 'HEAD') return;
        if (fromFirewall(a) && a.status === 404) assert.ok([9900002, 93000].includes(a.json?.errcode as number), shown);
        if (fromFirewall(a) && a.status === 405) assert.ok(a.headers.allow, `405 names the method to use: ${shown}`);
      }),
      params(400),
    );
  });

  it('a real webhook key, the minted token or WeCom\'s token in place of an alias is refused and never echoed', async () => {
    const swap = fc.tuple(
      fc.constantFrom('/cgi-bin/webhook/send', '/cgi-bin/webhook/upload_media?type=file'),
      fc.constantFrom(() => stack.keys.ops!, () => stack.keys.team!, () => stack.minted, () => stack.realToken, () => stack.keys.ops!.toUpperCase(), () => `${stack.keys.ops!}x`),
      fc.boolean(),
    );
    await fc.assert(
      fc.asyncProperty(swap, async ([p, key, encode]) => {
        const k = key();
        unknownAliases.add(k);
        const target = `${p}${p.includes('?') ? '&' : '?'}key=${encode ? encodeURIComponent(k) : k}`;
        const before = upstreamCount(stack);
        const body = JSON.stringify({ msgtype: 'text', text: { content: 'hi' } });
        const a = await rawRequest(stack.server.url, requestBytes('POST', target, [['Host', 'fw'], ['Connection', 'close'], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]], body));
        checkReply(stack, a, { notEchoed: [k] });
        assert.deepEqual([a.status, a.json?.errcode], [404, 93000], a.text);
        assert.equal(upstreamCount(stack) - before, 0);
      }),
      params(30),
    );
  });
});
