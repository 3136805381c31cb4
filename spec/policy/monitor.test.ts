import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet } from '../../lib/policy/compile.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { startStack, tempDir, text, until, type Stack } from '../helpers.js';

// mode: monitor: a rule whose decision is recorded as "would have" and not enforced; evaluation goes
// on to the next rule. One audit record per request: the enforced decision's, with why.monitor.

const DEFAULT = 'default:\n  action: allow\n  reason: nothing above objected\n';

function policyDir(text: string): string {
  const dir = tempDir('wf-monitor-');
  writeFileSync(join(dir, 'p.yaml'), text);
  return dir;
}

const req = (content: string, over: Partial<PolicyRequest> = {}): PolicyRequest => ({
  route: 'webhook.send',
  path: '/cgi-bin/webhook/send',
  robot: 'ops',
  caller: '127.0.0.1',
  msgtype: 'text',
  payload: { msgtype: 'text', text: { content } },
  ...over,
});

const RULES = `rules:
  - name: try.no-deploy-word
    description: trying out a refusal of the word deploy before enforcing it
    mode: monitor
    condition: { anyStringMatches: deploy }
    action: reject
    reason: deploy announcements go to the releases robot
  - name: try.park-long
    description: trying out parking long texts
    mode: monitor
    violates: { properties: { text: { properties: { content: { maxBytes: 20 } } } } }
    action: approve
    reason: long texts wait for a human
  - name: no-passwords
    description: refuses messages with a password in them
    condition: { anyStringMatches: hunter2 }
    action: reject
    reason: never post passwords
${DEFAULT}`;

describe('mode: monitor', () => {
  const set = new PolicySet([policyDir(RULES)]);

  it('is compiled from the rule (default enforce)', () => {
    assert.deepEqual(set.rules.map((r) => r.mode), ['monitor', 'monitor', 'enforce']);
  });

  it('records what a monitor rule would have decided and goes on to the next rule', () => {
    const d = set.decide(req('deploy finished'));
    assert.deepEqual([d.action, d.rule], ['allow', 'default']);
    assert.deepEqual(d.monitored, [{ rule: 'try.no-deploy-word', pack: 'p', would: 'reject' }]);
  });

  it('lists every monitor rule that applied, in order, with the schema failure of a violates-rule, beside an enforced decision', () => {
    const d = set.decide(req('deploy of hunter2 is finished now'));
    assert.deepEqual([d.action, d.rule, d.errcode], ['reject', 'no-passwords', 9900001]);
    assert.deepEqual(d.monitored?.map((m) => [m.rule, m.would]), [['try.no-deploy-word', 'reject'], ['try.park-long', 'approve']]);
    assert.match(d.monitored![1]!.detail!, /^\/text\/content must NOT have more than 20 UTF-8 bytes/);
  });

  it('leaves decisions without monitor hits as they were (no monitored key, the default object itself)', () => {
    const d = set.decide(req('hi'));
    assert.equal(d.monitored, undefined);
    assert.equal(d, set.defaultDecision);
  });

  it('is refused with a suggestion when misspelt', () => {
    assert.throws(() => new PolicySet([policyDir(`rules:\n  - {name: r, description: d, mode: monitoring, action: reject, reason: x}\n${DEFAULT}`)]), /mode.*must be equal to one of the allowed values/);
  });

  describe('through the firewall: audited on the request\'s own record and counted in metrics', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ policies: [shippedPoliciesDir(), policyDir(RULES.replace(DEFAULT, ''))] });
    });
    after(() => stack.close());

    it('forwards the message, and the one audit record carries why.monitor', async () => {
      const answer = await stack.send('ops', text('deploy finished'));
      assert.equal(answer.status, 200);
      const id = answer.headers.get('x-request-id')!;
      const records = () =>
        readFileSync(join(stack.dataDir, 'audit', 'audit.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes(id))
          .map((l) => JSON.parse(l) as { decision: string; why?: { rule?: string; monitor?: unknown } });
      const mine = await until('the request\'s audit record', () => records().length > 0 && records()); // written just after the answer
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.decision, 'forwarded');
      assert.equal(mine[0]!.why?.rule, 'default');
      assert.deepEqual(mine[0]!.why?.monitor, [{ rule: 'try.no-deploy-word', would: 'reject' }]);

      const metrics = await fetch(`${stack.server.adminUrl}/metrics`).then((r) => r.text());
      assert.match(metrics, /wecom_firewall_policy_monitor_total\{rule="try.no-deploy-word",would="reject"\} 1/);
    });
  });
});
