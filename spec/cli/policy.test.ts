import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { tempDir } from '../helpers.js';
import { policyCommand } from '../../lib/cli/policy.js';
import { UsageError } from '../../lib/cli/args.js';

// `wecom-firewall policy lint|test|explain`, run as a reviewer or CI runs them: the real CLI, its
// output and its exit code (0 fine, 1 findings or failures, 2 usage).

const cli = join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');

function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, 'policy', ...args], { env: { ...process.env, UNSET_IN_THIS_SHELL: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** A policy directory with its fixtures/ subdirectory. */
function policyDir(rules: string, fixtures?: string): string {
  const dir = tempDir('wf-cli-policy-');
  writeFileSync(join(dir, 'p.yaml'), `rules:\n${rules}default: {action: allow, reason: nothing above objected}\n`);
  if (fixtures !== undefined) {
    mkdirSync(join(dir, 'fixtures'));
    writeFileSync(join(dir, 'fixtures', 'cases.yaml'), fixtures);
  }
  return dir;
}

const NO_PASSWORDS = '  - {name: no-passwords, description: passwords never reach a chat, condition: {anyStringMatches: hunter2}, action: reject, reason: remove the password from the message}\n';

describe('wecom-firewall policy test', { concurrency: true }, () => {
  it('passes the shipped packs with their fixtures, with no arguments (exit 0)', async () => {
    const r = await run(['test']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {4}policies\/fixtures\/10-wecom-contract\.yaml: \d+ case\(s\)$/m);
    assert.match(r.stdout, /^ok {4}policies\/fixtures\/27-bot-guardrails\.yaml: \d+ case\(s\)$/m);
    assert.match(r.stdout, /^\d+ case\(s\) in 6 file\(s\): \d+ passed, 0 failed$/m);
  });

  it('gives CI a JSON report with every case and the coverage of every rule', async () => {
    const r = await run(['test', '--json']);
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout) as { ok: boolean; summary: { cases: number; failed: number }; cases: unknown[]; coverage: Array<{ hits: number }> };
    assert.equal(report.ok, true);
    assert.equal(report.summary.failed, 0);
    assert.equal(report.cases.length, report.summary.cases);
    assert.ok(report.coverage.every((c) => c.hits > 0));
  });

  it('fails (exit 1) on a fixture whose expectation is wrong, naming file, line, expected and got', async () => {
    const dir = policyDir(NO_PASSWORDS, `defaults: {robot: ops}
cases:
  - name: a password is refused
    payload: {msgtype: text, text: {content: "pw hunter2"}}
    expect: {action: reject, rule: no-passwords, errcode: 9900001}
  - name: wrongly expected to pass
    payload: {msgtype: text, text: {content: "the password is hunter2"}}
    expect: {action: allow, rule: default}
`);
    const r = await run(['test', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}\S*fixtures\/cases\.yaml:6 "wrongly expected to pass"\n +expected allow by the default\n +got {6}reject by no-passwords/);
    assert.match(r.stdout, /2 case\(s\) in 1 file\(s\): 1 passed, 1 failed/);
    const json = JSON.parse((await run(['test', dir, '--json'])).stdout) as { ok: boolean; summary: { failed: number } };
    assert.deepEqual([json.ok, json.summary.failed], [false, 1]);
  });

  it('fails on a broken fixture file, and when there are no fixtures at all', async () => {
    const broken = policyDir(NO_PASSWORDS, 'cases:\n  - {name: x, robot: ops, payload: {}, expect: {action: allw, rule: default}}\n');
    const r = await run(['test', broken]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /error: \S*cases\.yaml:2: \/cases\/0\/expect\/action: must be equal to one of the allowed values \(allow, reject, approve\)/);
    const none = await run(['test', policyDir(NO_PASSWORDS)]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /no fixture files in/);
  });

  it('runs fixtures named with --fixtures against the shipped packs', async () => {
    const file = join(tempDir('wf-cli-policy-'), 'mine.yaml');
    writeFileSync(file, 'cases:\n  - {name: aws key, robot: ops, payload: {msgtype: text, text: {content: AKIAIOSFODNN7EXAMPLE}}, expect: {action: reject, rule: guard.credential.aws-access-key}}\n');
    const r = await run(['test', '--fixtures', file]);
    assert.equal(r.code, 0, r.stdout);
  });
});

describe('wecom-firewall policy lint', { concurrency: true }, () => {
  it('passes the shipped packs (exit 0) and says what it could not check without --config', async () => {
    const r = await run(['lint']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /note: not checked: unknown-robot, unknown-app, unknown-bot, unknown-caller: no --config given/);
    assert.match(r.stdout, /^\d+ rules in 7 file\(s\): 0 error\(s\), 0 warning\(s\)$/m);
  });

  it('exits 1 on a shadowed rule, naming both rules and lines', async () => {
    const dir = policyDir(`  - {name: all-ops, description: nothing goes to the ops robot, match: {robots: [ops]}, action: reject, reason: use the team robot instead}\n${NO_PASSWORDS.replace('condition:', 'match: {robots: [ops]}, condition:')}`);
    const r = await run(['lint', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /p\.yaml:3: error \[shadowed\] rule "no-passwords": can never apply: rule "all-ops" \(line 2\) comes first/);
  });

  it('fails on warnings only with --strict', async () => {
    const dir = policyDir('  - {name: short, description: TODO, condition: {anyStringMatches: x}, action: reject, reason: no x in messages please}\n');
    assert.equal((await run(['lint', dir])).code, 0);
    const strict = await run(['lint', dir, '--strict', '--json']);
    assert.equal(strict.code, 1);
    const report = JSON.parse(strict.stdout) as { ok: boolean; warnings: number; findings: Array<{ check: string; rule: string }> };
    assert.deepEqual([report.ok, report.warnings, report.findings[0]!.check, report.findings[0]!.rule], [false, 1, 'weak-description', 'short']);
  });

  it('checks robot, app and caller names against a config whose secrets it does not resolve', async () => {
    const dir = policyDir('  - {name: to-ops, description: ops texts are refused, match: {robots: [opps], callers: [ci]}, action: reject, reason: use the team robot instead}\n');
    const config = join(dir, '..', `${dir.split('/').pop()}.yaml`);
    writeFileSync(config, `policies: [${dir}]\nrobots:\n  ops:\n    key: \${env:UNSET_IN_THIS_SHELL}\ncallers:\n  ci-runner:\n    from: [10.0.0.0/24]\n`);
    const r = await run(['lint', '--config', config]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /error \[unknown-robot\] rule "to-ops": match\.robots: unknown robot "opps" .*did you mean "ops"\?/);
    assert.match(r.stdout, /error \[unknown-caller\] rule "to-ops": match\.callers: unknown caller "ci"/);
  });

  it('checks bot aliases against the config, and flags an approve rule for bot uploads', async () => {
    const dir = policyDir('  - {name: park-bot-uploads, description: bot uploads wait for a human, match: {bots: [asistant], routes: [bot.upload_media]}, action: approve, reason: a human approves every upload}\n');
    const config = join(dir, '..', `${dir.split('/').pop()}.yaml`);
    writeFileSync(config, `policies: [${dir}]\nbots:\n  assistant:\n    botId: aib-1\n    secret: \${env:UNSET_IN_THIS_SHELL}\n    clientSecret: \${env:UNSET_IN_THIS_SHELL}\n`);
    const r = await run(['lint', '--config', config, '--json']);
    assert.equal(r.code, 1, r.stdout);
    const report = JSON.parse(r.stdout) as { findings: Array<{ check: string; severity: string; rule: string }> };
    assert.deepEqual(report.findings.map((f) => [f.check, f.severity, f.rule]), [['approve-bot-upload', 'error', 'park-bot-uploads'], ['unknown-bot', 'error', 'park-bot-uploads']]);
  });
});

describe('wecom-firewall policy explain', { concurrency: true }, () => {
  it('shows every rule considered, why, and the decision', async () => {
    const file = join(tempDir('wf-cli-policy-'), 'payload.json');
    writeFileSync(file, JSON.stringify({ msgtype: 'markdown', markdown: { content: 'x'.repeat(5000) } }));
    const r = await run(['explain', '--robot', 'ops', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /request: webhook\.send \/cgi-bin\/webhook\/send robot=ops caller=127\.0\.0\.1 msgtype=markdown/);
    assert.match(r.stdout, /pass +1 +wecom\.msgtype\.unknown +payload is valid against "violates": does not apply/);
    assert.match(r.stdout, /skip +3 +wecom\.text +match does not fit: msgtypes: msgtype "markdown" is not in \[text\]/);
    assert.match(r.stdout, /HIT +4 +wecom\.markdown +violates: \/markdown\/content must NOT have more than 4096 UTF-8 bytes → reject 40058/);
    assert.match(r.stdout, /decision: reject \(errcode 40058\) by rule wecom\.markdown \(pack wecom-contract\)/);
    assert.match(r.stdout, /not reached: \d+ later rule\(s\); of those, none would apply/);
  });

  it('reads the payload from stdin and answers JSON, with --app, --path and --caller', async () => {
    const r = await run(['explain', '--app', 'helpdesk', '--path', '/cgi-bin/user/delete', '--caller', 'ci', '--json', '-'], '{"userid":"zhangsan"}');
    assert.equal(r.code, 0, r.stderr);
    const x = JSON.parse(r.stdout) as { request: { route: string; caller: string }; decision: { action: string; rule: string }; steps: Array<{ rule: string; reached: boolean; match: { fits: boolean } }> };
    assert.deepEqual([x.request.route, x.request.caller, x.decision.action, x.decision.rule], ['app.admin', 'ci', 'approve', 'guard.app.admin.delete']);
    assert.ok(x.steps.some((s) => s.reached && !s.match.fits));
  });

  it('explains a bot frame with --bot and --route, and a command with --path', async () => {
    const r = await run(['explain', '--bot', 'assistant', '--route', 'bot.send_msg', '--json', '-'], JSON.stringify({ chatid: 'wrkSFfCgAAtest', msgtype: 'markdown', markdown: { content: '<@all> 发布完成' } }));
    assert.equal(r.code, 0, r.stderr);
    const x = JSON.parse(r.stdout) as { request: { route: string; path: string; bot: string }; decision: { action: string; rule: string } };
    assert.deepEqual([x.request.route, x.request.path, x.request.bot, x.decision.action, x.decision.rule], ['bot.send_msg', 'aibot_send_msg', 'assistant', 'approve', 'guard.bot.mass-mention']);
    const other = await run(['explain', '--bot', 'assistant', '--path', 'aibot_get_mcp_config', '-'], '{"biz_type":"doc"}');
    assert.match(other.stdout, /request: bot\.other aibot_get_mcp_config bot=assistant/);
    assert.match(other.stdout, /decision: reject \(errcode 9900001\) by rule guard\.bot\.unlisted-command/);
    const array = await run(['explain', '--bot', 'assistant', '-'], '[]');
    assert.match(array.stdout, /note: the firewall refuses this request before any policy runs \(40058 /);
  });

  it('notes what the firewall refuses before any policy runs', async () => {
    const r = await run(['explain', '--robot', 'ops', '-'], '{"text":{"content":"hi"}}');
    assert.match(r.stdout, /note: the firewall refuses this request before any policy runs \(40008 .*msgtype is missing/);
  });
});

describe('wecom-firewall policy usage', { concurrency: true }, () => {
  it('exits 2 on an unknown verb or option, with the usage', async () => {
    for (const [args, message] of [[['frobnicate'], /policy needs history, rollback, lint, test or explain/], [['lint', '--frobnicate'], /Unknown option '--frobnicate'/]] as const) {
      const r = await run([...args]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /policy explain \(--robot NAME \| --app NAME \| --bot NAME\)/);
    }
  });

  // The other usage errors in-process: main.ts turns every UsageError into exit 2 (above).
  const usage: Array<[string, string[], RegExp]> = [
    ['explain without --robot, --app or --bot', ['explain', 'x.json'], /needs --robot NAME, --app NAME or --bot NAME/],
    ['explain with two of them', ['explain', '--robot', 'a', '--bot', 'b', 'x.json'], /needs --robot NAME, --app NAME or --bot NAME/],
    ['a chunk of an upload for a bot', ['explain', '--bot', 'a', '--path', 'aibot_upload_media_chunk', join(packageRoot(), 'package.json')], /judged once/],
    ['explain without a payload', ['explain', '--robot', 'a'], /needs a payload file/],
    ['a payload that is not JSON', ['explain', '--robot', 'ops', join(packageRoot(), 'README.md')], /is not JSON/],
    ['an app path for a robot', ['explain', '--robot', 'ops', '--path', '/cgi-bin/message/send', join(packageRoot(), 'package.json')], /is not a robot path/],
    ['a config file that does not exist', ['lint', '--config', '/nonexistent/firewall.yaml'], /no config file/],
    ['history without --config', ['history'], /needs --config FILE/],
  ];
  for (const [name, args, message] of usage) {
    it(`is a usage error: ${name}`, () => {
      assert.throws(() => policyCommand(args, () => {}), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }

  it('keeps history working beside the new verbs', () => {
    const dir = tempDir('wf-cli-policy-');
    writeFileSync(join(dir, 'firewall.yaml'), 'dataDir: ./data\n');
    let out = '';
    assert.equal(policyCommand(['history', '--config', join(dir, 'firewall.yaml')], (s) => (out += s)), 0);
    assert.match(out, /no saved policy sets/);
  });
});
