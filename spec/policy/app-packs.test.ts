import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicySet } from '../../lib/policy/compile.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { ALLOW, approve, caseRunner, reject, type Case } from '../fixtures/decisions.js';
import { fixtureSpecs } from './pack-fixtures.js';

// The shipped packs for the self-built-app API (policies/15-app-contract.yaml and
// 25-app-guardrails.yaml), decided through the real engine together with every other shipped
// pack, as the firewall loads them. The case tables are the packs' fixture files
// (policies/fixtures/*.yaml, also run by `wecom-firewall policy test`); this file adds the cases
// whose payloads are built from thousands of characters or recipients. Every case asserts the
// action, the deciding rule and the errcode only.

const policies = new PolicySet([shippedPoliciesDir()]);
const runCases = caseRunner(policies);

const AGENTID = 1000002;
const CJK = '中'; // 3 UTF-8 bytes
const TEXT = { content: '你的快递已到，请携带工卡前往邮件中心领取。' };

/** message/send with a valid envelope (one userid, the app's agentid) unless overridden. */
function message(msgtype: string, inner: unknown, envelope: Record<string, unknown> = {}): PolicyRequest {
  const body = { touser: 'zhangsan', agentid: AGENTID, msgtype, [msgtype]: inner, ...envelope };
  return { route: 'app.message_send', path: '/cgi-bin/message/send', app: 'notify', caller: 'agent', msgtype, payload: body };
}
function appchat(msgtype: string, inner: unknown): PolicyRequest {
  const body = { chatid: 'CHAT0001', msgtype, [msgtype]: inner, safe: 0 };
  return { route: 'app.appchat_send', path: '/cgi-bin/appchat/send', app: 'notify', caller: 'agent', msgtype, payload: body };
}
const webhook = (body: Record<string, unknown>): PolicyRequest => ({ route: 'webhook.send', path: '/cgi-bin/webhook/send', robot: 'team', caller: 'agent', msgtype: body.msgtype as string, payload: body });
/** message/send text to these recipients only. */
function to(envelope: Record<string, unknown>): PolicyRequest {
  return { ...message('text', TEXT), payload: { agentid: AGENTID, msgtype: 'text', text: TEXT, ...envelope } };
}
const items = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));
const users = (n: number) => items(n, (i) => `user${i}`).join('|');
const ids = (n: number) => items(n, (i) => String(i + 1)).join('|');

describe('shipped app packs', () => {
  it('load in name order between the webhook packs, with the single default (allow)', () => {
    const packs = [...new Set(policies.rules.map((r) => r.pack))];
    assert.deepEqual(packs, ['wecom-contract', 'app-contract', 'bot-contract', 'guardrails', 'app-guardrails', 'bot-guardrails']);
    assert.equal(policies.defaultDecision.action, 'allow');
  });

  fixtureSpecs(policies, ['15-app-contract.yaml', '25-app-guardrails.yaml']);

  describe('recipient counts (generated: too long for the fixture files)', () => {
    runCases([
      ['1001 userids', to({ touser: users(1001) }), reject('app.recipients.touser', 40058)],
      ['toparty of 101 departments', to({ toparty: ids(101) }), reject('app.recipients.toparty', 40058)],
      ['totag of 101 tags', to({ totag: ids(101) }), reject('app.recipients.totag', 40058)],
      ['totag of 101 tags beside a valid touser', to({ touser: 'zhangsan', totag: ids(101) }), reject('app.recipients.totag', 40058)],
      ['100 departments are parked', to({ toparty: ids(100) }), approve('guard.app.mass-send.department')],
      ['1000 userids are parked', to({ touser: users(1000) }), approve('guard.app.mass-send.many-users')],
      ['50 userids are not a mass send', to({ touser: users(50) }), ALLOW],
      ['contract first: 1001 userids are refused, not parked', to({ touser: users(1001) }), reject('app.recipients.touser', 40058)],
      ['contract first: over-long text to @all', to({ touser: '@all', text: { content: 'a'.repeat(2049) } }), reject('app.text', 40058)],
    ]);
  });

  describe('text and markdown byte limits (generated)', () => {
    const cases: Case[] = [];
    for (const [route, send] of [['message/send', message], ['appchat/send', appchat]] as const) {
      for (const msgtype of ['text', 'markdown']) {
        cases.push(
          [`${route} ${msgtype} of 2048 bytes (682 CJK + 2)`, send(msgtype, { content: CJK.repeat(682) + 'ab' }), ALLOW],
          [`${route} ${msgtype} of 2049 bytes (683 CJK)`, send(msgtype, { content: CJK.repeat(683) }), reject(`app.${msgtype}`, 40058)],
        );
      }
    }
    cases.push(['webhook markdown of 4096 bytes is still allowed (the app limit is 2048)', webhook({ msgtype: 'markdown', markdown: { content: 'a'.repeat(4096) } }), ALLOW]);
    runCases(cases);
  });
});
