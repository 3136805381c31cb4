import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envelope, fromValue, mutate, nest, serialize, type JNode, type Mutation, type Style } from './arbitraries.js';

// The fuzz harness itself: what it builds must survive whatever the generators produce, or a run
// fails on the harness instead of saying something about the firewall.

/** How many {"a": ...} levels wrap the value, and the value inside them. */
function unwrap(v: unknown): { depth: number; inner: unknown } {
  let depth = 0;
  while (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && 'a' in v) {
    v = (v as { a: unknown }).a;
    depth++;
  }
  return { depth, inner: v };
}

describe('fuzz harness: documents of any depth', () => {
  // app.test.ts ("message/send and appchat/send bodies") with FUZZ_SEED=1161663494 shrank to this
  // case, and failed with RangeError: Maximum call stack size exceeded in serialize/escapeAll,
  // which recursed once per level. Everything that walks a document is iterative now.
  it('harness serialize survives two stacked depth-1000 nest mutations (stack overflow, seed 1161663494)', () => {
    const message = { chatid: 'chat-1', msgtype: 'mpnews', mpnews: { articles: [{ title: 'deploy finished 部署完成', thumb_media_id: '!', content: '!' }] } };
    const mutations: Mutation[] = [
      { op: 'nest', pick: 0, depth: 1000, kind: 'obj' },
      { op: 'nest', pick: 0, depth: 1000, kind: 'obj' },
    ];
    const doc = mutate(fromValue(message), mutations);
    const styles: Style[] = [
      { ws: '', escapeAll: true }, // the counterexample's style
      { ws: '\t \r\n', escapeAll: false },
    ];
    for (const st of styles) {
      const text = serialize(doc, st);
      const { depth, inner } = unwrap(JSON.parse(text));
      assert.equal(depth, 2000, 'both nestings are written');
      assert.deepEqual(inner, message, 'the message inside is intact');
      assert.deepEqual(envelope(Buffer.from(text)), { refuse: 40058, why: 'too deep' }, 'the model refuses it, as the firewall must');
    }
  });

  it('builds, copies, mutates, writes and reads back a document 100,000 levels deep', () => {
    const deep: JNode = nest({ t: 'str', v: 'bottom' }, 100_000, 'mix');
    const mutated = mutate(deep, [{ op: 'nest', pick: 99_999, depth: 1000, kind: 'arr' }, { op: 'huge', pick: 0, value: 'x'.repeat(700) }]);
    const text = serialize(mutated);
    assert.ok(text.includes(`"${'x'.repeat(700)}"`), 'the mutation reached the bottom');
    // (assert.ok, not assert.equal: a failure should not print half a megabyte)
    assert.ok(serialize(deep) === `${'{"a":['.repeat(50_000)}"bottom"${']}'.repeat(50_000)}`, 'the original is not changed by mutate');
    assert.ok(serialize(fromValue(JSON.parse(text))) === text, 'fromValue reads back what serialize wrote');
    assert.deepEqual(envelope(Buffer.from(text)), { refuse: 40058, why: 'too many values' }, 'the 10,001st value is met before the bottom');
  });
});
