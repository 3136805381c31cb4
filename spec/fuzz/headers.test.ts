import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { envelope, fromValue, nastyString, serialize, validRobotMessage } from './arbitraries.js';
import { checkReply, fromFirewall, outcome, fuzzParams, rawRequest, useFuzzStack, tally, upstreamCount, type FuzzStack } from './harness.js';

const params = fuzzParams(import.meta.url);

// Fuzzing the headers of POST /cgi-bin/webhook/send over a raw socket: Content-Type variants and
// charsets, Content-Length too short, too long, repeated or nonsense, chunked bodies (and chunked
// with a length), Idempotency-Key values, Expect, Upgrade, odd and oversized headers. Whatever
// comes in: no 5xx, no crash, and what reaches WeCom is exactly the canonical form of the bytes
// the firewall read under an accepted Content-Type.

describe('fuzz: request headers and framing', () => {
  let stack: FuzzStack;
  useFuzzStack((s) => (stack = s));

  const CONTENT_TYPES = [
    'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset="UTF-8"', 'application/json ; charset=UTF-8',
    'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=utf8', 'application/json; foo=bar', 'application/jsonp', 'application/json-patch+json',
    'text/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', ' application/json', 'application/json, text/plain', 'application/json\u00e9',
  ];
  /** The README's rule: application/json, UTF-8 if a charset is named (lib/request/parse-message.ts checkJsonContentType). */
  function contentTypeOk(ct: string | undefined): boolean {
    const [type = '', ...rest] = (ct ?? '').toLowerCase().split(';').map((x) => x.trim());
    const charset = rest.find((p) => p.startsWith('charset='));
    return type === 'application/json' && (!charset || /^charset="?utf-8"?$/.test(charset));
  }

  type Framing = 'cl' | 'cl-short' | 'cl-long' | 'cl-dup-same' | 'cl-dup-diff' | 'cl-neg' | 'cl-nonnum' | 'cl-huge' | 'chunked' | 'chunked+cl' | 'chunked-bad' | 'te-identity' | 'none';
  const framing = fc.oneof(
    { arbitrary: fc.constant<Framing>('cl'), weight: 10 },
    { arbitrary: fc.constant<Framing>('chunked'), weight: 4 },
    { arbitrary: fc.constantFrom<Framing>('cl-short', 'cl-dup-same', 'cl-dup-diff', 'cl-neg', 'cl-nonnum', 'cl-huge', 'chunked+cl', 'chunked-bad', 'te-identity', 'none'), weight: 5 },
    { arbitrary: fc.constant<Framing>('cl-long'), weight: 1 },
  );

  const idempotencyKey = fc.option(
    fc.oneof(fc.constantFrom('k-1', 'k-2', 'a'.repeat(255), 'a'.repeat(256), '', ' ', 'has space', 'tab\tkey', 'é', '中文'), fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_:.~!'), minLength: 1, maxLength: 40 }), nastyString),
    { nil: undefined, freq: 3 },
  );

  const extraHeader = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom<[string, string]>(
        ['Expect', '100-continue'],
        ['Upgrade', 'websocket'],
        ['Content-Encoding', 'gzip'],
        ['X-Forwarded-For', '10.0.0.1'],
        ['Forwarded', 'for=10.0.0.1'],
        ['Authorization', 'Bearer x.y.z'],
        ['Cookie', 'a=b'],
        ['X-Request-Id', 'spoofed'],
        ['Accept-Encoding', 'gzip, br'],
        ['X-Utf8', '中文'],
        ['X-Empty', ''],
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<[string, string]>(['Host', 'second-host'], ['X-Long', 'v'.repeat(20_000)], ['X-Folded', 'a\r\n b'], ['Bad Name', 'x'], ['X-Nul', 'a\u0000b']),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X-Fuzz', 'Content-Type', 'Content-Length', 'Transfer-Encoding', 'Idempotency-Key', 'Host'), nastyString) },
  );

  const body = fc.oneof(
    { arbitrary: validRobotMessage().filter((m) => m.msgtype !== 'image'), weight: 4 },
    { arbitrary: fc.jsonValue(), weight: 1 },
  );

  let n = 0;
  it('headers and framing: forwarded bytes are what was read, under an accepted Content-Type', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.option(fc.oneof({ arbitrary: fc.constantFrom(...CONTENT_TYPES.slice(0, 6)), weight: 3 }, { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 1 }), { nil: undefined, freq: 8 }), fc.boolean(), framing, fc.integer({ min: 1, max: 20 }), idempotencyKey, fc.array(extraHeader, { maxLength: 3 }), async (value, ct, dupCt, fr, k, idem, extras) => {
          const payload = Buffer.from(serialize(fromValue(value && typeof value === 'object' && !Array.isArray(value) ? { ...value, fuzz_case: ++n } : value)));
          const headers: Array<[string, string]> = [['Host', 'fw'], ['Connection', 'close']];
          if (ct !== undefined) headers.push(['Content-Type', ct]);
          if (ct !== undefined && dupCt) headers.push(['Content-Type', 'text/plain']);
          if (idem !== undefined) headers.push(['Idempotency-Key', idem]);
          headers.push(...extras);
          let wire: Buffer = payload;
          let read: Buffer | undefined = payload; // what the firewall can read as the body, if the framing is accepted
          const len = payload.length;
          switch (fr) {
            case 'cl':
              headers.push(['Content-Length', String(len)]);
              break;
            case 'cl-short':
              headers.push(['Content-Length', String(Math.max(0, len - k))]);
              read = payload.subarray(0, Math.max(0, len - k));
              break;
            case 'cl-long':
              headers.push(['Content-Length', String(len + k)]);
              read = undefined;
              break;
            case 'cl-dup-same':
              headers.push(['Content-Length', String(len)], ['Content-Length', String(len)]);
              break;
            case 'cl-dup-diff':
              headers.push(['Content-Length', String(len)], ['Content-Length', String(len + k)]);
              read = undefined;
              break;
            case 'cl-neg':
              headers.push(['Content-Length', String(-k)]);
              read = undefined;
              break;
            case 'cl-nonnum':
              headers.push(['Content-Length', `${len}x`]);
              read = undefined;
              break;
            case 'cl-huge':
              headers.push(['Content-Length', '99999999999999']);
              read = undefined;
              break;
            case 'chunked':
              headers.push(['Transfer-Encoding', 'chunked']);
              wire = chunked(payload, k);
              break;
            case 'chunked+cl':
              headers.push(['Transfer-Encoding', 'chunked'], ['Content-Length', String(len)]);
              wire = chunked(payload, k);
              read = undefined;
              break;
            case 'chunked-bad':
              headers.push(['Transfer-Encoding', 'chunked']);
              wire = Buffer.concat([Buffer.from(`${(len + k).toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
              read = undefined;
              break;
            case 'te-identity':
              headers.push(['Transfer-Encoding', 'identity'], ['Content-Length', String(len)]);
              read = undefined;
              break;
            case 'none':
              read = Buffer.alloc(0);
              break;
          }
          // node keeps the first Content-Type; an extra Content-Length or Transfer-Encoding makes the framing the model's guess.
          const effectiveCt = headers.find(([h]) => h.toLowerCase() === 'content-type')?.[1];
          const ambiguous = extras.some(([h]) => /^(content-length|transfer-encoding)$/i.test(h));
          const head = Buffer.from(`POST /cgi-bin/webhook/send?key=ops HTTP/1.1\r\n${headers.map(([h, v]) => `${h}: ${v}\r\n`).join('')}\r\n`, 'utf8');
          const before = upstreamCount(stack);
          const received = stack.sim.received().length;
          // A body shorter than its framing says: the client gives up at once (node then answers 400).
          const a = await rawRequest(stack.server.url, Buffer.concat([head, wire]), { endAfterWrite: fr === 'cl-long' || fr === 'chunked-bad' });
          const delta = upstreamCount(stack) - before;
          const shown = `${fr} ct=${JSON.stringify(ct)} idem=${JSON.stringify(idem)} extras=${JSON.stringify(extras.map(([h, v]) => [h, v.slice(0, 30)]))} → ${a.status} ${a.text.slice(0, 200)}`;
          tally('headers', `${outcome(a)}${delta ? ' forwarded' : ''}`);
          // Every request gets an answer: a client that gives up on a body shorter than its
          // Content-Length (and half-closes) gets node's 400, nothing hangs until requestTimeout.
          assert.ok(a.answered, `no answer: ${shown}`);
          checkReply(stack, a);
          if (fromFirewall(a) && !contentTypeOk(effectiveCt) && a.status !== 413) assert.deepEqual([a.status, a.json?.errcode], [415, 9900004], shown);
          if (delta === 0) return;
          assert.equal(delta, 1, shown);
          assert.ok(contentTypeOk(effectiveCt), `forwarded under Content-Type ${JSON.stringify(effectiveCt)}: ${shown}`);
          const got = stack.sim.received().slice(received);
          assert.equal(got.length, 1, shown);
          const raw = got[0]!.raw;
          assert.equal(JSON.stringify(JSON.parse(raw)), raw, `WeCom got canonical JSON: ${shown}`);
          if (ambiguous) return;
          assert.ok(read, `forwarded a body whose framing node should refuse: ${shown}`);
          const model = envelope(read);
          assert.ok(!('refuse' in model), `forwarded a body the envelope refuses: ${shown}`);
          assert.equal(raw, model.canonical, `WeCom got the canonical form of the bytes read: ${shown}`);
        },
      ),
      params(150),
    );
  });

  it('Idempotency-Key: a repeat gets the first answer and is not sent again; a key reused for another payload is refused', async () => {
    await fc.assert(
      fc.asyncProperty(validRobotMessage('text'), fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 8, maxLength: 16 }), async (msg, key) => {
        const unique = { ...msg, fuzz_case: ++n };
        const post = (b: unknown) => fetch(`${stack.server.url}/cgi-bin/webhook/send?key=ops`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `fz-${key}-${n}` }, body: JSON.stringify(b) });
        const before = upstreamCount(stack);
        const first = await post(unique);
        const firstText = await first.text();
        assert.equal(first.status, 200, firstText);
        const again = await post(unique);
        assert.equal(again.status, 200);
        assert.equal(await again.text(), firstText);
        assert.ok(again.headers.get('x-firewall-duplicate-of'));
        const other = await post({ ...unique, fuzz_case: -n });
        assert.deepEqual([other.status, ((await other.json()) as { errcode: number }).errcode], [422, 9900020]);
        assert.equal(upstreamCount(stack) - before, 1);
      }),
      params(20),
    );
  });
});

/** A body in chunks of `size` bytes. */
function chunked(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const c = body.subarray(i, i + size);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
