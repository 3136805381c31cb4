import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dedupe, type RememberedAnswer } from '../../lib/dedupe/dedupe.js';

const answer = (sha256 = 'd1', requestId = 'r1'): RememberedAnswer => ({ outcome: { status: 200, body: '{"errcode":0}' }, size: 13, requestId, sha256 });
const key = (over: Partial<Parameters<typeof Dedupe.key>[0]> = {}) => Dedupe.key({ caller: '10.0.0.1', route: 'webhook.send', path: '/cgi-bin/webhook/send', target: 'ops', sha256: 'd1', ...over });

describe('Dedupe', () => {
  it('answers a repeat within the window with the first answer, without handling it again', async () => {
    const d = new Dedupe({ windowMs: 60_000, maxEntries: 10 });
    let handled = 0;
    const handle = async () => (handled++, answer());
    assert.equal((await d.run(key(), 'd1', handle)).kind, 'first');
    const again = await d.run(key(), 'd1', handle);
    assert.equal(again.kind, 'repeat');
    assert.equal(again.kind === 'repeat' && again.answer.requestId, 'r1');
    assert.equal(handled, 1);
  });

  it('tells callers, routes, paths, targets and payloads apart; an Idempotency-Key replaces the digest', () => {
    const keys = new Set([key(), key({ caller: '10.0.0.2' }), key({ route: 'upload_media' }), key({ path: '/cgi-bin/tag/deltagusers' }), key({ target: 'team' }), key({ sha256: 'd2' }), key({ idempotencyKey: 'k1' }), key({ idempotencyKey: 'k1', sha256: 'd2' })]);
    assert.equal(keys.size, 7, 'the same Idempotency-Key with another payload is the same key');
  });

  it('reports a reused Idempotency-Key with another payload as a conflict', async () => {
    const d = new Dedupe({ windowMs: 60_000, maxEntries: 10 });
    const k = key({ idempotencyKey: 'k1' });
    await d.run(k, 'd1', async () => answer('d1'));
    assert.equal((await d.run(k, 'd2', async () => answer('d2'))).kind, 'conflict');
  });

  it('remembers nothing when the first handling gave no answer to remember (a refusal, a failure)', async () => {
    const d = new Dedupe({ windowMs: 60_000, maxEntries: 10 });
    let handled = 0;
    await d.run(key(), 'd1', async () => (handled++, undefined));
    await assert.rejects(d.run(key(), 'd1', async () => (handled++, Promise.reject(new Error('upstream down')))));
    assert.equal((await d.run(key(), 'd1', async () => (handled++, answer()))).kind, 'first');
    assert.equal(handled, 3);
  });

  it('makes a repeat that arrives during the first wait for it, then answers it as a repeat', async () => {
    const d = new Dedupe({ windowMs: 60_000, maxEntries: 10 });
    let handled = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = d.run(key(), 'd1', async () => (handled++, await gate, answer()));
    const second = d.run(key(), 'd1', async () => (handled++, answer('d1', 'r2')));
    release();
    assert.deepEqual([(await first).kind, (await second).kind], ['first', 'repeat']);
    assert.equal(handled, 1);
  });

  it('forgets after the window', async () => {
    const d = new Dedupe({ windowMs: 50, maxEntries: 10 });
    await d.run(key(), 'd1', async () => answer());
    await new Promise((r) => setTimeout(r, 80));
    assert.equal((await d.run(key(), 'd1', async () => answer())).kind, 'first');
  });
});
