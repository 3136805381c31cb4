import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { maskSecrets, inertMarkdown, previewOf } from '../../lib/approvals/preview.js';
import { notificationCard } from '../../lib/approvals/notify.js';
import type { Approval } from '../../lib/approvals/store.js';
import { parked } from './fixtures.js';

const record = (payload: unknown, over: Partial<Approval> = {}): Approval => ({
  ...parked({ payload: Buffer.from(JSON.stringify(payload)) }),
  id: 'ap-1',
  sha256: 'x',
  createdAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
  status: 'pending',
  decisions: [],
  held: false,
  ...over,
});
const none = (s: string) => s;

describe('approval preview', () => {
  it('masks credential-looking runs and keeps prose', () => {
    const key = randomUUID();
    const masked = maskSecrets(`deploy done, webhook ${key} token=abc password: hunter2 AKIAABCDEFGHIJKLMNOP -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----`);
    assert.ok(!masked.includes(key));
    assert.ok(!masked.includes('hunter2'));
    assert.ok(!masked.includes('AKIAABCDEFGHIJKLMNOP'));
    assert.ok(!masked.includes('MIIE'));
    assert.match(masked, /^deploy done, webhook /);
  });

  it('makes chat markup inert: no mention, link, bold or quote can come from the message', () => {
    const out = inertMarkdown('<@all> [click](https://evil.example) **now** > `x` #');
    assert.ok(!/[<>[\]()*`#]/.test(out));
  });

  it('previews text, markdown and template cards; says what an upload or an erased payload is', () => {
    assert.match(previewOf(record({ msgtype: 'text', text: { content: 'all hands at 3' } }), none), /all hands at 3/);
    assert.match(previewOf(record({ msgtype: 'markdown', markdown: { content: '# Release\n**v2** is out' } }), none), /Release/);
    assert.match(previewOf(record({ msgtype: 'template_card', template_card: { card_type: 'text_notice', main_title: { title: 'Outage' } } }), none), /Outage/);
    assert.match(previewOf(record(null, { payload: Buffer.alloc(100), contentType: 'multipart/form-data; boundary=x' }), none), /upload, 100 bytes/);
    assert.match(previewOf(record({ msgtype: 'text', text: { content: 'gone' } }, { purgedAt: new Date().toISOString() }), none), /erased/);
  });

  it('applies the redactor (configured secrets) before anything else', () => {
    assert.ok(!previewOf(record({ msgtype: 'text', text: { content: 'the secret is s3cr3t-value' } }), (s) => s.replaceAll('s3cr3t-value', '[REDACTED]')).includes('s3cr3t'));
  });

  it('cuts a long message short', () => {
    assert.ok([...previewOf(record({ msgtype: 'text', text: { content: '很'.repeat(2000) } }), none)].length <= 241);
  });
});

describe('notification card', () => {
  const links = (n: number) => Array.from({ length: n }, (_, i) => ({ sub: `approver${i}`, url: `https://fw.example/console/approvals/ap-1#t=${'x'.repeat(300)}${i}` }));

  it('says who asked, what, which rule and why, when it expires, and links each approver', () => {
    const card = notificationCard({ record: record({ msgtype: 'text', text: { content: 'hi @all', mentioned_list: ['@all'] } }), links: links(2), consoleUrl: 'https://fw.example/console/', redact: none });
    for (const part of ['127.0.0.1', 'robot ops', 'mass-mention', 'needs approval', '1 of 2', 'approver0', 'approver1', 'req-1']) assert.ok(card.includes(part), part);
    assert.equal((card.match(/\]\(https:\/\/fw\.example\/console\/approvals\/ap-1#t=/g) ?? []).length, 2);
  });

  it('stays within WeCom\'s 4096-byte markdown limit, pointing to the console for links that do not fit', () => {
    const card = notificationCard({ record: record({ msgtype: 'text', text: { content: 'x' } }), links: links(40), consoleUrl: 'https://fw.example/console/', redact: none });
    assert.ok(Buffer.byteLength(card) <= 4096);
    assert.match(card, /more in the \[console\]\(https:\/\/fw\.example\/console\/\)/);
  });

  it('a hostile rule reason or caller cannot add a link or mention', () => {
    const card = notificationCard({ record: record({ msgtype: 'text', text: { content: 'x' } }, { reason: 'ok [pay](https://evil.example) <@all>', caller: '<@all>' }), links: [], consoleUrl: 'https://fw.example/console/', redact: none });
    assert.ok(!card.includes('](https://evil'));
    assert.ok(!card.includes('<@all>'));
  });
});
