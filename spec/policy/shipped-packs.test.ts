import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { PolicySet } from '../../lib/policy/compile.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { coverage, fixtureFiles, loadFixtures } from '../../lib/policy/fixtures.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { PNG_MAGIC, md5 } from '../fixtures/images.js';
import { ALLOW, caseRunner, reject } from '../fixtures/decisions.js';
import { SHIPPED_FIXTURES_DIR, fixtureSpecs } from './pack-fixtures.js';

// The shipped policy packs for robots (policies/10-wecom-contract.yaml, 20-guardrails.yaml), decided
// through the real engine. The case tables are the packs' fixture files (policies/fixtures/*.yaml,
// also run by `wecom-firewall policy test`); this file adds what YAML cannot carry readably: payloads
// built from thousands of repeated characters (byte-limit boundaries), 2 MiB images, adversarial
// input. Every case asserts the action, the deciding rule and the errcode only.

const policies = new PolicySet([shippedPoliciesDir()]);
const runCases = caseRunner(policies);

const SEND = '/cgi-bin/webhook/send';
const MiB = 1024 * 1024;
const CJK = '中'; // 3 UTF-8 bytes

function send(body: Record<string, unknown>): PolicyRequest {
  return { route: 'webhook.send', path: SEND, robot: 'team', caller: 'agent', msgtype: body.msgtype as string, payload: body };
}
const text = (content: unknown, extra: Record<string, unknown> = {}) => send({ msgtype: 'text', text: { content, ...extra } });
const markdown = (content: unknown) => send({ msgtype: 'markdown', markdown: { content } });
const markdownV2 = (content: unknown) => send({ msgtype: 'markdown_v2', markdown_v2: { content } });
const image = (bytes: Buffer) => send({ msgtype: 'image', image: { base64: bytes.toString('base64'), md5: md5(bytes) } });
const pngOfSize = (size: number) => Buffer.concat([PNG_MAGIC, Buffer.alloc(size - PNG_MAGIC.length, 0x42)]);
const article = (n: number) => ({ title: `第${n}条 news`, url: `https://example.com/${n}` });
const news = (articles: unknown) => send({ msgtype: 'news', news: { articles } });

