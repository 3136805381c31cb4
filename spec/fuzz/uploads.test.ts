import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cleanUpload, forwardedFilename, multipart, multipartBody, multipartContentType, nastyString, type Multipart } from './arbitraries.js';
import { checkReply, fuzzParams, rawRequest, replyOf, requestBytes, useFuzzStack, upstreamCount, type FuzzStack } from './harness.js';

const params = fuzzParams(import.meta.url);

// Fuzzing upload_media (robots) and media/upload (apps) with multipart bodies: malformed and
// mismatched boundaries, several parts or none, parts without names, hostile and huge filenames,
// odd content types and type parameters. Whatever comes in: no 5xx, a refusal is a 4xx with an
// errcode and reaches nothing; what is forwarded is one media part, the one that was sent.

describe('fuzz: multipart uploads', () => {
  let stack: FuzzStack;
  useFuzzStack((s) => (stack = s));

  const contentTypes = fc.constantFrom('multipart/form-data', 'multipart/form-data', 'multipart/form-data', 'MULTIPART/Form-Data', 'multipart/form-data; charset=utf-8', 'multipart/mixed', 'multipart/form-datax', 'application/octet-stream', 'text/plain', '');
  const robotType = fc.constantFrom('type=file', 'type=file', 'type=voice', 'type=image', 'type=', 'type=file&type=voice', '', 'TYPE=file', 'type=file%00');
  const appType = fc.constantFrom('type=file', 'type=image', 'type=voice', 'type=video', 'type=', 'type=file&type=image', '', 'type=doc');

  // Every upload carries an Idempotency-Key of its own: a repeat of the same file is answered as a
  // repeat and not forwarded (dedupe), and with one seed for the whole file the properties start
  // from the same values. What is fuzzed here is the upload, not dedupe.
  let n = 0;
  const unique = () => `fz-upload-${++n}`;

  /** Sizes of the parts sent as the media file (the only bytes that may be forwarded). */
  const mediaSizes = (m: Multipart) => m.parts.filter((p) => /name="media"; filename/.test(p.headers[0] ?? '')).map((p) => p.body.length);

  it('any multipart body, robot upload_media and app media/upload', async () => {
    const target = fc.oneof(
      fc.tuple(fc.constant('robot' as const), robotType).map(([kind, t]) => ({ kind, path: `/cgi-bin/webhook/upload_media?key=ops&${t}` })),
      fc.tuple(fc.constant('app' as const), appType).map(([kind, t]) => ({ kind, path: `/cgi-bin/media/upload?${t}&access_token=` })),
    );
    await fc.assert(
      fc.asyncProperty(target, multipart, contentTypes, async ({ kind, path }, m, base) => {
        const before = upstreamCount(stack);
        const received = stack.sim.received().length;
        const body = multipartBody(m);
        const contentType = base ? multipartContentType(m, base) : undefined;
        // Raw, so a boundary fetch would refuse to put in a header (non-Latin-1) is sent as UTF-8 bytes.
        const headers: Array<[string, string]> = [['Host', 'fw'], ['Connection', 'close'], ['Content-Length', String(body.length)], ['Idempotency-Key', unique()]];
        if (contentType !== undefined) headers.push(['Content-Type', contentType]);
        const a = await rawRequest(stack.server.url, requestBytes('POST', `${path}${kind === 'app' ? stack.minted : ''}`, headers, body));
        assert.ok(a.answered, `an answer for ${path}`);
        checkReply(stack, a);
        const delta = upstreamCount(stack) - before;
        const shown = `${a.status} ${a.text.slice(0, 200)} (${path}, ${contentType})`;
        if (!base.toLowerCase().startsWith('multipart/form-data')) assert.ok([400, 415].includes(a.status), `not multipart: ${shown}`);
        if (body.length > 64 * 1024) assert.ok([400, 413, 415].includes(a.status), `over the upload limit: ${shown}`);
        if (a.status !== 200) {
          assert.equal(delta, 0, `nothing reaches WeCom: ${shown}`);
          return;
        }
        assert.equal(delta, 1, shown);
        const sizes = mediaSizes(m);
        assert.ok(sizes.length >= 1, `forwarded without a media part: ${shown}`);
        if (kind === 'robot') {
          const got = stack.sim.received().slice(received);
          assert.equal(got.length, 1);
          const rec = got[0]!.body as { type: string; filename: string; size: number };
          assert.ok(['file', 'voice'].includes(rec.type), shown);
          assert.ok(sizes.includes(rec.size), `WeCom got ${rec.size} bytes; the media parts sent were ${sizes.join(', ')} bytes`);
          assert.ok(!/["\r\n\\]/.test(rec.filename), `the filename forwarded is sanitised: ${JSON.stringify(rec.filename)}`);
          assert.ok(rec.filename.length > 0 && rec.filename.length <= 255, JSON.stringify(rec.filename));
        }
      }),
      params(150),
    );
  });

  it('a well-formed upload reaches WeCom with its bytes and its file name (sanitised, as UTF-8)', async () => {
    await fc.assert(
      fc.asyncProperty(cleanUpload, fc.boolean(), async ({ multipart: m, filename, size }, robot) => {
        const before = upstreamCount(stack);
        const received = stack.sim.received().length;
        const path = robot ? '/cgi-bin/webhook/upload_media?key=ops&type=file' : `/cgi-bin/media/upload?type=file&access_token=${stack.minted}`;
        const a = await replyOf(await fetch(`${stack.server.url}${path}`, { method: 'POST', headers: { 'content-type': multipartContentType(m), 'idempotency-key': unique() }, body: new Uint8Array(multipartBody(m)) }));
        checkReply(stack, a);
        assert.deepEqual([a.status, a.json?.errcode], [200, 0], a.text);
        assert.equal(upstreamCount(stack) - before, 1);
        if (robot) {
          const rec = stack.sim.received().slice(received)[0]!.body as { type: string; filename: string; size: number };
          assert.deepEqual(rec, { type: 'file', filename: forwardedFilename(filename), size }, `sent ${JSON.stringify(filename)}`);
        }
      }),
      params(80),
    );
  });

  it('query parameters of an upload: only one valid type passes, nothing else reaches WeCom', async () => {
    const extra = fc.array(fc.tuple(fc.constantFrom('type', 'key', 'access_token', 'debug', 'media', ''), nastyString), { maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(cleanUpload, extra, async ({ multipart: m }, params_) => {
        const query = new URLSearchParams([['key', 'ops'], ['type', 'file'], ...params_]);
        const before = upstreamCount(stack);
        const received = stack.sim.received().length;
        const a = await replyOf(await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?${query}`, { method: 'POST', headers: { 'content-type': multipartContentType(m), 'idempotency-key': unique() }, body: new Uint8Array(multipartBody(m)) }));
        checkReply(stack, a);
        const types = query.getAll('type');
        const keys = query.getAll('key');
        const ok = types.length === 1 && keys.length === 1;
        if (!ok) {
          assert.ok(a.status >= 400, `${query}: ${a.status} ${a.text}`);
          assert.equal(upstreamCount(stack) - before, 0);
        } else {
          assert.equal(a.status, 200, `${query}: ${a.text}`);
          const got = stack.sim.received().slice(received);
          assert.equal(got.length, 1);
          assert.equal((got[0]!.body as { type: string }).type, 'file', 'WeCom gets only the type the policies saw');
        }
      }),
      params(60),
    );
  });
});
