import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { CallerRefused, compileCallers, tokenInQuery, type CallerSpec } from '../../lib/callers/identify.js';
import { splitTokenPrefix } from '../../lib/request/route.js';
import { parseAddress } from '../../lib/callers/cidr.js';
import { parseProxyAuthorization } from '../../lib/callers/proxied.js';

const PROD_TOKEN = 'prod-token-0123456789abcdef';
const CI_TOKEN = 'ci-token-fedcba9876543210';

function compile(specs: CallerSpec[], trusted: string[] = []) {
  const problems: string[] = [];
  const callers = compileCallers(specs, trusted, (pointer, message) => problems.push(`${pointer}: ${message}`));
  return { callers, problems };
}

const TABLE: CallerSpec[] = [
  { name: 'openclaw-prod', from: ['10.0.0.0/24', '::1/128'], token: PROD_TOKEN },
  { name: 'ci', from: ['10.0.0.0/16'], token: CI_TOKEN },
  { name: 'cron', from: ['10.1.0.0/24'] },
  { name: 'ipv6-host', from: ['2001:db8::/64'] },
];
const { callers } = compile(TABLE, ['192.0.2.0/24', '2001:db8:ffff::1']);

function request(peer: string | undefined, init: { headers?: http.IncomingHttpHeaders; url?: string } = {}): http.IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: init.headers ?? {}, url: init.url ?? '/cgi-bin/webhook/send?key=ops' } as unknown as http.IncomingMessage;
}

/** The caller's name, or the refusal's code. */
function who(peer: string | undefined, init: { headers?: http.IncomingHttpHeaders; url?: string; pathToken?: string } = {}, table = callers): string {
  try {
    return table.identify(request(peer, init), init.pathToken);
  } catch (err) {
    assert.ok(err instanceof CallerRefused, String(err));
    assert.equal(err.status, 403);
    for (const t of [PROD_TOKEN, CI_TOKEN]) assert.ok(!err.reason.includes(t) && !err.message.includes(t) && !err.who.includes(t), 'a refusal never carries a token');
    return err.code;
  }
}

