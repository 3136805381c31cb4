import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, readConfigInput, resolveConfig } from '../../lib/config/load.js';
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

  it('reads a relative secret file from beside the config file, not the working directory', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ops-key'), 'beside-the-config-1\n');
    writeFileSync(join(dir, 'firewall.yaml'), 'robots:\n  ops:\n    key: ${file:./ops-key}\n');
    assert.equal(loadConfigFile(join(dir, 'firewall.yaml'), {}).robots.get('ops')?.key, 'beside-the-config-1');
  });

  it('reads ${file:$CREDENTIALS_DIRECTORY/NAME} from the directory systemd names (LoadCredential=), and says so when it is unset', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ops-key'), 'credential-key-42\n');
    const input = { robots: { ops: { key: '${file:$CREDENTIALS_DIRECTORY/ops-key}' } } };
    assert.equal(resolveConfig(input, { env: { CREDENTIALS_DIRECTORY: dir } }).robots.get('ops')?.key, 'credential-key-42');
    assert.match(problems(input, {})[0]!, /\/robots\/ops\/key: \$CREDENTIALS_DIRECTORY\/ops-key needs CREDENTIALS_DIRECTORY, which systemd sets for a unit with LoadCredential=/);
    assert.match(problems(input, { CREDENTIALS_DIRECTORY: join(dir, 'nope') })[0]!, /cannot read secret file .*\/nope\/ops-key: ENOENT/);
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

describe('config: callers, listeners', () => {
  const TOKEN = 'caller-token-0123456789abcdef';
  const withToken = { ...env, CALLER_TOKEN: TOKEN };

  it('fills the listener defaults: no TLS, loopback-only admin, the server limits', () => {
    const c = resolveConfig({ ...minimal, admin: { jwtSecret: '${env:ADMIN}' } }, { env });
    assert.deepEqual(c.server, { headersTimeoutMs: 15_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxHeaderSize: 16_384, maxConnections: 1024 });
    assert.equal(c.tls, undefined);
    assert.equal(c.admin?.allowPublic, false);
    assert.equal(c.callers.configured, false);
    assert.deepEqual(c.callers.names, []);
  });

  it('compiles callers and registers their tokens for redaction', () => {
    const c = resolveConfig({ ...minimal, callers: { 'openclaw-prod': { from: ['10.0.0.0/24', '::1/128'], token: '${env:CALLER_TOKEN}' }, cron: { from: ['10.1.0.7'] } }, trustedProxies: ['192.0.2.0/24'] }, { env: withToken });
    assert.deepEqual(c.callers.names, ['openclaw-prod', 'cron']);
    assert.equal(c.redactor.redact(`x ${TOKEN} y`), 'x [REDACTED] y');
  });

  it('refuses bad callers with the pointer and the fix', () => {
    const cases: Array<[unknown, NodeJS.ProcessEnv, RegExp]> = [
      [{ callers: { a: { from: ['10.0.0.0/33'] } } }, env, /\/callers\/a\/from\/0: .*prefix/],
      [{ callers: { a: {} } }, env, /\/callers\/a: .*from/],
      [{ callers: { a: { from: [] } } }, env, /\/callers\/a\/from/],
      [{ callers: { a: { from: ['10.0.0.1'], token: TOKEN } } }, env, /\/callers\/a\/token: .*secret reference/],
      [{ callers: { a: { from: ['10.0.0.1'], token: '${env:SHORT}' } } }, { ...env, SHORT: 'too-short' }, /\/callers\/a\/token: .*16/],
      [{ callers: { a: { from: ['10.0.0.1'], token: '${env:MISSING}' } } }, env, /\/callers\/a\/token: .*MISSING/],
      [{ callers: { a: { from: ['10.0.0.0/24'] }, b: { from: ['10.0.0.5'] } } }, env, /\/callers\/b\/from: .*a and b/],
      [{ callers: { a: { from: ['10.0.0.1'], frm: [] } } }, env, /did you mean "from"/],
      [{ trustedProxies: ['proxy.internal'] }, env, /\/trustedProxies\/0: /],
    ];
    for (const [input, e, pattern] of cases) assert.match(problems({ ...minimal, ...(input as object) }, e).join('\n'), pattern, JSON.stringify(input));
    assert.ok(!problems({ ...minimal, callers: { a: { from: ['10.0.0.1'], token: '${env:SHORT}' } } }, { ...env, SHORT: 'too-short' }).join('\n').includes('too-short'), 'a rejected token is not echoed');
  });

  it('keeps the admin listener on loopback unless admin.allowPublic is set', () => {
    const admin = { jwtSecret: '${env:ADMIN}' };
    for (const listen of ['127.0.0.1:8081', '127.0.0.2:8081', '[::1]:8081', 'localhost:8081', 8081]) {
      assert.doesNotThrow(() => resolveConfig({ ...minimal, admin: { ...admin, listen } }, { env }), String(listen));
    }
    for (const listen of ['0.0.0.0:8081', '[::]:8081', '10.0.0.1:8081', 'firewall.internal:8081']) {
      assert.match(problems({ ...minimal, admin: { ...admin, listen } }).join('\n'), /\/admin\/listen: .*allowPublic/, String(listen));
    }
    const c = resolveConfig({ ...minimal, admin: { ...admin, listen: '0.0.0.0:8081', allowPublic: true } }, { env });
    assert.equal(c.admin?.allowPublic, true);
  });

  it('refuses server limits that would not hold', () => {
    assert.match(problems({ ...minimal, server: { headersTimeout: '0s' } }).join('\n'), /\/server: .*more than 0/);
    assert.match(problems({ ...minimal, server: { headersTimeout: '2m', requestTimeout: '1m' } }).join('\n'), /\/server: .*headersTimeout/);
    assert.match(problems({ ...minimal, server: { maxHeaderSize: 100 } }).join('\n'), /\/server: .*maxHeaderSize/);
    assert.match(problems({ ...minimal, server: { maxConnections: 0 } }).join('\n'), /\/server\/maxConnections/);
    assert.match(problems({ ...minimal, server: { headersTimout: '1s' } }).join('\n'), /did you mean "headersTimeout"/);
    const c = resolveConfig({ ...minimal, server: { headersTimeout: '5s', requestTimeout: '30s', keepAliveTimeout: '2s', maxHeaderSize: '8kb', maxConnections: 100 } }, { env });
    assert.deepEqual(c.server, { headersTimeoutMs: 5000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 2000, maxHeaderSize: 8192, maxConnections: 100 });
  });

  it('reads TLS files relative to the config and refuses missing or mismatched ones', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cert.pem'), 'not a certificate');
    writeFileSync(join(dir, 'key.pem'), 'not a key');
    assert.match(problems({ ...minimal, tls: { cert: './nope.pem', key: './key.pem' } }).join('\n'), /\/tls: .*cannot read the certificate file .*nope\.pem: ENOENT/);
    const p = (() => {
      try {
        resolveConfig({ ...minimal, admin: { jwtSecret: '${env:ADMIN}', tls: { cert: './cert.pem', key: './key.pem' } } }, { env, baseDir: dir });
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    })();
    assert.match(p, /\/admin\/tls: .*not a PEM certificate/);
    assert.match(problems({ ...minimal, tls: { cert: './cert.pem' } }).join('\n'), /\/tls: .*key/);
  });

  it('resolves egress: a listen default, tunnel host names, and a CA checked as a pair with its name constraints', async () => {
    const c = resolveConfig({ ...minimal, egress: { tunnel: ['API.OpenAI.com.', 'hooks.slack.com'] } }, { env });
    assert.deepEqual(c.egress?.listen, { host: '127.0.0.1', port: 3128 });
    assert.deepEqual([...c.egress!.tunnel], ['api.openai.com', 'hooks.slack.com']);
    assert.equal(c.egress?.ca, undefined);
    assert.equal(resolveConfig(minimal, { env }).egress, undefined);

    const dir = tempDir();
    const { createCa } = await import('../../lib/egress/ca.js');
    const { certPem, keyPem } = await createCa();
    writeFileSync(join(dir, 'fw-ca.pem'), certPem);
    const withCa = resolveConfig({ ...minimal, egress: { listen: 3129, ca: { cert: './fw-ca.pem', key: '${env:CA_KEY}' } } }, { env: { ...env, CA_KEY: keyPem }, baseDir: dir });
    assert.equal(withCa.egress?.ca?.certFile, join(dir, 'fw-ca.pem'));
    assert.match(withCa.egress!.ca!.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('refuses WeCom hosts, addresses and URLs in egress.tunnel, and a bad CA, naming file, line and fix', async () => {
    const dir = tempDir();
    const file = join(dir, 'firewall.yaml');
    writeFileSync(
      file,
      `robots:\n  ops: { key: '\${env:OPS_KEY}' }\negress:\n  tunnel:\n    - api.openai.com\n    - qyapi.weixin.qq.com\n    - 169.254.169.254\n    - https://x.example/\n  ca: { cert: ./missing.pem, key: '\${env:CA_KEY}' }\n`,
    );
    let got: string[] = [];
    try {
      loadConfigFile(file, { ...env, CA_KEY: 'k' });
    } catch (err) {
      got = (err as ConfigError).problems;
    }
    const text = got.join('\n');
    assert.match(text, /firewall\.yaml:6.*\/egress\/tunnel\/1: "qyapi\.weixin\.qq\.com" is one of WeCom's hosts: a blind tunnel to it would bypass every policy/);
    assert.match(text, /firewall\.yaml:7.*\/egress\/tunnel\/2: "169\.254\.169\.254" is an IP address/);
    assert.match(text, /firewall\.yaml:8.*\/egress\/tunnel\/3: .* is not a host name/);
    assert.match(text, /\/egress\/ca: cannot read the CA certificate file .*missing\.pem: ENOENT/);
    assert.doesNotMatch(text, /tunnel\/0/);
    assert.match(problems({ ...minimal, egress: { tunnel: ['open.work.weixin.qq.com'] } }).join('\n'), /WeCom's hosts/);
    assert.match(problems({ ...minimal, egress: { proxy: 1 } }).join('\n'), /\/egress\/proxy: unknown key "proxy"/);
  });
});

describe('readConfigInput (a config read for one command, secrets left alone)', () => {
  it('validates the file, resolves paths as the loader does and a secret only when asked, naming its line', () => {
    const dir = tempDir();
    const file = join(dir, 'firewall.yaml');
    writeFileSync(file, 'dataDir: ./data\nrobots:\n  ops: { key: "${env:NOT_SET_HERE}" }\ncallers:\n  agent:\n    from: [127.0.0.1]\n    token: ${env:AGENT_TOKEN}\n');
    const { input, path, secret } = readConfigInput(file, { AGENT_TOKEN: 'agent-token-0123456789' });
    assert.equal(path(input.dataDir!), join(dir, 'data'));
    assert.equal(secret('/callers/agent/token', input.callers!.agent!.token!), 'agent-token-0123456789');
    assert.throws(() => secret('/robots/ops/key', input.robots!.ops!.key), (err: unknown) => err instanceof ConfigError && /firewall\.yaml:3: \/robots\/ops\/key: environment variable NOT_SET_HERE is not set/.test(err.problems[0]!));
    writeFileSync(file, 'egress:\n  lisen: 127.0.0.1:3128\n');
    assert.throws(() => readConfigInput(file), (err: unknown) => err instanceof ConfigError && /firewall\.yaml:2: \/egress\/lisen: unknown key "lisen"; did you mean "listen"\?/.test(err.problems[0]!));
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
