import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicySet } from '../../lib/policy/compile.js';
import { shippedPoliciesDir } from '../../lib/paths.js';
import { requestOf } from '../../lib/policy/request-of.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { PNG_MAGIC, md5 } from '../fixtures/images.js';
import { ALLOW, approve, caseRunner, reject } from '../fixtures/decisions.js';
import { fixtureSpecs } from './pack-fixtures.js';

// The shipped packs for the bot WebSocket (policies/17-bot-contract.yaml, 27-bot-guardrails.yaml),
// decided through the real engine together with every other shipped pack, as the firewall loads
// them. The case tables are the packs' fixture files (policies/fixtures/*.yaml, also run by
// `wecom-firewall policy test`); this file adds the cases whose payloads are built from thousands
// of characters or megabytes of image. Every case asserts the action, the deciding rule and the
// errcode only.

const policies = new PolicySet([shippedPoliciesDir()]);
const runCases = caseRunner(policies);

const MiB = 1024 * 1024;
const CJK = '中'; // 3 UTF-8 bytes
const GROUP = { chatid: 'wrkSFfCgAAtest', chattype: 'group', from: { userid: 'zhangsan' } };

const frame = (route: string, payload: Record<string, unknown>): PolicyRequest => requestOf({ bot: 'assistant', route, caller: 'agent', payload });
const stream = (inner: Record<string, unknown>) => frame('bot.respond_msg', { msgtype: 'stream', stream: { id: 'stream-1', finish: true, ...inner }, ...GROUP });
const markdown = (content: string) => frame('bot.send_msg', { chatid: 'zhangsan', msgtype: 'markdown', markdown: { content } });
const card = (template_card: Record<string, unknown>) => frame('bot.respond_msg', { msgtype: 'template_card', template_card: { card_type: 'button_interaction', ...template_card } });
const pngOfSize = (size: number) => Buffer.concat([PNG_MAGIC, Buffer.alloc(size - PNG_MAGIC.length, 0x42)]);
const image = (bytes: Buffer) => ({ msgtype: 'image', image: { base64: bytes.toString('base64'), md5: md5(bytes) } });
const images = (n: number) => Array.from({ length: n }, () => image(pngOfSize(64)));

describe('shipped bot packs', () => {
  it('load after the HTTP contracts, around the shared guardrails, before the default', () => {
    const packs = [...new Set(policies.rules.map((r) => r.pack))];
    assert.deepEqual(packs, ['wecom-contract', 'app-contract', 'bot-contract', 'guardrails', 'app-guardrails', 'bot-guardrails']);
  });

  it('keep the channels apart: bot rules match bot routes only, HTTP rules never a bot route', () => {
    for (const rule of policies.rules) {
      const routes = [...(rule.routes ?? [])];
      const paths = [...(rule.paths ?? [])];
      if (rule.pack.startsWith('bot-')) assert.ok(routes.length && routes.every((r) => r.startsWith('bot.')), `${rule.name} routes`);
      else if (rule.pack !== 'guardrails') assert.ok(routes.every((r) => !r.startsWith('bot.')) && paths.every((p) => p.startsWith('/')) && (routes.length || paths.length), `${rule.name} is pinned to HTTP`);
    }
  });

  fixtureSpecs(policies, ['17-bot-contract.yaml', '27-bot-guardrails.yaml']);

  describe('byte and count limits, at and past the boundary (generated: too long for the fixture files)', () => {
    runCases([
      ['stream content of 20480 ASCII bytes', stream({ content: 'a'.repeat(20480) }), ALLOW],
      ['stream content of 6826 CJK + 2 ASCII = 20480 bytes', stream({ content: CJK.repeat(6826) + 'ab' }), ALLOW],
      ['stream content of 20481 bytes', stream({ content: 'a'.repeat(20481) }), reject('bot.stream', 40058)],
      ['stream content of 6827 CJK = 20481 bytes (< 20480 characters)', stream({ content: CJK.repeat(6827) }), reject('bot.stream', 40058)],
      ['markdown of 20480 bytes', markdown('m'.repeat(20480)), ALLOW],
      ['markdown of 20481 bytes', markdown('m'.repeat(20481)), reject('bot.markdown', 40058)],
      ['feedback id of 256 bytes', stream({ content: 'ok', feedback: { id: 'f'.repeat(256) } }), ALLOW],
      ['feedback id of 257 bytes', stream({ content: 'ok', feedback: { id: 'f'.repeat(257) } }), reject('bot.stream', 40058)],
      ['10 images', stream({ content: 'ok', msg_item: images(10) }), ALLOW],
      ['11 images', stream({ content: 'ok', msg_item: images(11) }), reject('bot.stream.images', 40058)],
      ['an image of exactly 10 MiB', stream({ msg_item: [image(pngOfSize(10 * MiB))] }), ALLOW],
      ['an image of 10 MiB + 1 byte', stream({ msg_item: [image(pngOfSize(10 * MiB + 1))] }), reject('bot.stream.images', 40058)],
      ['task_id of 128 bytes', card({ task_id: 't'.repeat(128) }), ALLOW],
      ['task_id of 129 bytes', card({ task_id: 't'.repeat(129) }), reject('bot.template_card', 40058)],
      ['contract first: over-long content with @all is refused, not parked', stream({ content: `@all ${'a'.repeat(20480)}` }), reject('bot.stream', 40058)],
      ['@all at the end of a long group reply is parked', stream({ content: `${CJK.repeat(6000)} @all` }), approve('guard.bot.mass-mention')],
    ]);
  });

  it('the mass-mention pattern stays linear on adversarial input', () => {
    const n = 6000;
    const started = process.hrtime.bigint();
    for (const content of ['@'.repeat(n), '@al'.repeat(n / 3), 'a@all'.repeat(n / 5), '＠'.repeat(n), '\u200b@'.repeat(n / 2)]) {
      assert.equal(policies.decide(stream({ content })).rule, 'default');
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});