describe('who is calling', () => {
  describe('with no callers configured', () => {
    const none = compile([]).callers;
    it('lets loopback call, named by its address (IPv4-mapped folded)', () => {
      assert.equal(who('127.0.0.1', {}, none), '127.0.0.1');
      assert.equal(who('127.9.9.9', {}, none), '127.9.9.9');
      assert.equal(who('::1', {}, none), '::1');
      assert.equal(who('::ffff:127.0.0.1', {}, none), '127.0.0.1');
    });
    it('refuses anyone else, a token, and a socket without an address', () => {
      assert.equal(who('10.0.0.1', {}, none), 'UNKNOWN_CALLER');
      assert.equal(who('::ffff:10.0.0.1', {}, none), 'UNKNOWN_CALLER');
      assert.equal(who('2001:db8::1', {}, none), 'UNKNOWN_CALLER');
      assert.equal(who('127.0.0.1', { headers: { 'x-firewall-token': PROD_TOKEN } }, none), 'UNKNOWN_CALLER');
      assert.equal(who('127.0.0.1', { pathToken: PROD_TOKEN }, none), 'UNKNOWN_CALLER');
      assert.equal(who(undefined, {}, none), 'UNKNOWN_CALLER');
    });
    it('ignores X-Forwarded-For: a remote client cannot claim to be loopback', () => {
      assert.equal(who('10.0.0.1', { headers: { 'x-forwarded-for': '127.0.0.1' } }, none), 'UNKNOWN_CALLER');
      assert.equal(who('127.0.0.1', { headers: { 'x-forwarded-for': '10.9.9.9' } }, none), '127.0.0.1');
    });
  });

  it('names a tokenless caller by its address', () => {
    assert.equal(who('10.1.0.7'), 'cron');
    assert.equal(who('::ffff:10.1.0.7'), 'cron');
    assert.equal(who('2001:db8::42'), 'ipv6-host');
  });

  it('names a caller by its token, from the header or the path prefix, inside its from', () => {
    assert.equal(who('10.0.0.5', { headers: { 'x-firewall-token': PROD_TOKEN } }), 'openclaw-prod');
    assert.equal(who('::1', { headers: { 'x-firewall-token': PROD_TOKEN } }), 'openclaw-prod');
    assert.equal(who('10.0.0.5', { pathToken: PROD_TOKEN }), 'openclaw-prod');
    assert.equal(who('10.0.0.5', { pathToken: PROD_TOKEN, headers: { 'x-firewall-token': PROD_TOKEN } }), 'openclaw-prod');
    // overlapping from: the token decides
    assert.equal(who('10.0.0.5', { headers: { 'x-firewall-token': CI_TOKEN } }), 'ci');
    assert.equal(who('10.0.9.5', { headers: { 'x-firewall-token': CI_TOKEN } }), 'ci');
  });

  it('refuses every other combination with one code', () => {
    const cases: Array<[string, string | undefined, Parameters<typeof who>[1]]> = [
      ['an address in no from', '203.0.113.9', {}],
      ['a wrong token', '10.0.0.5', { headers: { 'x-firewall-token': 'wrong-token-0123456789abcdef' } }],
      ['a token that is a prefix of the right one', '10.0.0.5', { headers: { 'x-firewall-token': PROD_TOKEN.slice(0, -1) } }],
      ['an empty token', '10.0.0.5', { headers: { 'x-firewall-token': '' } }],
      ['the right token from outside its from', '10.0.9.5', { headers: { 'x-firewall-token': PROD_TOKEN } }],
      ['a tokenless caller\'s address with a token', '10.1.0.7', { headers: { 'x-firewall-token': PROD_TOKEN } }],
      ['a token caller\'s address without its token', '10.0.0.5', {}],
      ['two different tokens', '10.0.0.5', { pathToken: CI_TOKEN, headers: { 'x-firewall-token': PROD_TOKEN } }],
      ['the header given twice', '10.0.0.5', { headers: { 'x-firewall-token': [PROD_TOKEN, PROD_TOKEN] } as unknown as http.IncomingHttpHeaders }],
    ];
    for (const [what, peer, init] of cases) assert.equal(who(peer, init), 'UNKNOWN_CALLER', what);
  });

  it('refuses a caller token in the query string, whatever the case or encoding', () => {
    for (const q of ['token=x', 'key=ops&token=x', 'x_firewall_token=x', 'X-Firewall-Token=x', 'firewall_token=x', 'caller-token=x', '%74oken=x', 'x%5ffirewall%5ftoken=x', 'TOKEN']) {
      assert.equal(who('10.0.0.5', { url: `/cgi-bin/webhook/send?${q}`, headers: { 'x-firewall-token': PROD_TOKEN } }), 'CALLER_TOKEN_IN_QUERY', q);
    }
    for (const q of ['key=ops', 'access_token=abc', 'key=token', 'media_id=token%20x', 'key=%zz']) assert.equal(tokenInQuery(`/cgi-bin/x?${q}`), false, q);
    assert.equal(tokenInQuery('/cgi-bin/webhook/send'), false);
  });

  describe('behind trusted proxies', () => {
    const xff = (v: string) => ({ headers: { 'x-forwarded-for': v } });
    it('takes the right-most untrusted address of X-Forwarded-For', () => {
      assert.equal(who('192.0.2.1', xff('10.1.0.7')), 'cron');
      assert.equal(who('192.0.2.1', xff('203.0.113.5, 10.1.0.7')), 'cron'); // the client's own claim is the left part
      assert.equal(who('192.0.2.1', xff('10.1.0.7, 192.0.2.9')), 'cron'); // a second trusted proxy
      assert.equal(who('192.0.2.1', xff('10.1.0.7:4711')), 'cron');
      assert.equal(who('::ffff:192.0.2.1', xff('10.1.0.7')), 'cron');
      assert.equal(who('2001:db8:ffff::1', xff('[2001:db8::5]:80')), 'ipv6-host');
    });
    it('cannot be fooled by what the client itself wrote', () => {
      assert.equal(who('192.0.2.1', xff('10.1.0.7, 203.0.113.5')), 'UNKNOWN_CALLER');
      assert.equal(who('203.0.113.5', xff('10.1.0.7')), 'UNKNOWN_CALLER'); // not a trusted peer: the header changes nothing
      assert.equal(who('10.1.0.7', xff('203.0.113.5')), 'cron');
    });
    it('refuses a chain it cannot follow', () => {
      for (const v of ['unknown', '10.1.0.7, garbage', '10.1.0.7,', '']) assert.equal(who('192.0.2.1', xff(v)), 'UNKNOWN_CALLER', v);
    });
    it('reads Forwarded (RFC 7239), and needs both headers to agree when both are there', () => {
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'for=10.1.0.7;proto=https' } }), 'cron');
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'for=203.0.113.5, For="10.1.0.7:80";by=192.0.2.1' } }), 'cron');
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'for="[2001:db8::5]:4711"' } }), 'ipv6-host');
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'for=_hidden' } }), 'UNKNOWN_CALLER');
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'proto=https' } }), 'UNKNOWN_CALLER');
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'for=10.1.0.7', 'x-forwarded-for': '10.1.0.7' } }), 'cron');
      assert.equal(who('192.0.2.1', { headers: { forwarded: 'for=10.1.0.8', 'x-forwarded-for': '10.1.0.7' } }), 'UNKNOWN_CALLER');
    });
    it('takes the proxy itself when it forwards nothing, and the left-most when every hop is trusted', () => {
      assert.equal(who('192.0.2.1'), 'UNKNOWN_CALLER'); // the proxy is no caller here
      const table = compile([{ name: 'edge', from: ['192.0.2.0/24'] }], ['192.0.2.0/24']).callers;
      assert.equal(who('192.0.2.1', {}, table), 'edge');
      assert.equal(who('192.0.2.1', xff('192.0.2.7, 192.0.2.8'), table), 'edge');
    });
    it('applies the token check to the forwarded address', () => {
      assert.equal(who('192.0.2.1', { headers: { 'x-forwarded-for': '10.0.0.5', 'x-firewall-token': PROD_TOKEN } }), 'openclaw-prod');
      assert.equal(who('192.0.2.1', { headers: { 'x-forwarded-for': '10.0.9.5', 'x-firewall-token': PROD_TOKEN } }), 'UNKNOWN_CALLER');
    });
  });

  it('refuses at compile: bad CIDRs, short or URL-unsafe tokens, shared tokens, tokenless callers that overlap', () => {
    const { problems } = compile(
      [
        { name: 'a', from: ['10.0.0.0/33'] },
        { name: 'b', from: ['10.1.0.0/24'], token: 'short' },
        { name: 'c', from: ['10.2.0.0/24'], token: 'has/a/slash/in/it/0123456789' },
        { name: 'd', from: ['10.3.0.0/24'], token: PROD_TOKEN },
        { name: 'e', from: ['10.4.0.0/24'], token: PROD_TOKEN },
        { name: 'f', from: ['10.5.0.0/16'] },
        { name: 'g', from: ['10.5.7.0/24'] },
      ],
      ['not-an-ip'],
    );
    const text = problems.join('\n');
    assert.match(text, /^\/trustedProxies\/0: /m);
    assert.match(text, /^\/callers\/a\/from\/0: /m);
    assert.match(text, /^\/callers\/b\/token: .*16/m);
    assert.match(text, /^\/callers\/c\/token: /m);
    assert.match(text, /^\/callers\/e\/token: .*share a token/m);
    assert.match(text, /^\/callers\/g\/from: .*f and g/m);
    assert.ok(!text.includes(PROD_TOKEN));
    assert.equal(problems.length, 6);
  });

  it('splits a /t/<token>/ prefix off the URL', () => {
    assert.deepEqual(splitTokenPrefix(`/t/${PROD_TOKEN}/cgi-bin/webhook/send?key=ops`), { token: PROD_TOKEN, url: '/cgi-bin/webhook/send?key=ops' });
    assert.deepEqual(splitTokenPrefix(`/t/${PROD_TOKEN}?key=ops`), { token: PROD_TOKEN, url: '/?key=ops' });
    assert.deepEqual(splitTokenPrefix('/t//cgi-bin/x'), { token: '', url: '/cgi-bin/x' });
    assert.equal(splitTokenPrefix('/cgi-bin/webhook/send?key=/t/x/'), undefined);
    assert.equal(splitTokenPrefix('/tt/x/cgi-bin'), undefined);
  });
});

