import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPublicAddress, resolvePublic, type Lookup } from '../../lib/egress/addresses.js';
import { isWecomHost, parseAuthority, targetOf } from '../../lib/egress/hosts.js';
import { FirewallError } from '../../lib/errors.js';

// Where a CONNECT may go: plain data in, a decision out. The wire is in spec/e2e/egress.test.ts.

describe('CONNECT targets', () => {
  const tunnel = new Set(['api.openai.com']);
  const kind = (authority: string) => {
    const a = parseAuthority(authority);
    return a ? targetOf(a, tunnel).kind : 'invalid';
  };

  it('intercepts WeCom\'s two hosts, tunnels listed ones, on port 443 only, and refuses the rest', () => {
    assert.equal(kind('qyapi.weixin.qq.com:443'), 'intercept');
    assert.equal(kind('QYAPI.weixin.qq.com.:443'), 'intercept');
    assert.equal(kind('openws.work.weixin.qq.com:443'), 'intercept');
    assert.equal(kind('api.openai.com:443'), 'tunnel');
    for (const refused of ['qyapi.weixin.qq.com:80', 'api.openai.com:22', 'example.com:443', '127.0.0.1:443', '[::1]:443', '169.254.169.254:443']) assert.equal(kind(refused), 'refuse', refused);
    for (const invalid of ['qyapi.weixin.qq.com', 'a b:443', 'user@host:443', '[not-ip]:443', 'host:0', 'host:70000', 'http://x:443']) assert.equal(kind(invalid), 'invalid', invalid);
  });

  it("treats every name under weixin.qq.com as WeCom's (never tunnelled blind)", () => {
    for (const h of ['qyapi.weixin.qq.com', 'work.weixin.qq.com', 'weixin.qq.com', 'A.WEIXIN.QQ.COM.']) assert.ok(isWecomHost(h), h);
    for (const h of ['qq.com', 'weixin.qq.com.evil.example', 'notweixin.qq.com']) assert.ok(!isWecomHost(h), h);
  });
});

describe('blind tunnel addresses', () => {
  it('refuses loopback, private, link-local, CGNAT, multicast, reserved and their IPv6 forms', () => {
    const refused = ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '240.0.0.1', '198.18.0.1', '192.0.2.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd12::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:a00:1::1', '2001:db8::1', 'not-an-ip'];
    for (const a of refused) assert.equal(isPublicAddress(a), false, a);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:93.184.216.34']) assert.equal(isPublicAddress(a), true, a);
  });

  it('resolves the name itself and refuses it if any answer is special (rebinding), naming the address', async () => {
    const answers: Record<string, string[]> = { ok: ['93.184.216.34', '2606:4700::1111'], mixed: ['93.184.216.34', '10.0.0.1'], none: [] };
    const lookup: Lookup = async (host) => {
      if (!(host in answers)) throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
      return answers[host]!.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    assert.deepEqual(await resolvePublic('ok', lookup), { address: '93.184.216.34', family: 4 });
    const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: FirewallError) => `${e.code}: ${e.message}`);
    assert.match(await code(resolvePublic('mixed', lookup)), /^EGRESS_ADDRESS_REFUSED: .*mixed resolves to 10\.0\.0\.1/);
    assert.match(await code(resolvePublic('none', lookup)), /^EGRESS_TUNNEL_FAILED: .*none has no address/);
    assert.match(await code(resolvePublic('gone', lookup)), /^EGRESS_TUNNEL_FAILED: .*gone does not resolve \(ENOTFOUND\)/);
  });
});
