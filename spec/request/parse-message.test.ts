import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../lib/errors.js';
import { checkJsonContentType, parseMessage } from '../../lib/request/parse-message.js';
import { routeRequest } from '../../lib/request/route.js';

const refusal = (fn: () => unknown): FirewallError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FirewallError);
    return err;
  }
  assert.fail('accepted');
};

describe('parseMessage', () => {
  const cases: Array<[string, Buffer, number]> = [
    ['not JSON', Buffer.from('{"msgtype": "text",'), 40058],
    ['a JSON array', Buffer.from('[{"msgtype":"text"}]'), 40058],
    ['a JSON string', Buffer.from('"hello"'), 40058],
    ['null', Buffer.from('null'), 40058],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"msgtype":"text","text":{"content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]), 40058],
    ['missing msgtype', Buffer.from('{"text":{"content":"hi"}}'), 40008],
    ['msgtype not a string', Buffer.from('{"msgtype":7,"text":{"content":"hi"}}'), 40008],
    ['missing msgtype object', Buffer.from('{"msgtype":"text"}'), 40058],
    ['msgtype object is a string', Buffer.from('{"msgtype":"text","text":"hi"}'), 40058],
    ['msgtype naming an inherited property', Buffer.from('{"msgtype":"toString"}'), 40058],
    ['__proto__ key', Buffer.from('{"msgtype":"text","text":{"content":"hi"},"__proto__":{"admin":true}}'), 40058],
    ['an escaped __proto__ key', Buffer.from('{"msgtype":"text","text":{"content":"hi"},"\\u005f_proto__":{"admin":true}}'), 40058],
    ['nesting deeper than 16 levels', Buffer.from(`{"msgtype":"text","text":{"content":"hi","x":${'['.repeat(20)}${']'.repeat(20)}}}`), 40058],
    ['hostile nesting', Buffer.from(`{"msgtype":"text","text":{"content":"hi","x":${'['.repeat(100000)}${']'.repeat(100000)}}}`), 40058],
    ['more than 10,000 values', Buffer.from(JSON.stringify({ msgtype: 'text', text: { content: 'hi', x: Array.from({ length: 10_001 }, () => 1) } })), 40058],
    ['a number JSON cannot carry (1e999)', Buffer.from('{"msgtype":"template_card","template_card":{"card_image":{"aspect_ratio":1e999}}}'), 40058],
    ['an integer past 2^53', Buffer.from('{"msgtype":"text","text":{"content":"hi","n":9007199254740993}}'), 40058],
    ['nested constructor key', Buffer.from('{"msgtype":"text","text":{"content":"hi","constructor":{"prototype":{}}}}'), 40058],
  ];
  for (const [name, body, errcode] of cases) {
    it(`refuses ${name} with ${errcode}`, () => {
      const err = refusal(() => parseMessage(body));
      assert.equal(err.errcode, errcode);
      assert.equal(err.status, 400);
    });
  }

  it('forwards a canonical serialisation: a duplicate key cannot smuggle a second meaning', () => {
    const parsed = parseMessage(Buffer.from('{"msgtype":"text","text":{"content":"checked"},"text":{"content":"the one policies saw"}}'));
    assert.deepEqual(JSON.parse(parsed.canonical.toString()), { msgtype: 'text', text: { content: 'the one policies saw' } });
    assert.equal(parsed.msgtype, 'text');
  });

  it('keeps CJK text intact', () => {
    const parsed = parseMessage(Buffer.from(JSON.stringify({ msgtype: 'text', text: { content: '部署完成 ✅' } })));
    assert.equal((parsed.payload.text as { content: string }).content, '部署完成 ✅');
  });
});

describe('checkJsonContentType', () => {
  it('accepts application/json with or without utf-8', () => {
    checkJsonContentType('application/json');
    checkJsonContentType('application/json; charset=UTF-8');
  });
  for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=gbk']) {
    it(`refuses ${ct ?? 'no content-type'} with 415`, () => assert.equal(refusal(() => checkJsonContentType(ct)).status, 415));
  }
});

describe('routeRequest', () => {
  it('routes the two webhook paths and keeps other query parameters', () => {
    const r = routeRequest('POST', '/cgi-bin/webhook/upload_media?key=ops&type=file');
    assert.equal(r.route, 'webhook.upload_media');
    assert.equal(r.credential, 'ops');
    assert.equal(r.query.toString(), 'type=file');
  });
  it('refuses unknown paths (404), other methods (405 + Allow) and missing or repeated keys (93000)', () => {
    assert.equal(refusal(() => routeRequest('POST', '/cgi-bin/user/list?key=ops')).status, 404);
    assert.equal(routeRequest('GET', '/cgi-bin/user/list?access_token=t').route, 'app.other'); // judged by policy
    assert.equal(refusal(() => routeRequest('GET', '/cgi-bin/../user/list?access_token=t')).status, 404);
    assert.equal(refusal(() => routeRequest('POST', '/cgi-bin/webhook/send/../../user/delete?key=ops')).status, 404);
    const m = refusal(() => routeRequest('GET', '/cgi-bin/webhook/send?key=ops'));
    assert.equal(m.status, 405);
    assert.equal(m.headers.Allow, 'POST');
    assert.equal(refusal(() => routeRequest('POST', '/cgi-bin/webhook/send')).errcode, 93000);
    assert.equal(refusal(() => routeRequest('POST', '/cgi-bin/webhook/send?key=a&key=b')).errcode, 93000);
  });
});