describe('callers of the egress proxy', () => {
  const at = (text: string) => parseAddress(text)!;
  /** The caller's name, or the refusal's code and status. */
  const proxied = (table: typeof callers, address: string, credentials?: { name: string; token: string }, challenge = true) => {
    try {
      return table.identifyProxied({ address: at(address), credentials }, challenge);
    } catch (err) {
      assert.ok(err instanceof CallerRefused, String(err));
      for (const t of [PROD_TOKEN, CI_TOKEN]) assert.ok(!err.reason.includes(t) && !err.message.includes(t), 'a refusal never carries a token');
      return `${err.status} ${err.code}${err.headers['Proxy-Authenticate'] ? ` ${err.headers['Proxy-Authenticate']}` : ''}`;
    }
  };

  it('names a caller by its Proxy-Authorization name and token, checked against its from, or by address alone', () => {
    assert.equal(proxied(callers, '10.0.0.5', { name: 'openclaw-prod', token: PROD_TOKEN }), 'openclaw-prod');
    assert.equal(proxied(callers, '10.1.0.9'), 'cron');
  });

  it('asks for credentials (407) on every refusal when callers are configured, whatever failed', () => {
    const ask = '407 PROXY_AUTH_REQUIRED Basic realm="wecom-firewall"';
    assert.equal(proxied(callers, '10.0.0.5'), ask, 'no credentials, and the address needs a token');
    assert.equal(proxied(callers, '10.0.0.5', { name: 'openclaw-prod', token: CI_TOKEN }), ask, "another caller's token under this name");
    assert.equal(proxied(callers, '10.0.0.5', { name: 'openclaw-prod', token: 'wrong-token-0123456789' }), ask);
    assert.equal(proxied(callers, '192.168.9.9', { name: 'openclaw-prod', token: PROD_TOKEN }), ask, 'a right token from outside its from');
    assert.equal(proxied(callers, '192.168.9.9'), ask);
  });

  it('inside a tunnel already authenticated, refuses with 403 instead (a 407 there would mean nothing)', () => {
    assert.equal(proxied(callers, '192.168.9.9', { name: 'openclaw-prod', token: PROD_TOKEN }, false), '403 UNKNOWN_CALLER');
  });

  it('without callers: loopback only, and credentials refused with 403 (none could be right)', () => {
    const none = compile([]).callers;
    assert.equal(proxied(none, '127.0.0.1'), '127.0.0.1');
    assert.equal(proxied(none, '10.0.0.1'), '403 UNKNOWN_CALLER');
    assert.equal(proxied(none, '127.0.0.1', { name: 'x', token: PROD_TOKEN }), '403 UNKNOWN_CALLER');
  });

  it('reads Basic credentials as undici and https-proxy-agent send them', () => {
    assert.deepEqual(parseProxyAuthorization(`Basic ${Buffer.from(`openclaw-prod:${PROD_TOKEN}`).toString('base64')}`), { name: 'openclaw-prod', token: PROD_TOKEN });
    assert.deepEqual(parseProxyAuthorization(`basic ${Buffer.from('a:b:c').toString('base64')}`), { name: 'a', token: 'b:c' });
    assert.equal(parseProxyAuthorization(undefined), undefined);
    for (const bad of ['Bearer x', 'Basic', `Basic ${Buffer.from('nocolon').toString('base64')}`, `Basic ${Buffer.from(':token').toString('base64')}`, `Basic ${Buffer.from('name:').toString('base64')}`]) {
      assert.equal(parseProxyAuthorization(bad), 'malformed', bad);
    }
  });
});
