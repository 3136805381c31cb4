import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyError, PolicySet } from '../../lib/policy/compile.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { tempDir } from '../helpers.js';

function policyDir(files: Record<string, string>): string {
  const dir = tempDir('wf-policy-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const req = (payload: Record<string, unknown>, over: Partial<PolicyRequest> = {}): PolicyRequest => ({
  route: 'webhook.send',
  path: '/cgi-bin/webhook/send',
  robot: 'ops',
  caller: '127.0.0.1',
  msgtype: payload.msgtype as string,
  payload,
  ...over,
});

const DEFAULT = 'default:\n  action: allow\n  reason: nothing above objected\n';

describe('PolicySet', () => {
  it('first matching rule wins, then the explicit default', () => {
    const dir = policyDir({
      'a.yaml': `rules:
  - name: long-text
    description: text over 10 bytes
    match: { msgtypes: [text] }
    violates: { properties: { text: { properties: { content: { maxBytes: 10 } } } } }
    action: reject
    errcode: 40058
    reason: too long
  - name: everything-text
    description: park every text
    match: { msgtypes: [text] }
    action: approve
    reason: all text is parked
`,
      'z.yaml': DEFAULT,
    });
    const set = new PolicySet([dir]);
    const long = set.decide(req({ msgtype: 'text', text: { content: '一二三四' } }));
    assert.equal(long.rule, 'long-text');
    assert.equal(long.action, 'reject');
    assert.equal(long.errcode, 40058);
    assert.match(long.detail!, /^\/text\/content /);
    assert.equal(set.decide(req({ msgtype: 'text', text: { content: 'short' } })).rule, 'everything-text');
    const other = set.decide(req({ msgtype: 'markdown', markdown: { content: 'x' } }));
    assert.deepEqual([other.rule, other.action], ['default', 'allow']);
  });

  it('matches on robots, callers and paths, and on condition schemas', () => {
    const dir = policyDir({
      'p.yaml': `rules:
  - name: ops-from-ci
    description: the ci caller may not use ops
    match: { robots: [ops], callers: [10.0.0.9], paths: [/cgi-bin/webhook/send] }
    action: reject
    reason: ci uses its own robot
  - name: secret-word
    description: a condition that must hold
    condition: { anyStringMatches: "hunter2" }
    action: reject
    reason: no passwords
${DEFAULT}`,
    });
    const set = new PolicySet([dir], { robots: ['ops', 'team'] });
    const msg = { msgtype: 'text', text: { content: 'hi' } };
    assert.equal(set.decide(req(msg, { caller: '10.0.0.9' })).rule, 'ops-from-ci');
    assert.equal(set.decide(req(msg, { caller: '10.0.0.9', robot: 'team' })).rule, 'default');
    assert.equal(set.decide(req({ msgtype: 'news', news: { articles: [{ title: 'pw is hunter2' }] } })).rule, 'secret-word');
    assert.equal(set.decide(req(msg)).errcode, undefined);
    assert.equal(set.decide(req({ msgtype: 'text', text: { content: 'hunter2' } })).errcode, 9900001);
  });

  it('matches bot frames on bots, bot routes and commands (paths), and keeps them apart from robots', () => {
    const dir = policyDir({
      'p.yaml': `rules:
  - name: mcp-for-assistant
    description: the assistant bot may fetch its MCP configuration
    match: { bots: [assistant], routes: [bot.other], paths: [aibot_get_mcp_config] }
    action: allow
    reason: allowed for the assistant
  - name: no-bot-uploads
    description: bots do not upload files
    match: { routes: [bot.upload_media], msgtypes: [file] }
    action: reject
    reason: send a link instead
  - name: ops-bot-only
    description: only the ops bot, on every bot route
    match: { bots: [ops] }
    action: approve
    reason: the ops bot is parked
${DEFAULT}`,
    });
    const set = new PolicySet([dir], { bots: ['assistant', 'ops'] });
    const bot = (over: Partial<PolicyRequest>): PolicyRequest => ({ route: 'bot.other', path: 'aibot_get_mcp_config', bot: 'assistant', caller: '127.0.0.1', payload: {}, ...over });
    assert.equal(set.decide(bot({})).rule, 'mcp-for-assistant');
    assert.equal(set.decide(bot({ path: 'ww_ai_robot_enter_event' })).rule, 'default');
    assert.equal(set.decide(bot({ bot: 'helper' })).rule, 'default');
    assert.equal(set.decide(bot({ route: 'bot.upload_media', path: 'aibot_upload_media_init', msgtype: 'file' })).rule, 'no-bot-uploads');
    assert.equal(set.decide(bot({ bot: 'ops', route: 'bot.send_msg', path: 'aibot_send_msg' })).rule, 'ops-bot-only');
    // a robot named like a bot is not that bot
    assert.equal(set.decide(req({ msgtype: 'text', text: { content: 'hi' } }, { robot: 'ops' })).rule, 'default');
  });

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['no default', { 'a.yaml': 'rules: []\n' }, /no default decision/],
    ['two defaults', { 'a.yaml': DEFAULT, 'b.yaml': DEFAULT }, /a second default/],
    ['a rule without description', { 'a.yaml': `rules:\n  - name: r\n    action: allow\n    reason: x\n${DEFAULT}` }, /description/],
    ['an unknown rule key with a suggestion', { 'a.yaml': `rules:\n  - name: r\n    description: d\n    action: allow\n    reason: x\n    violate: {}\n${DEFAULT}` }, /did you mean "violates"/],
    ['an unknown schema keyword', { 'a.yaml': `rules:\n  - name: r\n    description: d\n    condition: { maxLenght: 3 }\n    action: reject\n    reason: x\n${DEFAULT}` }, /rule "r" \(\/rules\/0\/condition\).*maxLenght/],
    ['both condition and violates', { 'a.yaml': `rules:\n  - name: r\n    description: d\n    condition: {}\n    violates: {}\n    action: reject\n    reason: x\n${DEFAULT}` }, /must NOT be valid/],
    ['a duplicate rule name', { 'a.yaml': `rules:\n  - {name: r, description: d, action: allow, reason: x}\n  - {name: r, description: d, action: allow, reason: x}\n${DEFAULT}` }, /already used/],
    ['an unknown robot', { 'a.yaml': `rules:\n  - {name: r, description: d, match: {robots: [opps]}, action: allow, reason: x}\n${DEFAULT}` }, /unknown robot "opps"; did you mean "ops"/],
    ['an unknown bot', { 'a.yaml': `rules:\n  - {name: r, description: d, match: {bots: [asistant]}, action: allow, reason: x}\n${DEFAULT}` }, /unknown bot "asistant"; did you mean "assistant"/],
    ['an unknown route', { 'a.yaml': `rules:\n  - {name: r, description: d, match: {routes: [bot.respond]}, action: allow, reason: x}\n${DEFAULT}` }, /\/rules\/0\/match\/routes\/0/],
    ['an errcode on a non-reject rule', { 'a.yaml': `rules:\n  - {name: r, description: d, action: approve, errcode: 40058, reason: x}\n${DEFAULT}` }, /only for action: reject/],
    ['a YAML syntax error', { 'a.yaml': 'rules: [\n' }, /a\.yaml:\d+:\d+: YAML syntax error/],
  ];
  for (const [name, files, pattern] of bad) {
    it(`refuses to load ${name}, naming file and place`, () => {
      const dir = policyDir(files);
      assert.throws(
        () => new PolicySet([dir], { robots: ['ops'], bots: ['assistant'] }),
        (err: unknown) => err instanceof PolicyError && err.problems.some((p) => pattern.test(p)) && err.problems.every((p) => p.startsWith(dir)),
      );
    });
  }

  it('refuses a path that does not exist', () => {
    assert.throws(() => new PolicySet(['/nonexistent/policies']), PolicyError);
  });
});
