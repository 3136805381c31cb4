import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lintPolicies, type LintContext } from '../../lib/policy/lint.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { tempDir } from '../helpers.js';

// `policy lint`: each check on a small policy set, as [check, rule, severity] triples.

const DEFAULT = 'default: {action: allow, reason: nothing above objected}\n';

function lint(rules: string, context: LintContext = {}): Array<[string, string | undefined, string]> {
  const dir = tempDir('wf-lint-');
  writeFileSync(join(dir, 'p.yaml'), `rules:\n${rules}${DEFAULT}`);
  return lintPolicies([dir], context)
    .findings.filter((f) => f.check !== 'monitor')
    .map((f) => [f.check, f.rule, f.severity]);
}

/** A rule in flow style; `extra` is spliced in before action. */
const rule = (name: string, extra: string, action = 'reject') => `  - {name: ${name}, description: a rule for the lint specs, ${extra}${extra ? ', ' : ''}action: ${action}, reason: what the agent should do instead}\n`;

describe('policy lint', () => {
  it('finds nothing in the shipped packs, with or without config names', () => {
    assert.deepEqual(lintPolicies([shippedPoliciesDir()]).findings, []);
    assert.deepEqual(lintPolicies([shippedPoliciesDir()], { robots: [], apps: [], callers: 'loopback', groups: new Map() }).findings, []);
  });

  const cases: Array<[string, string, LintContext, Array<[string, string | undefined, string]>]> = [
    ['a rule after an unconditional rule with a broader match is shadowed', rule('all-ops', 'match: {robots: [ops]}') + rule('ops-text', 'match: {robots: [ops], msgtypes: [text]}, condition: {anyStringMatches: x}'), {}, [['shadowed', 'ops-text', 'error']]],
    ['a rule after one with the same match and the same condition (keys in another order) is shadowed', rule('a', 'match: {msgtypes: [text]}, condition: {required: [text], properties: {text: {type: object}}}') + rule('b', 'match: {msgtypes: [text]}, condition: {properties: {text: {type: object}}, required: [text]}'), {}, [['shadowed', 'b', 'error']]],
    ['routes and paths are understood through the router: routes [webhook.send] covers paths [/cgi-bin/webhook/send]', rule('all-sends', 'match: {routes: [webhook.send]}') + rule('sends', 'match: {paths: [/cgi-bin/webhook/send]}, condition: {anyStringMatches: x}'), {}, [['shadowed', 'sends', 'error']]],
    ['condition: {} is no condition', rule('a', 'match: {robots: [ops]}, condition: {}') + rule('b', 'match: {robots: [ops]}, violates: {maxProperties: 3}'), {}, [['shadowed', 'b', 'error']]],
    ['a narrower earlier rule does not shadow', rule('ops-text', 'match: {robots: [ops], msgtypes: [text]}') + rule('all-ops', 'match: {robots: [ops]}, condition: {anyStringMatches: x}'), {}, []],
    ['a different condition does not shadow (no subsumption proof)', rule('a', 'condition: {anyStringMatches: x}') + rule('b', 'condition: {anyStringMatches: xy}'), {}, []],
    ['a monitor rule does not shadow', rule('a', 'mode: monitor, match: {robots: [ops]}') + rule('b', 'match: {robots: [ops]}, condition: {anyStringMatches: x}'), {}, []],
    ['robots with apps never match', rule('a', 'match: {robots: [ops], apps: [helpdesk]}'), {}, [['never-matches', 'a', 'error']]],
    ['msgtypes on a route without one never match', rule('a', 'match: {routes: [app.admin], msgtypes: [text]}'), {}, [['never-matches', 'a', 'error']]],
    ['a path outside the routes listed never matches', rule('a', 'match: {routes: [webhook.send], paths: [/cgi-bin/message/send]}'), {}, [['never-matches', 'a', 'error']]],
    ['condition: false never applies', rule('a', 'condition: false'), {}, [['never-applies', 'a', 'error']]],
    ['an allow rule with no match and no condition allows everything (and shadows what follows)', rule('yes', '', 'allow') + rule('later', 'condition: {anyStringMatches: x}'), {}, [['allow-everything', 'yes', 'error'], ['shadowed', 'later', 'error']]],
    ['an allow rule for a whole robot is a broad allow', rule('oncall', 'match: {robots: [oncall]}', 'allow'), {}, [['broad-allow', 'oncall', 'warning']]],
    ['an allow rule for one path, or with a condition, is not broad', rule('list', 'match: {routes: [app.other], paths: [/cgi-bin/user/list]}', 'allow') + rule('oncall', 'match: {robots: [oncall]}, condition: {anyStringMatches: x}', 'allow'), {}, []],
    ['placeholder and short descriptions and reasons are warnings', '  - {name: a, description: TODO, condition: {anyStringMatches: y}, action: reject, reason: no}\n  - {name: b, description: b, condition: {anyStringMatches: x}, action: reject, reason: tbd later}\n', {}, [['weak-description', 'a', 'warning'], ['weak-reason', 'a', 'warning'], ['weak-description', 'b', 'warning'], ['weak-reason', 'b', 'warning']]],
    ['with config names: unknown robots, apps and callers', rule('a', 'match: {robots: [opps]}') + rule('b', 'match: {apps: [helpdesk]}') + rule('c', 'match: {callers: [ci-bot]}'), { robots: ['ops'], apps: [], callers: ['ci'] }, [['unknown-robot', 'a', 'error'], ['unknown-app', 'b', 'error'], ['unknown-caller', 'c', 'error']]],
    ['without callers: in the config, a caller must be a loopback address', rule('a', 'match: {callers: [127.0.0.1, "::1"]}') + rule('b', 'match: {callers: [10.0.0.9]}'), { robots: [], apps: [], callers: 'loopback' }, [['unknown-caller', 'b', 'error']]],
    ['robots with bots, and bots on an HTTP route, never match', rule('a', 'match: {robots: [ops], bots: [assistant]}') + rule('b', 'match: {bots: [assistant], routes: [webhook.send]}') + rule('c', 'match: {robots: [ops], paths: [aibot_send_msg]}'), {}, [['never-matches', 'a', 'error'], ['never-matches', 'b', 'error'], ['never-matches', 'c', 'error']]],
    ['a bot command that is never judged on its own never matches', rule('a', 'match: {paths: [aibot_upload_media_chunk]}') + rule('b', 'match: {paths: [ping]}'), {}, [['never-matches', 'a', 'error'], ['never-matches', 'b', 'error']]],
    ['bot routes and commands are understood too: routes [bot.other] covers paths [aibot_get_mcp_config]', rule('other', 'match: {routes: [bot.other]}') + rule('mcp', 'match: {paths: [aibot_get_mcp_config]}', 'allow'), {}, [['shadowed', 'mcp', 'error']]],
    ['... and paths [aibot_send_msg] covers routes [bot.send_msg]', rule('send', 'match: {paths: [aibot_send_msg]}') + rule('md', 'match: {routes: [bot.send_msg], msgtypes: [markdown]}, condition: {anyStringMatches: x}'), {}, [['shadowed', 'md', 'error']]],
    ['an approve rule for bot uploads only is an error: they cannot be parked', rule('park-init', 'match: {bots: [assistant], paths: [aibot_upload_media_init]}, condition: {anyStringMatches: x}', 'approve') + rule('park-uploads', 'match: {routes: [bot.upload_media]}', 'approve'), {}, [['approve-bot-upload', 'park-init', 'error'], ['approve-bot-upload', 'park-uploads', 'error']]],
    ['an approve rule whose match also fits bot uploads is a warning', rule('park-files', 'match: {msgtypes: [file]}', 'approve') + rule('park-bot', 'match: {bots: [assistant]}, condition: {anyStringMatches: x}', 'approve'), {}, [['approve-bot-upload', 'park-files', 'warning'], ['approve-bot-upload', 'park-bot', 'warning']]],
    ['an approve rule that leaves bot uploads out is fine', rule('park-send', 'match: {routes: [bot.send_msg, webhook.upload_media]}', 'approve') + rule('park-robot', 'match: {robots: [ops]}, condition: {anyStringMatches: y}', 'approve') + rule('refuse', 'match: {routes: [bot.upload_media]}'), {}, []],
    ['with config names: unknown bots', rule('a', 'match: {bots: [asistant]}'), { robots: [], apps: [], bots: ['assistant'] }, [['unknown-bot', 'a', 'error']]],
    ['what the firewall would refuse to load is a format error', '  - {name: a, description: d, action: allow, reason: x, violate: {}}\n', {}, [['format', undefined, 'error']]],
    ['an unknown approver group is a format error with config groups', '  - {name: a, description: a rule for the lint specs, action: approve, approval: {approvers: ["group:sec"]}, reason: what the agent should do instead}\n', { groups: new Map([['ops', ['alice']]]) }, [['format', undefined, 'error'], ['format', undefined, 'error']]],
    ['... and unchecked without config groups (the rule, matching everything, would also park bot uploads)', '  - {name: a, description: a rule for the lint specs, action: approve, approval: {approvers: ["group:sec"]}, reason: what the agent should do instead}\n', {}, [['approve-bot-upload', 'a', 'warning']]],
  ];
  for (const [name, rules, context, expected] of cases) {
    it(name, () => assert.deepEqual(lint(rules, context), expected));
  }

  it('says which checks were skipped without a config, and names file and line', () => {
    const dir = tempDir('wf-lint-');
    writeFileSync(join(dir, 'p.yaml'), `rules:\n${rule('all', 'match: {robots: [ops]}')}${rule('text', 'match: {robots: [ops], msgtypes: [text]}')}${DEFAULT}`);
    const result = lintPolicies([dir]);
    assert.ok(result.skipped.some((s) => /unknown-robot.*no --config/.test(s)));
    const [finding] = result.findings;
    assert.equal(finding?.location, `${join(dir, 'p.yaml')}:3`);
    assert.match(finding!.message, /rule "all" \(line 2\) comes first.*has no condition/);
  });

  it('notes monitor rules (info, never a failure)', () => {
    const dir = tempDir('wf-lint-');
    writeFileSync(join(dir, 'p.yaml'), `rules:\n${rule('try', 'mode: monitor')}${DEFAULT}`);
    assert.deepEqual(lintPolicies([dir]).findings.map((f) => [f.check, f.severity]), [['monitor', 'info']]);
  });
});