describe('shipped policy packs', () => {
  it('load in order: contract, guardrails, then the single default (allow)', () => {
    const packs = [...new Set(policies.rules.map((r) => r.pack))];
    assert.deepEqual(packs, ['wecom-contract', 'app-contract', 'bot-contract', 'guardrails', 'app-guardrails', 'bot-guardrails']);
    assert.equal(policies.rules[0]!.name, 'wecom.msgtype.unknown');
    assert.equal(policies.defaultDecision.action, 'allow');
    assert.equal(policies.defaultDecision.rule, 'default');
  });

  it('credential rules all come before the @all approvals (robot and bot)', () => {
    const names = policies.rules.map((r) => r.name);
    const credentials = names.filter((n) => n.startsWith('guard.credential.'));
    assert.ok(credentials.length >= 10, credentials.join(', '));
    for (const approval of ['guard.mass-mention', 'guard.bot.mass-mention']) {
      const mention = names.indexOf(approval);
      assert.ok(mention > 0, approval);
      for (const rule of credentials) assert.ok(names.indexOf(rule) < mention, `${rule} before ${approval}`);
    }
  });

  it('every rule says who it is for: rejects carry an explicit errcode, msgtype rules are pinned to a path', () => {
    for (const rule of policies.rules) {
      assert.ok(rule.description.trim().length > 20, `${rule.name} description`);
      assert.ok(rule.reason.trim().length > 20, `${rule.name} reason`);
      assert.equal(rule.mode, 'enforce', `${rule.name}: shipped rules are enforced`);
      if (rule.action === 'reject') assert.ok(rule.errcode, `${rule.name} errcode`);
      // uploads carry their type as msgtype: a msgtype rule without a path (or, for bot frames,
      // routes) would catch them too
      const upload = '/cgi-bin/webhook/upload_media';
      const pinned = (names: Set<string> | undefined, alone: string) => names !== undefined && (names.has(alone) ? names.size === 1 : names.size >= 1);
      const botRoutes = rule.routes !== undefined && [...rule.routes].every((r) => r.startsWith('bot.'));
      if (rule.msgtypes) assert.ok(botRoutes ? pinned(rule.routes, 'bot.upload_media') : pinned(rule.paths, upload), `${rule.name} is pinned to its paths or bot routes (uploads alone)`);
    }
  });

  it('the fixtures give every shipped rule a case it decides, and every conditional rule a case it lets through', () => {
    const { files, problems } = loadFixtures(fixtureFiles([SHIPPED_FIXTURES_DIR]));
    assert.deepEqual(problems, []);
    const gaps = coverage(policies, files.flatMap((f) => f.cases)).filter((c) => !c.hits || (c.conditional && !c.passes));
    assert.deepEqual(gaps, []);
  });

  it('every shipped policy file and fixture file names its JSON Schema for editors, by a path that exists', () => {
    for (const file of [...policies.files, ...fixtureFiles([SHIPPED_FIXTURES_DIR])]) {
      const first = readFileSync(file, 'utf8').split('\n')[0]!;
      const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      assert.ok(m, `${file}: first line ${first}`);
      const schema = resolve(dirname(file), m[1]!);
      assert.equal(basename(schema), file.includes('/fixtures/') ? 'fixtures.schema.json' : 'policy.schema.json', file);
      assert.ok(existsSync(schema), `${file}: ${schema}`);
    }
  });

  fixtureSpecs(policies, ['10-wecom-contract.yaml', '20-guardrails.yaml']);

  describe('byte limits, at and past the boundary (generated: too long for the fixture files)', () => {
    runCases([
      ['text 2048 ASCII bytes', text('a'.repeat(2048)), ALLOW],
      ['text 682 CJK + 2 ASCII = 2048 bytes', text(CJK.repeat(682) + 'ab'), ALLOW],
      ['text 2049 ASCII bytes', text('a'.repeat(2049)), reject('wecom.text', 40058)],
      ['text 700 CJK characters = 2100 bytes (< 2048 characters)', text(CJK.repeat(700)), reject('wecom.text', 40058)],
      ['text 683 CJK characters = 2049 bytes', text(CJK.repeat(683)), reject('wecom.text', 40058)],
      ['text: emoji count 4 bytes each: 513 × 😀 = 2052 bytes', text('😀'.repeat(513)), reject('wecom.text', 40058)],
      ['markdown 4096 ASCII bytes', markdown('a'.repeat(4096)), ALLOW],
      ['markdown 1365 CJK = 4095 bytes', markdown(CJK.repeat(1365)), ALLOW],
      ['markdown 4097 bytes', markdown('a'.repeat(4097)), reject('wecom.markdown', 40058)],
      ['markdown 1400 CJK = 4200 bytes', markdown(CJK.repeat(1400)), reject('wecom.markdown', 40058)],
      ['markdown_v2 4096 bytes', markdownV2('b'.repeat(4096)), ALLOW],
      ['markdown_v2 4097 bytes', markdownV2('b'.repeat(4097)), reject('wecom.markdown_v2', 40058)],
      ['markdown_v2 1400 CJK = 4200 bytes', markdownV2(CJK.repeat(1400)), reject('wecom.markdown_v2', 40058)],
      ['image of exactly 2 MiB', image(pngOfSize(2 * MiB)), ALLOW],
      ['image of 2 MiB + 1 byte', image(pngOfSize(2 * MiB + 1)), reject('wecom.image', 40058)],
      ['news description 512 bytes', news([{ ...article(1), description: 'd'.repeat(512) }]), ALLOW],
      ['news description 513 bytes (171 CJK)', news([{ ...article(1), description: CJK.repeat(171) }]), reject('wecom.news.article-length', 40058)],
      ['over-long text with @all → the contract refuses it first', text('a'.repeat(2049), { mentioned_list: ['@all'] }), reject('wecom.text', 40058)],
    ]);
  });

  it('base64 that happens to contain a credential-like run is not scanned as text', () => {
    // PNG magic + 1 byte = 9 bytes = 12 base64 chars; then 4-char groups chosen to spell out an
    // Aliyun-shaped key id between a '/' and a '+' (40 chars, no padding, so it round-trips).
    const base64 = `${Buffer.concat([PNG_MAGIC, Buffer.from([0])]).toString('base64')}AAA/LTAIabcdefghijklmnop+AAA`;
    const bytes = Buffer.from(base64, 'base64');
    assert.equal(bytes.toString('base64'), base64);
    assert.equal(policies.decide(text(base64)).rule, 'guard.credential.aliyun-access-key'); // as text it would match
    assert.equal(policies.decide(image(bytes)).rule, 'default');
  });

  it('credential patterns stay linear on adversarial input', () => {
    const n = 200_000;
    const hostile = [
      'eyJ' + 'a'.repeat(n),
      'eyJaaaaaaaaa.eyJ' + 'b'.repeat(n),
      '-----BEGIN' + ' A'.repeat(n / 2),
      'Bearer' + ' '.repeat(n),
      'bearer '.repeat(n / 7),
      '/cgi-bin/webhook/send?' + 'a&'.repeat(n / 2),
      '/cgi-bin/webhook/send?'.repeat(n / 22),
      'AKID' + '1'.repeat(n),
      'LTAI'.repeat(n / 4),
      'ghp_'.repeat(n / 4),
      'xoxb-.'.repeat(n / 6),
    ];
    const card = {
      card_type: 'text_notice',
      main_title: { title: '告警', desc: 'prod' },
      card_action: { type: 1, url: 'https://example.com' },
      horizontal_content_list: hostile.slice(0, 6).map((value, i) => ({ keyname: `k${i}`, value })),
      jump_list: hostile.slice(6, 9).map((title) => ({ title })),
      sub_title_text: hostile.slice(9).join(' '),
    };
    const started = process.hrtime.bigint();
    const decision = policies.decide(send({ msgtype: 'template_card', template_card: card }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(decision.rule, 'default');
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});
