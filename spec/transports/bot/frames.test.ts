import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadFrame, ackText, commandText, parseFrame } from '../../../lib/transports/bot/frames.js';

describe('bot frames', () => {
  it('reads a command, an ack and a frame without a body', () => {
    assert.deepEqual(parseFrame('{"cmd":"aibot_send_msg","headers":{"req_id":"r1"},"body":{"chatid":"c"}}'), { cmd: 'aibot_send_msg', headers: { req_id: 'r1' }, body: { chatid: 'c' }, errcode: undefined, errmsg: undefined });
    assert.equal(parseFrame('{"headers":{"req_id":"r1"},"errcode":0,"errmsg":"ok"}').errcode, 0);
    assert.equal(parseFrame('{"cmd":"ping","headers":{"req_id":"ping_1"}}').body, undefined);
  });

  for (const [text, reqId] of [
    ['not json', undefined],
    ['[1,2]', undefined],
    ['{"cmd":"x"}', undefined],
    ['{"cmd":"x","headers":{"req_id":""}}', undefined],
    [`{"cmd":"x","headers":{"req_id":"${'r'.repeat(257)}"}}`, undefined],
    ['{"cmd":5,"headers":{"req_id":"r1"}}', 'r1'],
    ['{"cmd":"x","headers":{"req_id":"r1"},"body":"text"}', 'r1'],
    ['{"cmd":"x","headers":{"req_id":"r1"},"body":[1]}', 'r1'],
    ['{"cmd":"x","headers":{"req_id":"r1"},"body":{"constructor":{"prototype":{"x":1}}}}', 'r1'],
    ['{"cmd":"x","headers":{"req_id":"r1"},"body":{"n":1e999}}', 'r1'],
    [`{"cmd":"x","headers":{"req_id":"r1"},"body":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}`, 'r1'],
  ] as const) {
    it(`refuses ${text.slice(0, 40)}, answering ${reqId ?? 'nobody'}`, () => {
      assert.throws(() => parseFrame(text), (e: BadFrame) => e instanceof BadFrame && e.reqId === reqId);
    });
  }

  it("reads WeCom's own frames without the body checks (they are relayed as they came)", () => {
    assert.equal(parseFrame('{"cmd":"aibot_msg_callback","headers":{"req_id":"r1"},"body":{"constructor":1}}', { checkBody: false }).cmd, 'aibot_msg_callback');
  });

  it('writes a command around the exact body bytes, and acks', () => {
    const body = Buffer.from('{"b":"\\u00e9"}');
    const text = commandText('aibot_send_msg', 'r"1', body);
    assert.ok(text.endsWith(`"body":${body.toString()}}`));
    assert.deepEqual(JSON.parse(text).headers, { req_id: 'r"1' });
    assert.deepEqual(JSON.parse(ackText('r1', 0, 'pending approval', { approval_id: 'a1' })), { headers: { req_id: 'r1' }, errcode: 0, errmsg: 'pending approval', body: { approval_id: 'a1' } });
  });
});
