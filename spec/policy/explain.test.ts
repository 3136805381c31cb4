import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet } from '../../lib/policy/compile.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { fixtureFiles, loadFixtures } from '../../lib/policy/fixtures.js';
import { formatExplanation } from '../../lib/policy/explain.js';
import { requestOf } from '../../lib/policy/request-of.js';
import { tempDir } from '../helpers.js';
import { SHIPPED_FIXTURES_DIR } from './pack-fixtures.js';

// PolicySet.explain: the same evaluation as decide, rule by rule.

const shipped = new PolicySet([shippedPoliciesDir()]);

describe('PolicySet.explain', () => {
  it('reaches the same decision as decide for every shipped fixture case (no drift)', () => {
    const { files } = loadFixtures(fixtureFiles([SHIPPED_FIXTURES_DIR]));
    for (const c of files.flatMap((f) => f.cases)) {
      const x = shipped.explain(c.request);
      assert.deepEqual(x.decision, shipped.decide(c.request), c.name);
      const decided = x.steps.filter((s) => s.reached && s.outcome === 'decided');
      assert.deepEqual(decided.map((s) => s.rule), x.decision.rule === 'default' ? [] : [x.decision.rule], c.name);
      assert.equal(x.steps.length, shipped.rules.length);
    }
  });

  it('says for every rule whether its match fits and why not, and gives schema failures as JSON pointers', () => {
    const x = shipped.explain(requestOf({ robot: 'ops', payload: { msgtype: 'text', text: { content: 42, mentioned_list: 'x' } } }), { allErrors: true });
    const step = (name: string) => x.steps.find((s) => s.rule === name)!;
    assert.deepEqual(step('wecom.markdown').match, { fits: false, field: 'msgtypes', why: 'msgtypes: msgtype "text" is not in [markdown]' });
    assert.deepEqual(step('app.text').match.field, 'paths');
    const t = step('wecom.text');
    assert.deepEqual([t.match.fits, t.outcome, t.reached, t.test?.kind, t.test?.valid], [true, 'decided', true, 'violates', false]);
    // allErrors: both failures, not only the first one the agent is told
    assert.deepEqual(t.test!.failures.map((f) => f.pointer).sort(), ['/text/content', '/text/mentioned_list']);
    assert.equal(x.decision.rule, 'wecom.text');
    assert.match(x.decision.detail!, /^\/text\/content must be string/);
    // rules after the decision are evaluated but marked not reached
    assert.ok(x.steps.slice(x.steps.indexOf(t) + 1).every((s) => !s.reached));
  });

  it('names the missing robot of an app request', () => {
    const dir = tempDir('wf-explain-');
    writeFileSync(join(dir, 'p.yaml'), `rules:\n  - {name: ops-only, description: only for the ops robot, match: {robots: [ops]}, action: reject, reason: no}\ndefault: {action: allow, reason: fine}\n`);
    const x = new PolicySet([dir]).explain(requestOf({ app: 'helpdesk', payload: { msgtype: 'text', text: { content: 'hi' } } }));
    assert.match(x.steps[0]!.match.why!, /the request has no robot \(an app route\)/);
  });

  it('explains a bot frame: the bot and its command, and why robot and app rules skip it', () => {
    const dir = tempDir('wf-explain-');
    writeFileSync(join(dir, 'p.yaml'), `rules:\n  - {name: ops-only, description: only for the ops robot, match: {robots: [ops]}, action: reject, reason: no}\n  - {name: ops-bot, description: only for the ops bot, match: {bots: [ops]}, action: reject, reason: no}\ndefault: {action: allow, reason: fine}\n`);
    const x = new PolicySet([dir]).explain(requestOf({ bot: 'assistant', route: 'bot.send_msg', payload: { chatid: 'zhangsan', msgtype: 'markdown', markdown: { content: 'hi' } } }));
    assert.deepEqual(x.request, { route: 'bot.send_msg', path: 'aibot_send_msg', bot: 'assistant', caller: '127.0.0.1', msgtype: 'markdown' });
    assert.deepEqual(x.steps.map((s) => s.match.field), ['robots', 'bots']);
    assert.match(x.steps[0]!.match.why!, /\(a bot route\)/);
    assert.match(formatExplanation(x), /request: bot\.send_msg aibot_send_msg bot=assistant caller=127\.0\.0\.1 msgtype=markdown/);
  });

  it('renders a readable account: each considered rule, the decision, and later rules that would also apply', () => {
    const text = formatExplanation(shipped.explain(requestOf({ robot: 'ops', payload: { msgtype: 'text', text: { content: 'key AKIAIOSFODNN7EXAMPLE', mentioned_list: ['@all'] } } })));
    assert.match(text, /HIT +\d+ +guard\.credential\.aws-access-key +condition holds: applies → reject 9900001/);
    assert.match(text, /decision: reject \(errcode 9900001\) by rule guard\.credential\.aws-access-key \(pack guardrails\)/);
    assert.match(text, /these would also apply: guard\.mass-mention \(approve\)/);
  });
});
