import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type http from 'node:http';
import { decodeJwt } from 'jose';
import { tokenCommand } from '../../lib/cli/token.js';
import { UsageError } from '../../lib/cli/args.js';
import { createAuthenticator } from '../../lib/http/auth.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { ADMIN_SECRET, spawnCli, tempDir } from '../helpers.js';

// `wecom-firewall token`: a token the admin API accepts, for approvers only, from admin.jwtSecret
// only, without resolving any other secret of the config.

const POLICY = `rules:
  - name: token-spec.releases
    description: release notes are reviewed by carol or the leads
    match: { robots: [ops] }
    condition: { required: [text], properties: { text: { properties: { content: { pattern: "^release" } } } } }
    action: approve
    approval: { approvers: [carol, "group:leads"] }
    reason: release notes are reviewed
`;

describe('wecom-firewall token', { concurrency: true }, () => {
  let dir: string;
  before(() => {
    dir = tempDir('wf-cli-token-');
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', '50-releases.yaml'), POLICY);
    mkdirSync(join(dir, 'bad-policies'));
    writeFileSync(join(dir, 'bad-policies', '50-bad.yaml'), 'rules:\n  - name: bad\n    action: frobnicate\n');
    mkdirSync(join(dir, 'credentials'));
    writeFileSync(join(dir, 'credentials', 'admin-jwt-secret'), `${ADMIN_SECRET}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A config whose robot key and corpsecret resolve nowhere: only admin.jwtSecret may be read. */
  const config = (name: string, admin: string, policies = './policies') => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `dataDir: ./data
policies: [${JSON.stringify(shippedPoliciesDir())}, ${policies}]
robots:
  ops:
    key: \${env:UNSET_ROBOT_KEY}
  releases:
    key: \${file:/nonexistent/releases-key}
${admin}
approvals:
  approvers: [alice]
  groups: { leads: [dave] }
`,
    );
    return file;
  };
  const run = async (args: string[], env: NodeJS.ProcessEnv = { SPEC_ADMIN_SECRET: ADMIN_SECRET }) => {
    let stdout = '';
    let stderr = '';
    const code = await tokenCommand(args, (s) => (stdout += s), (s) => (stderr += s), env);
    return { code, stdout, stderr };
  };
  const accepted = async (token: string) => {
    const authenticate = createAuthenticator({ listen: { host: '127.0.0.1', port: 0 }, allowPublic: false, jwtSecret: new TextEncoder().encode(ADMIN_SECRET) });
    return authenticate({ headers: { authorization: `Bearer ${token}` } } as http.IncomingMessage);
  };
  const ADMIN = 'admin:\n  jwtSecret: ${env:SPEC_ADMIN_SECRET}';

  for (const [who, sub] of [
    ['approvals.approvers', 'alice'],
    ['a group member', 'dave'],
    ["a rule's approval.approvers", 'carol'],
  ] as const) {
    it(`prints a token the admin API accepts for ${who} (${sub}), resolving no other secret`, async () => {
      const r = await run(['--config', config(`ok-${sub}`, ADMIN), '--sub', sub]);
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.trim();
      assert.equal(r.stdout, `${token}\n`, 'stdout is the token alone, for $(wecom-firewall token ...)');
      assert.deepEqual(await accepted(token), { sub });
      const claims = decodeJwt(token);
      assert.equal(claims.exp! - claims.iat!, 8 * 3600, 'default ttl 8h');
      assert.match(r.stderr, new RegExp(`token for approver "${sub}", valid until `));
      assert.doesNotMatch(r.stderr + r.stdout.replace(token, ''), new RegExp(ADMIN_SECRET));
    });
  }

  it('takes --ttl, and reads the secret from a $CREDENTIALS_DIRECTORY file (systemd LoadCredential=)', async () => {
    const file = config('credentials', 'admin:\n  jwtSecret: ${file:$CREDENTIALS_DIRECTORY/admin-jwt-secret}');
    const r = await run(['--config', file, '--sub', 'alice', '--ttl', '30m'], { CREDENTIALS_DIRECTORY: join(dir, 'credentials') });
    assert.equal(r.code, 0, r.stderr);
    const claims = decodeJwt(r.stdout.trim());
    assert.equal(claims.exp! - claims.iat!, 1800);
    assert.deepEqual(await accepted(r.stdout.trim()), { sub: 'alice' });
    const unset = await run(['--config', file, '--sub', 'alice'], {});
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /admin\.jwtSecret: \$CREDENTIALS_DIRECTORY\/admin-jwt-secret needs CREDENTIALS_DIRECTORY/);
  });

  const refused: Array<[string, () => [string, string, NodeJS.ProcessEnv?], RegExp]> = [
    ['a sub that is no approver anywhere, with a suggestion', () => [config('stranger', ADMIN), 'alcie'], /"alcie" is not an approver in .*: the admin API would refuse its token; did you mean "alice"\?/],
    ['a config with only admin.jwks', () => [config('jwks', 'admin:\n  jwks: { url: "https://idp.example.com/jwks.json", issuer: "https://idp.example.com", audience: wecom-firewall }'), 'alice'], /takes approvers' tokens from an identity provider \(admin\.jwks, issuer https:\/\/idp\.example\.com\): get one there/],
    ['a config without admin:', () => [config('no-admin', ''), 'alice'], /has no admin: section/],
    ['an unset secret variable', () => [config('unset', ADMIN), 'alice', {}], /admin\.jwtSecret: environment variable SPEC_ADMIN_SECRET is not set/],
    ['a secret under 32 characters', () => [config('short', ADMIN), 'alice', { SPEC_ADMIN_SECRET: 'short-secret' }], /needs at least 32 characters/],
    ['a sub only a policy that does not load might name', () => [config('broken', ADMIN, './bad-policies'), 'zed'], /the policies of .* do not load, so the approvers their rules name are unknown:\n  .*50-bad\.yaml/],
  ];
  for (const [name, setup, message] of refused) {
    it(`refuses (exit 1) ${name}`, async () => {
      const [file, sub, env] = setup();
      const r = await run(['--config', file, '--sub', sub], env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /short-secret|spec-admin-secret/);
    });
  }

  const usage: Array<[string, string[], RegExp]> = [
    ['no --config', ['--sub', 'alice'], /token needs --config FILE/],
    ['no --sub', ['--config', 'x.yaml'], /token needs --sub NAME/],
    ['a ttl over 12h', ['--config', 'x.yaml', '--sub', 'alice', '--ttl', '13h'], /--ttl must be between 1s and 12h/],
    ['a ttl that is no duration', ['--config', 'x.yaml', '--sub', 'alice', '--ttl', 'soon'], /--ttl: invalid duration "soon"/],
    ['a config that does not exist', ['--config', '/nonexistent/firewall.yaml', '--sub', 'alice'], /no config file/],
    ['an unknown option', ['--config', 'x.yaml', '--sub', 'alice', '--secret', 'x'], /Unknown option '--secret'/],
  ];
  for (const [name, args, message] of usage) {
    it(`is a usage error: ${name}`, async () => {
      await assert.rejects(run(args), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }

  it('exits 0 with the token, 1 when refused and 2 on a usage error, from the command line', async () => {
    const ok = spawnCli(['token', '--config', config('cli', ADMIN), '--sub', 'alice'], { SPEC_ADMIN_SECRET: ADMIN_SECRET });
    assert.equal(await ok.exited, 0, ok.output());
    assert.match(ok.output(), /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n/);
    const no = spawnCli(['token', '--config', config('cli-no', ADMIN), '--sub', 'mallory'], { SPEC_ADMIN_SECRET: ADMIN_SECRET });
    assert.equal(await no.exited, 1, no.output());
    const bad = spawnCli(['token', '--sub', 'alice']);
    assert.equal(await bad.exited, 2, bad.output());
  });
});
