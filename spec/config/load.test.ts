import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, resolveConfig } from '../../lib/config/load.js';
import { parseDuration, parseRate, parseSize } from '../../lib/config/units.js';
import { tempDir } from '../helpers.js';

const env = { OPS_KEY: 'real-ops-key-1234', ADMIN: 'x'.repeat(40) };
const minimal = { robots: { ops: { key: '${env:OPS_KEY}' } } };

function problems(input: unknown, e: NodeJS.ProcessEnv = env): string[] {
  try {
    resolveConfig(input, { env: e });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('config was accepted');
}

describe('config', () => {
  it('fills every default for a minimal config', () => {
    const c = resolveConfig(minimal, { env, baseDir: '/srv/fw' });
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(c.upstream.href, 'https://qyapi.weixin.qq.com/');
    assert.equal(c.dataDir, '/srv/fw/data');
    assert.equal(c.robots.get('ops')?.key, 'real-ops-key-1234');
    assert.deepEqual(c.robots.get('ops')?.limit, { points: 20, durationSec: 60, text: '20/min' });
    assert.equal(c.approvals.ttlMs, 30 * 60_000);
    assert.equal(c.admin, undefined);
    assert.equal(c.audit.dir, '/srv/fw/data/audit');
  });

  it('resolves approval notifications, and refuses an unknown notify robot or a missing publicUrl', () => {
    const admin = { jwtSecret: '${env:ADMIN}', publicUrl: 'https://fw.example:8443/' };
    const c = resolveConfig({ ...minimal, admin, approvals: { notify: { robot: 'ops' }, keepDecided: '7d' } }, { env });
    assert.deepEqual(c.approvals.notify, { robot: 'ops', linkTtlMs: 15 * 60_000 });
    assert.equal(c.approvals.keepDecidedMs, 7 * 86_400_000);
    assert.equal(c.admin?.publicUrl, 'https://fw.example:8443');
    assert.match(problems({ ...minimal, admin, approvals: { notify: { robot: 'opss' } } }).join('\n'), /\/approvals\/notify\/robot.*"ops"/);
    assert.match(problems({ ...minimal, admin: { jwtSecret: '${env:ADMIN}' }, approvals: { notify: { robot: 'ops' } } }).join('\n'), /publicUrl/);
    assert.match(problems({ ...minimal, admin: { ...admin, publicUrl: 'https://fw.example/#x' } }).join('\n'), /\/admin\/publicUrl/);
  });

  it('refuses an unknown key and names the likely intended one', () => {
    const [p] = problems({ ...minimal, robots: { ops: { key: '${env:OPS_KEY}', limt: '5/min' } } });
    assert.match(p!, /\/robots\/ops\/limt/);
    assert.match(p!, /did you mean "limit"/);
    const [q] = problems({ ...minimal, upstreem: 'http://x' });
    assert.match(q!, /did you mean "upstream"/);
  });

  it('refuses an inline secret instead of a reference, without echoing it', () => {
    const [p] = problems({ robots: { ops: { key: 'real-secret-value-999' } } });
    assert.match(p!, /secret reference/);
    assert.doesNotMatch(p!, /real-secret-value-999/);
  });

  it('names a missing environment variable and an unreadable secret file', () => {
    assert.match(problems(minimal, {})[0]!, /OPS_KEY is not set/);
    assert.match(problems({ robots: { ops: { key: '${file:/nonexistent/key}' } } })[0]!, /cannot read secret file/);
  });

  it('reads a secret from a file, trimmed', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'key'), 'file-key-5678\n');
    const c = resolveConfig({ robots: { ops: { key: `\${file:${join(dir, 'key')}}` } } }, { env });
    assert.equal(c.robots.get('ops')?.key, 'file-key-5678');
  });

  it('refuses a whole webhook URL stored as the key', () => {
    const [p] = problems(minimal, { OPS_KEY: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc' });
    assert.match(p!, /whole webhook URL/);
    assert.doesNotMatch(p!, /key=abc/);
  });

  it('refuses a short admin secret and bad units', () => {
    assert.match(problems({ ...minimal, admin: { jwtSecret: '${env:SHORT}' } }, { ...env, SHORT: 'abc' })[0]!, /32 characters/);
    assert.ok(problems({ ...minimal, limits: { global: '20 per minute' } }).some((p) => p.includes('/limits/global')));
    assert.ok(problems({ ...minimal, listen: 'nonsense' }).some((p) => p.includes('/listen')));
  });

  it('resolves apps, and refuses a client secret equal to the real corpsecret', () => {
    const app = { corpId: 'ww1', corpSecret: '${env:REAL}', agentId: 1000002, clientSecret: '${env:CLIENT}' };
    const c = resolveConfig({ ...minimal, apps: { helpdesk: app } }, { env: { ...env, REAL: 'real-corp-secret', CLIENT: 'client-secret' } });
    assert.equal(c.apps.get('helpdesk')?.corpSecret, 'real-corp-secret');
    assert.equal(c.apps.get('helpdesk')?.agentId, 1000002);
    assert.match(problems({ ...minimal, apps: { helpdesk: app } }, { ...env, REAL: 'same', CLIENT: 'same' })[0]!, /must differ from corpSecret/);
    assert.match(problems({ ...minimal, apps: { helpdesk: { ...app, agentId: '1000002' } } }, { ...env, REAL: 'a', CLIENT: 'b' })[0]!, /\/apps\/helpdesk\/agentId/);
    assert.match(problems({ ...minimal, apps: { helpdesk: { ...app, corpSecret: 'inline-secret' } } }, env)[0]!, /secret reference/);
  });

  it('names file and line for a problem in a YAML file', () => {
    const dir = tempDir();
    const file = join(dir, 'firewall.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:8080\nrobots:\n  ops:\n    key: ${env:OPS_KEY}\n    limitt: 20/min\n');
    assert.throws(() => loadConfigFile(file, env), (err: ConfigError) => err.problems.some((p) => p.startsWith(`${file}:`) && /did you mean "limit"/.test(p)));
    writeFileSync(file, 'listen: [unclosed\n');
    assert.throws(() => loadConfigFile(file, env), /YAML syntax error/);
  });
});

describe('units', () => {
  it('parses rates, durations and sizes', () => {
    assert.deepEqual(parseRate('20/min'), { points: 20, durationSec: 60, text: '20/min' });
    assert.equal(parseRate('5/s').durationSec, 1);
    assert.equal(parseRate('1000/hour').durationSec, 3600);
    assert.throws(() => parseRate('0/min'));
    assert.throws(() => parseRate('20/fortnight'));
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('6s'), 6000);
    assert.throws(() => parseDuration('6'));
    assert.equal(parseSize('4mb'), 4 * 1024 * 1024);
    assert.equal(parseSize(100), 100);
  });
});
