import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressSet, LOOPBACK, parseAddress, parseCidr } from '../../lib/callers/cidr.js';

const set = (...cidrs: string[]) => new AddressSet(cidrs.map(parseCidr));
const addr = (text: string) => {
  const a = parseAddress(text);
  assert.ok(a, `${text} should parse`);
  return a.parsed;
};

describe('CIDRs', () => {
  it('parses IPv4 and IPv6 ranges and bare addresses', () => {
    assert.deepEqual(parseCidr('10.0.0.0/24'), { address: '10.0.0.0', prefix: 24, family: 'ipv4' });
    assert.deepEqual(parseCidr('::1/128'), { address: '::1', prefix: 128, family: 'ipv6' });
    assert.deepEqual(parseCidr('10.0.0.7'), { address: '10.0.0.7', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
    // IPv4-mapped IPv6 ranges are IPv4 ranges: a dual-stack listener's peers are folded the same way
    assert.deepEqual(parseCidr('::ffff:10.0.0.0/120'), { address: '10.0.0.0', prefix: 24, family: 'ipv4' });
  });

  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/24', 'example.com/24', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/-1', '', '0x0a.0.0.1']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseCidr(bad)));
  }

  it('checks membership for both families, folding IPv4-mapped addresses', () => {
    const s = set('10.0.0.0/24', '2001:db8::/32');
    assert.ok(s.has(addr('10.0.0.255')));
    assert.ok(!s.has(addr('10.0.1.0')));
    assert.ok(s.has(addr('::ffff:10.0.0.7')));
    assert.ok(s.has(addr('2001:db8:1::5')));
    assert.ok(!s.has(addr('2001:db9::5')));
    assert.ok(!set().has(addr('10.0.0.1')));
    assert.ok(set('0.0.0.0/0').has(addr('203.0.113.9')));
  });

  it('knows loopback', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1']) assert.ok(LOOPBACK.has(addr(a)), a);
    for (const a of ['10.0.0.1', '::2', '0.0.0.0', '::']) assert.ok(!LOOPBACK.has(addr(a)), a);
  });

  it('reads the address forms proxies write, and nothing else', () => {
    const cases: Array<[string, string | undefined]> = [
      ['10.0.0.7', '10.0.0.7'],
      [' 10.0.0.7 ', '10.0.0.7'],
      ['10.0.0.7:5678', '10.0.0.7'],
      ['[2001:db8::1]:443', '2001:db8::1'],
      ['[2001:db8::1]', '2001:db8::1'],
      ['2001:db8::1', '2001:db8::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::ffff:192.0.2.1', '192.0.2.1'],
      ['unknown', undefined],
      ['_hidden', undefined],
      ['', undefined],
      ['10.0.0.7:port', undefined],
      ['[2001:db8::1]x', undefined],
      ['[2001:db8::1', undefined],
      ['10.0.0.256', undefined],
      ['1.2.3.4.5', undefined],
    ];
    for (const [raw, text] of cases) assert.equal(parseAddress(raw)?.text, text, raw);
  });

  it('finds an overlap between two sets, in either direction', () => {
    assert.ok(set('10.0.0.0/24').overlaps(set('10.0.0.128/25')));
    assert.ok(set('10.0.0.128/25').overlaps(set('10.0.0.0/16')));
    assert.ok(set('::1/128').overlaps(set('::/0')));
    assert.equal(set('10.0.0.0/24').overlaps(set('10.0.1.0/24')), undefined);
    assert.equal(set('10.0.0.0/8').overlaps(set('fd00::/8')), undefined);
  });
});
