import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet, policyFiles } from '../../lib/policy/compile.js';
import { checkCase, fixturesOf, loadFixtures } from '../../lib/policy/fixtures.js';
import { RequestSpecError, preflight, requestOf } from '../../lib/policy/request-of.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { tempDir } from '../helpers.js';

// Fixture files: format, defaults, what is compared; and requests built as the firewall builds them.

function fixture(text: string): string {
  const file = join(tempDir('wf-fixture-'), 'f.yaml');
  writeFileSync(file, text);
  return file;
}

describe('policy fixtures', () => {
  it('live beside the policies in fixtures/, which is not read as policies', () => {
    assert.ok(fixturesOf([shippedPoliciesDir()]).length >= 6);
    assert.ok(policyFiles([shippedPoliciesDir()]).every((f) => !f.includes('/fixtures/')));
  });

  it('are checked against fixtures.schema.json, naming file and line', () => {
    const file = fixture('cases:\n  - name: a\n    robot: ops\n    app: helpdesk\n    payload: {}\n    expect: {action: allow, rule: default}\n  - name: b\n    robot: ops\n    payload: {}\n    expect: {action: allow, rule: default, errcod: 1}\n');
    const { problems } = loadFixtures([file]);
    assert.ok(problems.some((p) => p.startsWith(`${file}:2: `) && /\/cases\/0: .*robot, app or bot/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith(`${file}:10: `) && /errcod: unknown key/.test(p)), problems.join('\n'));
  });

  it('refuse a case without a robot or app, a path the firewall does not serve, a route that needs a path, and repeated names', () => {
    const file = fixture(`cases:
  - {name: a, payload: {}, expect: {action: allow, rule: default}}
  - {name: b, robot: ops, path: /cgi-bin/nope, payload: {}, expect: {action: allow, rule: default}}
  - {name: c, app: h, route: app.admin, payload: {}, expect: {action: allow, rule: default}}
  - {name: c, robot: ops, payload: {}, expect: {action: allow, rule: default}}
`);
    const { problems, files } = loadFixtures([file]);
    assert.deepEqual(problems.map((p) => p.replace(`${file}:`, '')), [
      '2: case "a": give a robot, an app or a bot',
      '3: case "b": path /cgi-bin/nope is not a robot path',
      '4: case "c": route app.admin has several paths: give the path (e.g. /cgi-bin/user/delete)',
      '5: case "c": name already used in this file',
    ]);
    assert.equal(files[0]!.cases.length, 1);
  });

  it('take defaults per group: a case naming an app replaces the default robot; a path replaces the default route', () => {
    const file = fixture(`defaults: {robot: ops, route: webhook.upload_media, caller: ci}
cases:
  - {name: upload, payload: {type: file}, expect: {action: allow, rule: default}}
  - {name: app call, app: helpdesk, path: /cgi-bin/user/delete, payload: {userid: x}, expect: {action: approve, rule: guard.app.admin.delete}}
`);
    const [a, b] = loadFixtures([file]).files[0]!.cases;
    assert.deepEqual([a!.request.robot, a!.request.route, a!.request.msgtype, a!.request.caller], ['ops', 'webhook.upload_media', 'file', 'ci']);
    assert.deepEqual([b!.request.app, b!.request.robot, b!.request.route, b!.request.caller], ['helpdesk', undefined, 'app.admin', 'ci']);
  });

  it('compare action and rule, and errcode and monitored only when given', () => {
    const set = new PolicySet([shippedPoliciesDir()]);
    const file = fixture(`defaults: {robot: ops}
cases:
  - {name: right, payload: {msgtype: text, text: {content: ""}}, expect: {action: reject, rule: wecom.content.empty}}
  - {name: wrong errcode, payload: {msgtype: text, text: {content: ""}}, expect: {action: reject, rule: wecom.content.empty, errcode: 40058}}
  - {name: wrong rule, payload: {msgtype: text, text: {content: hi}}, expect: {action: allow, rule: wecom.text}}
  - {name: no monitor hits, payload: {msgtype: text, text: {content: hi}}, expect: {action: allow, rule: default, monitored: []}}
`);
    const results = loadFixtures([file]).files[0]!.cases.map((c) => checkCase(set, c));
    assert.deepEqual(results.map((r) => r.ok), [true, false, false, true]);
    assert.deepEqual(results[1]!.got, { action: 'reject', rule: 'wecom.content.empty', errcode: 44004 });
  });

  it('build requests as the firewall routes them', () => {
    assert.deepEqual(requestOf({ app: 'h', path: '/cgi-bin/externalcontact/list', payload: { userid: 'x' } }), { route: 'app.other', path: '/cgi-bin/externalcontact/list', app: 'h', caller: '127.0.0.1', msgtype: undefined, payload: { userid: 'x' } });
    assert.equal(requestOf({ app: 'h', route: 'app.appchat_send', payload: { msgtype: 'markdown' } }).msgtype, 'markdown');
    assert.throws(() => requestOf({ robot: 'r', route: 'app.message_send', payload: {} }), /not a robot path/);
    assert.throws(() => requestOf({ robot: 'r', bot: 'b', payload: {} }), RequestSpecError);
    const dir = tempDir('wf-fixture-');
    mkdirSync(join(dir, 'fixtures'));
    assert.deepEqual(fixturesOf([dir]), []);
  });

  it('build bot frames as the bot transport does: the command is the path, its route from lib/request/bot-route.ts', () => {
    const reply = { msgtype: 'stream', stream: { id: 's', content: 'hi' } };
    assert.deepEqual(requestOf({ bot: 'assistant', payload: reply }), { route: 'bot.respond_msg', path: 'aibot_respond_msg', bot: 'assistant', caller: '127.0.0.1', msgtype: 'stream', payload: reply });
    assert.deepEqual(
      [requestOf({ bot: 'a', route: 'bot.send_msg', payload: {} }).path, requestOf({ bot: 'a', route: 'bot.upload_media', payload: {} }).path, requestOf({ bot: 'a', route: 'bot.respond_update_msg', payload: {} }).path],
      ['aibot_send_msg', 'aibot_upload_media_init', 'aibot_respond_update_msg'],
    );
    assert.equal(requestOf({ bot: 'a', path: 'aibot_get_mcp_config', payload: {} }).route, 'bot.other');
    assert.equal(requestOf({ bot: 'a', path: 'something_new', payload: {} }).route, 'bot.other');
    assert.equal(requestOf({ bot: 'a', route: 'bot.upload_media', payload: { type: 'voice', media: { filename: 'a.amr', size: 9 } } }).msgtype, 'voice');
    const refused: Array<[Parameters<typeof requestOf>[0], RegExp]> = [
      [{ bot: 'a', route: 'bot.other', payload: {} }, /give the path/],
      [{ bot: 'a', path: 'aibot_upload_media_chunk', payload: {} }, /judged once, at aibot_upload_media_init/],
      [{ bot: 'a', path: 'ping', payload: {} }, /never judged/],
      [{ bot: 'a', path: '/cgi-bin/webhook/send', payload: {} }, /not a bot command/],
      [{ bot: 'a', route: 'bot.send_msg', path: 'aibot_respond_msg', payload: {} }, /is route bot.respond_msg, not bot.send_msg/],
      [{ robot: 'r', path: 'aibot_send_msg', payload: {} }, /give a bot/],
      [{ app: 'h', route: 'bot.send_msg', payload: {} }, /give a bot/],
    ];
    for (const [spec, message] of refused) assert.throws(() => requestOf(spec), (err: unknown) => err instanceof RequestSpecError && message.test(err.message), JSON.stringify(spec));
  });

  it('say what the firewall refuses before policies: a bot frame whose body is not a JSON object', () => {
    assert.match(preflight(requestOf({ bot: 'a', route: 'bot.send_msg', payload: ['x'] }))!, /^40058 /);
    assert.equal(preflight(requestOf({ bot: 'a', route: 'bot.send_msg', payload: { chatid: 'x' } })), undefined);
    assert.equal(preflight(requestOf({ bot: 'a', route: 'bot.upload_media', payload: { type: 'file' } })), undefined);
  });

  it('take a bot from a case or from the defaults, a case naming a robot replacing it', () => {
    const file = fixture(`defaults: {bot: assistant, caller: ci}
cases:
  - {name: reply, payload: {msgtype: stream, stream: {id: s, content: hi}}, expect: {action: allow, rule: default}}
  - {name: command, path: aibot_get_mcp_config, payload: {}, expect: {action: reject, rule: guard.bot.unlisted-command}}
  - {name: robot, robot: ops, payload: {msgtype: text, text: {content: hi}}, expect: {action: allow, rule: default}}
`);
    const { files, problems } = loadFixtures([file]);
    assert.deepEqual(problems, []);
    const [a, b, c] = files[0]!.cases;
    const both = fixture('cases:\n  - {name: both, robot: ops, bot: assistant, payload: {}, expect: {action: allow, rule: default}}\n');
    assert.match(loadFixtures([both]).problems.join('\n'), /:2: \/cases\/0: /);
    assert.deepEqual([a?.request.bot, a?.request.route, a?.request.caller], ['assistant', 'bot.respond_msg', 'ci']);
    assert.deepEqual([b?.request.route, b?.request.path], ['bot.other', 'aibot_get_mcp_config']);
    assert.deepEqual([c?.request.robot, c?.request.bot, c?.request.route], ['ops', undefined, 'webhook.send']);
  });
});
