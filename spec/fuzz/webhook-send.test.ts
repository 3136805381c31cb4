import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode, encoding, envelope, fromValue, jnode, mutate, mutation, nest, serialize, style, validRobotMessage, ROBOT_MSGTYPES, hugeString, type JNode } from './arbitraries.js';
import { checkReply, fuzzParams, replyOf, useFuzzStack, upstreamCount, type FuzzStack, type Reply } from './harness.js';

const params = fuzzParams(import.meta.url);

// Fuzzing POST /cgi-bin/webhook/send bodies: garbage JSON, near-valid messages of every msgtype,
// messages the contract refuses. Whatever comes in: no 5xx, a refusal is a 4xx with a non-zero
// errcode and nothing reaches the simulator; what is forwarded is exactly the JSON the policies
// judged, serialised again.

describe('fuzz: webhook/send payloads', () => {
  let stack: FuzzStack;
  useFuzzStack((s) => (stack = s));

  const tooLarge = (body: Buffer) => body.length > 64 * 1024; // the fuzz stack's limits.maxBodyBytes

  const post = async (body: Buffer, alias = 'ops'): Promise<Reply> =>
    replyOf(await fetch(`${stack.server.url}/cgi-bin/webhook/send?key=${alias}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array(body) }));

  /**
   * The properties every webhook/send answer has, given the body sent: the envelope model's refusal
   * exactly; an unknown msgtype refused by the contract; otherwise forwarded (canonically), parked
   * or refused, and only a forward reaches the simulator.
   */
  async function sendAndCheck(body: Buffer): Promise<Reply> {
    const before = upstreamCount(stack);
    const received = stack.sim.received().length;
    const a = await post(body);
    checkReply(stack, a);
    const delta = upstreamCount(stack) - before;
    const model = envelope(body);
    const shown = `${a.status} ${a.text.slice(0, 200)} for ${body.toString('utf8').slice(0, 200)}`;
    if (tooLarge(body)) {
      assert.deepEqual([a.status, a.json?.errcode], [413, 40058], shown);
    } else if ('refuse' in model) {
      assert.deepEqual([a.status, a.json?.errcode], [400, model.refuse], `${model.why}: ${shown}`);
    } else if (!(ROBOT_MSGTYPES as readonly string[]).includes(model.payload.msgtype as string)) {
      assert.deepEqual([a.status, a.json?.errcode], [400, 40008], shown);
    }
    if (a.status >= 400 || a.status === 202) {
      assert.equal(delta, 0, `nothing reaches WeCom for a ${a.status}: ${shown}`);
    } else {
      assert.equal(a.status, 200, shown);
      assert.ok(!('refuse' in model), `forwarded what the envelope refuses: ${shown}`);
      if (a.headers['x-firewall-duplicate-of']) assert.equal(delta, 0, shown);
      else {
        assert.equal(delta, 1, `forwarded once: ${shown}`);
        const got = stack.sim.received().slice(received);
        assert.equal(got.length, 1);
        assert.equal(got[0]!.raw, model.canonical, 'WeCom receives the JSON the policies judged, serialised again');
      }
    }
    return a;
  }

  it('garbage JSON documents (any shape, odd numbers, duplicate keys, escaped keys, bad encodings)', async () => {
    await fc.assert(
      fc.asyncProperty(jnode, style, encoding, async (doc, st, enc) => {
        await sendAndCheck(encode(serialize(doc, st), enc));
      }),
      params(200),
    );
  });

  it('near-valid messages of every msgtype, mutated (wrong types, deletions, duplicate keys, deep nesting, huge strings, odd numbers)', async () => {
    const doc = fc.tuple(validRobotMessage(), fc.array(mutation, { maxLength: 3 }), style, encoding);
    await fc.assert(
      fc.asyncProperty(doc, async ([msg, muts, st, enc]) => {
        await sendAndCheck(encode(serialize(mutate(fromValue(msg), muts), st), enc));
      }),
      params(300),
    );
  });

  it('valid messages are forwarded unchanged in meaning (the canonical JSON), whatever their spelling', async () => {
    // Duplicate keys resolve as JSON.parse does (the last wins) before the policies see them, so
    // WeCom reads what was judged; whitespace and escapes are normalised.
    await fc.assert(
      fc.asyncProperty(validRobotMessage().filter((m) => m.msgtype !== 'file' && m.msgtype !== 'voice'), style, fc.nat(), async (msg, st, n) => {
        // An unknown field makes repeats distinct (WeCom ignores it); an image may carry nothing else.
        const unique = msg.msgtype === 'image' ? msg : { ...msg, fuzz_case: n };
        const a = await sendAndCheck(Buffer.from(serialize(fromValue(unique), st)));
        assert.equal(a.status, 200, a.text);
      }),
      params(60),
    );
  });

  it('prototype-polluting keys are refused at any depth, however they are spelled', async () => {
    const poisoned = fc.tuple(validRobotMessage(), fc.nat(), fc.constantFrom('__proto__', 'constructor', 'prototype'), jnode, style).map(([msg, pick, key, value, st]) => {
      const doc = mutate(fromValue(msg), [{ op: 'addKey', pick, key, value }]);
      return serialize(doc, st);
    });
    await fc.assert(
      fc.asyncProperty(poisoned, async (text) => {
        const body = Buffer.from(text);
        const a = await sendAndCheck(body);
        assert.deepEqual([a.status, a.json?.errcode], [tooLarge(body) ? 413 : 400, 40058], text.slice(0, 200));
      }),
      params(60),
    );
  });

  it('nesting past 16 levels, more than 10,000 values and unfaithful numbers are refused; -0 and the edges pass', async () => {
    const edge = fc.oneof(
      fc.integer({ min: 1, max: 40 }).map((d): JNode => nest({ t: 'lit', text: 'null' }, d, 'mix')),
      fc.constantFrom(9_998, 10_000, 10_001, 20_000).map((n): JNode => ({ t: 'arr', items: Array.from({ length: n }, () => ({ t: 'num', text: '0' })) })),
      fc.constantFrom('1e999', '-1e999', '9007199254740993', '9007199254740991', '-0', '1e-400', '1e300', '0.5').map((text): JNode => ({ t: 'num', text })),
    );
    await fc.assert(
      fc.asyncProperty(validRobotMessage('text'), edge, fc.nat(), async (msg, value, n) => {
        const doc = fromValue({ ...msg, fuzz_case: n });
        if (doc.t === 'obj') doc.entries.push(['extra', value]);
        await sendAndCheck(Buffer.from(serialize(doc)));
      }),
      params(60),
    );
  });

  /** Over `limit` UTF-8 bytes, under the 64 KiB body limit. */
  const bigText = (limit: number) => hugeString.filter((s) => Buffer.byteLength(s) > limit && Buffer.byteLength(s) < 60_000);

  // Each break names the field at fault and WeCom's errcode for it (policies/10-wecom-contract.yaml).
  const breaks: fc.Arbitrary<{ msg: Record<string, unknown>; status: number; errcode: number; what: string }> = fc.oneof(
    fc.tuple(validRobotMessage('text'), fc.oneof(fc.constant<unknown>(''), fc.jsonValue().filter((v) => typeof v !== 'string'), fc.constant(undefined), bigText(2048)))
      .map(([m, content]) => {
        const text = { ...(m.text as object) } as Record<string, unknown>;
        if (content === undefined) delete text.content;
        else text.content = content;
        return { msg: { ...m, text }, status: 400, errcode: content === '' ? 44004 : 40058, what: 'text.content' };
      }),
    fc.tuple(fc.constantFrom('markdown', 'markdown_v2'), fc.oneof(fc.constant<unknown>(''), fc.constant<unknown>(42), fc.constant<unknown>(['x']), bigText(4096))).map(([t, content]) => ({
      msg: { msgtype: t, [t]: { content } },
      status: 400,
      errcode: content === '' ? 44004 : 40058,
      what: `${t}.content`,
    })),
    fc.constantFrom(
      { msgtype: 'image', image: { base64: Buffer.from('hello world').toString('base64'), md5: '5eb63bbbe01eeed093cb22bb8f5acdc3' } },
      { msgtype: 'image', image: { base64: 'iVBORw0KGgo=', md5: '00000000000000000000000000000000' } },
      { msgtype: 'image', image: { base64: 'not base64!' } },
    ).map((msg) => ({ msg, status: 400, errcode: 40058, what: 'image' })),
    fc.tuple(validRobotMessage('news'), fc.integer({ min: 9, max: 20 })).map(([m, n]) => {
      const article = ((m.news as { articles: unknown[] }).articles[0]) as object;
      return { msg: { msgtype: 'news', news: { articles: Array.from({ length: n }, () => article) } }, status: 400, errcode: 45008, what: 'news.articles > 8' };
    }),
    fc.constantFrom<Record<string, unknown>>({ articles: [] }, { articles: [{ title: 'x' }] }, { articles: [{ title: '', url: 'https://e.com' }] }, { articles: [{ title: '长'.repeat(43), url: 'https://e.com' }] }, { articles: [{ title: 't', url: 'https://e.com', description: 'd'.repeat(513) }] }, { articles: 'x' }, {}).map((news) => ({
      msg: { msgtype: 'news', news },
      status: 400,
      errcode: 40058,
      what: 'news',
    })),
    fc.tuple(fc.constantFrom('file', 'voice'), fc.constantFrom<unknown>('', 42, null, undefined, ['id'])).map(([t, media_id]) => ({ msg: { msgtype: t, [t]: media_id === undefined ? {} : { media_id } }, status: 400, errcode: 40058, what: `${t}.media_id` })),
    fc.tuple(validRobotMessage('template_card'), fc.constantFrom('card_type', 'card_action', 'card_action.url', 'hlist', 'jump', 'desc_color', 'aspect')).map(([m, what]) => {
      const card = JSON.parse(JSON.stringify(m.template_card)) as Record<string, any>;
      if (what === 'card_type') card.card_type = 'button_interaction';
      if (what === 'card_action') delete card.card_action;
      if (what === 'card_action.url') delete card.card_action.url;
      if (what === 'hlist') card.horizontal_content_list = Array.from({ length: 7 }, () => ({ keyname: 'k', value: 'v' }));
      if (what === 'jump') card.jump_list = Array.from({ length: 4 }, () => ({ type: 1, title: 't', url: 'https://e.com' }));
      if (what === 'desc_color') card.source = { desc_color: 7 };
      if (what === 'aspect') Object.assign(card, { card_type: 'news_notice', card_image: { url: 'https://e.com/p.png', aspect_ratio: 3 }, main_title: { title: 't' } });
      return { msg: { msgtype: 'template_card', template_card: card }, status: 400, errcode: 40058, what: `template_card ${what}` };
    }),
    fc.constantFrom('video', 'mpnews', 'textcard', 'TEXT', 'miniprogram_notice', 'voice_call').map((t) => ({ msg: { msgtype: t, [t]: { content: 'x' } }, status: 400, errcode: 40008, what: 'msgtype' })),
    fc.constantFrom<unknown>(42, null, true, ['text'], {}).map((t) => ({ msg: { msgtype: t, text: { content: 'x' } }, status: 400, errcode: 40008, what: 'msgtype type' })),
    fc.constantFrom<unknown>(undefined, 'x', 42, ['content']).map((inner) => ({ msg: inner === undefined ? { msgtype: 'text' } : { msgtype: 'text', text: inner }, status: 400, errcode: 40058, what: 'msgtype object' })),
  );

  it('messages the WeCom contract refuses are refused with its errcode and never forwarded', async () => {
    await fc.assert(
      fc.asyncProperty(breaks, style, async ({ msg, status, errcode, what }, st) => {
        const body = Buffer.from(serialize(fromValue(msg), st));
        const a = await sendAndCheck(body);
        assert.deepEqual([a.status, a.json?.errcode], tooLarge(body) ? [413, 40058] : [status, errcode], `${what}: ${a.text}`);
      }),
      params(100),
    );
  });
});
