import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PolicySet } from '../../lib/policy/compile.js';
import { packageRoot } from '../../lib/paths.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { md5, PNG_MAGIC, tinyPng } from '../fixtures/images.js';
import { ALLOW, approve, caseRunner, reject, type Case } from '../fixtures/decisions.js';

// The shipped policy packs (policies/*.yaml), decided through the real engine. Every case asserts
// the action, the deciding rule and the errcode only: reasons are wording for people and may change.

const policies = new PolicySet([join(packageRoot(), 'policies')]);

const SEND = '/cgi-bin/webhook/send';
const UPLOAD = '/cgi-bin/webhook/upload_media';
const MiB = 1024 * 1024;

function send(body: Record<string, unknown>): PolicyRequest {
  return { route: 'webhook.send', path: SEND, robot: 'team', caller: 'agent', msgtype: body.msgtype as string, payload: body };
}

function upload(type: string | undefined, media?: { filename?: string; size: number; contentType?: string }): PolicyRequest {
  const payload: Record<string, unknown> = {};
  if (type !== undefined) payload.type = type;
  if (media) payload.media = { filename: media.filename ?? 'report.txt', size: media.size, contentType: media.contentType ?? 'application/octet-stream' };
  return { route: 'webhook.upload_media', path: UPLOAD, robot: 'team', caller: 'agent', msgtype: type, payload };
}

const runCases = caseRunner(policies);

// ---------------------------------------------------------------------------------------------
// payload builders
// ---------------------------------------------------------------------------------------------

const CJK = '中'; // 3 UTF-8 bytes
const text = (content: unknown, extra: Record<string, unknown> = {}) => send({ msgtype: 'text', text: { content, ...extra } });
const markdown = (content: unknown) => send({ msgtype: 'markdown', markdown: { content } });
const markdownV2 = (content: unknown) => send({ msgtype: 'markdown_v2', markdown_v2: { content } });

const image = (bytes: Buffer, digest = md5(bytes)) => send({ msgtype: 'image', image: { base64: bytes.toString('base64'), md5: digest } });

const pngOfSize = (size: number) => Buffer.concat([PNG_MAGIC, Buffer.alloc(size - PNG_MAGIC.length, 0x42)]);
const TINY_JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');
const TINY_GIF = Buffer.from('474946383961010001000000002c00000000010001000002024401003b', 'hex');

const article = (n: number) => ({ title: `第${n}条 news`, url: `https://example.com/${n}` });
const news = (articles: unknown) => send({ msgtype: 'news', news: { articles } });

const textNotice = (card: Record<string, unknown> = {}) =>
  send({
    msgtype: 'template_card',
    template_card: { card_type: 'text_notice', main_title: { title: '告警', desc: 'prod' }, card_action: { type: 1, url: 'https://example.com' }, ...card },
  });
const newsNotice = (card: Record<string, unknown> = {}) =>
  send({
    msgtype: 'template_card',
    template_card: {
      card_type: 'news_notice',
      main_title: { title: '发布公告' },
      card_image: { url: 'https://example.com/banner.png', aspect_ratio: 2.25 },
      card_action: { type: 1, url: 'https://example.com' },
      ...card,
    },
  });
const without = (obj: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));
const cardOf = (req: PolicyRequest) => (req.payload as { template_card: Record<string, unknown> }).template_card;
const items = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));

// Credentials: synthetic values of the real shapes (AWS's own documented example key id).
const CREDENTIALS: Record<string, string[]> = {
  'guard.credential.private-key': [
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----',
    'key: -----BEGIN EC PRIVATE KEY-----',
    '-----BEGIN DSA PRIVATE KEY-----',
    '服务器私钥如下：\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
    '-----BEGIN ENCRYPTED PRIVATE KEY-----',
    '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF...',
    '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20240101"',
    'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none',
  ],
  'guard.credential.aws-access-key': ['use AKIAIOSFODNN7EXAMPLE to log in', 'aws_session: ASIAY34FZKBOKMUTVV7A', '密钥AKIAIOSFODNN7EXAMPLE请勿外传'],
  'guard.credential.aliyun-access-key': ['AccessKeyId=LTAI5tQ8rN3xY7vK2mP9wJ4h', '阿里云 AK：LTAI4GFuxB8mGcKz3qRqYyRv'],
  'guard.credential.tencent-cloud-secret-id': ['SecretId: AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE'],
  'guard.credential.google-api-key': ['maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY in the config'],
  'guard.credential.bearer-token': [
    'curl -H "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0" https://api.example.com',
    'Authorization: bearer sk-live.Abc123_def456~ghi789/jkl',
  ],
  'guard.credential.jwt': [
    'session=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  ],
  'guard.credential.github-token': [
    'GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a',
    'token github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij',
  ],
  'guard.credential.slack-token': ['SLACK_BOT_TOKEN=xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxp-2222222222-333333333333'],
  'guard.credential.wecom-webhook-key': [
    'robot: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a0c-4bc4-97a0-0ec2a1fa5aaa',
    'curl "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?debug=1&key=0b4c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"',
    'POST /cgi-bin/webhook/upload_media?key=0b4c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d&type=file',
  ],
};

const BENIGN_PROSE = [
  'Please rotate the private key and the API token before Friday; the bearer token in the vault expires soon.',
  '请在周五前轮换私钥（private key）和访问令牌（token）。阿里云 AccessKey 以 LTAI 开头，腾讯云 SecretId 以 AKID 开头，不要发到群里。',
  'Send with curl -H "Authorization: Bearer $TOKEN" to http://firewall:8080/cgi-bin/webhook/send?key=ops-alerts',
  'The key AKIA**** was rotated; see -----BEGIN PUBLIC KEY----- for the public half. Bearer of this note: ops team.',
  'WeCom URL format: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=YOUR_KEY',
];

// ---------------------------------------------------------------------------------------------

describe('shipped policy packs', () => {
  it('load in order: contract, guardrails, then the single default (allow)', () => {
    const packs = [...new Set(policies.rules.map((r) => r.pack))];
    assert.deepEqual(packs, ['wecom-contract', 'app-contract', 'guardrails', 'app-guardrails']);
    assert.equal(policies.rules[0]!.name, 'wecom.msgtype.unknown');
    assert.equal(policies.defaultDecision.action, 'allow');
    assert.equal(policies.defaultDecision.rule, 'default');
  });

  it('credential rules all come before the @all approval', () => {
    const names = policies.rules.map((r) => r.name);
    const mention = names.indexOf('guard.mass-mention');
    assert.ok(mention > 0);
    for (const rule of Object.keys(CREDENTIALS)) {
      assert.ok(names.includes(rule), rule);
      assert.ok(names.indexOf(rule) < mention, `${rule} before guard.mass-mention`);
    }
  });

  it('every rule says who it is for: rejects carry an explicit errcode, msgtype rules are pinned to a path', () => {
    for (const rule of policies.rules) {
      assert.ok(rule.description.trim().length > 20, `${rule.name} description`);
      assert.ok(rule.reason.trim().length > 20, `${rule.name} reason`);
      if (rule.action === 'reject') assert.ok(rule.errcode, `${rule.name} errcode`);
      // upload_media requests carry ?type= as msgtype: a msgtype rule without a path would catch them too
      if (rule.msgtypes) assert.ok(rule.paths && (rule.paths.has(UPLOAD) ? rule.paths.size === 1 : rule.paths.size >= 1), `${rule.name} is pinned to its paths (upload_media alone)`);
    }
  });

  describe('envelope', () => {
    runCases([
      ['unknown msgtype video → 40008', send({ msgtype: 'video', video: { media_id: 'x' } }), reject('wecom.msgtype.unknown', 40008)],
      ['msgtype is case-sensitive (TEXT) → 40008', send({ msgtype: 'TEXT', TEXT: { content: 'hi' } }), reject('wecom.msgtype.unknown', 40008)],
      ['app-only msgtype textcard → 40008', send({ msgtype: 'textcard', textcard: { title: 't' } }), reject('wecom.msgtype.unknown', 40008)],
    ]);
  });

  describe('text', () => {
    runCases([
      ['plain text with mentions by id and mobile', text('部署完成 deploy finished <@zhangsan>', { mentioned_list: ['zhangsan'], mentioned_mobile_list: ['13800001111'] }), ALLOW],
      ['unknown extra fields are left to WeCom (ignored there)', send({ msgtype: 'text', text: { content: 'hi', future_field: 1 }, extra: true }), ALLOW],
      ['2048 ASCII bytes', text('a'.repeat(2048)), ALLOW],
      ['682 CJK + 2 ASCII = 2048 bytes', text(CJK.repeat(682) + 'ab'), ALLOW],
      ['2049 ASCII bytes', text('a'.repeat(2049)), reject('wecom.text', 40058)],
      ['700 CJK characters = 2100 bytes (< 2048 characters)', text(CJK.repeat(700)), reject('wecom.text', 40058)],
      ['683 CJK characters = 2049 bytes', text(CJK.repeat(683)), reject('wecom.text', 40058)],
      ['emoji count 4 bytes each: 513 × 😀 = 2052 bytes', text('😀'.repeat(513)), reject('wecom.text', 40058)],
      ['empty content → 44004', text(''), reject('wecom.content.empty', 44004)],
      ['missing content', send({ msgtype: 'text', text: {} }), reject('wecom.text', 40058)],
      ['content not a string', text(42), reject('wecom.text', 40058)],
      ['mentioned_list not an array', text('hi', { mentioned_list: 'zhangsan' }), reject('wecom.text', 40058)],
      ['mentioned_list of non-strings', text('hi', { mentioned_list: [1, 2] }), reject('wecom.text', 40058)],
      ['mentioned_mobile_list not an array', text('hi', { mentioned_mobile_list: '13800001111' }), reject('wecom.text', 40058)],
    ]);
  });

  describe('markdown and markdown_v2', () => {
    runCases([
      ['markdown with colour and inline mention', markdown('# 标题\n<font color="info">ok</font> <@zhangsan>'), ALLOW],
      ['markdown 4096 ASCII bytes', markdown('a'.repeat(4096)), ALLOW],
      ['markdown 1365 CJK = 4095 bytes', markdown(CJK.repeat(1365)), ALLOW],
      ['markdown 4097 bytes', markdown('a'.repeat(4097)), reject('wecom.markdown', 40058)],
      ['markdown 1400 CJK = 4200 bytes', markdown(CJK.repeat(1400)), reject('wecom.markdown', 40058)],
      ['markdown empty → 44004', markdown(''), reject('wecom.content.empty', 44004)],
      ['markdown missing content', send({ msgtype: 'markdown', markdown: { text: 'hi' } }), reject('wecom.markdown', 40058)],
      ['markdown_v2 table', markdownV2('| a | b |\n|---|---|\n| 1 | 2 |'), ALLOW],
      ['markdown_v2 4096 bytes', markdownV2('b'.repeat(4096)), ALLOW],
      ['markdown_v2 4097 bytes', markdownV2('b'.repeat(4097)), reject('wecom.markdown_v2', 40058)],
      ['markdown_v2 1400 CJK = 4200 bytes', markdownV2(CJK.repeat(1400)), reject('wecom.markdown_v2', 40058)],
      ['markdown_v2 empty → 44004', markdownV2(''), reject('wecom.content.empty', 44004)],
      ['markdown_v2 content not a string', markdownV2(['a']), reject('wecom.markdown_v2', 40058)],
    ]);
  });

  describe('image', () => {
    const png = tinyPng();
    const base64 = png.toString('base64');
    runCases([
      ['a real 1×1 PNG with its md5', image(png), ALLOW],
      ['md5 in upper case', image(png, md5(png).toUpperCase()), ALLOW],
      ['a JPEG', image(TINY_JPEG), ALLOW],
      ['exactly 2 MiB', image(pngOfSize(2 * MiB)), ALLOW],
      ['2 MiB + 1 byte', image(pngOfSize(2 * MiB + 1)), reject('wecom.image', 40058)],
      ['wrong md5 (of other bytes)', image(png, md5(TINY_JPEG)), reject('wecom.image', 40058)],
      ['md5 of the base64 text instead of the bytes', image(png, md5(Buffer.from(base64))), reject('wecom.image', 40058)],
      ['md5 not 32 hex digits', image(png, 'not-an-md5'), reject('wecom.image', 40058)],
      ['a GIF (magic GIF89a) with a correct md5', image(TINY_GIF), reject('wecom.image', 40058)],
      ['not base64', send({ msgtype: 'image', image: { base64: '!!!not base64!!!', md5: md5(png) } }), reject('wecom.image', 40058)],
      ['missing md5', send({ msgtype: 'image', image: { base64 } }), reject('wecom.image', 40058)],
      ['missing base64', send({ msgtype: 'image', image: { md5: md5(png) } }), reject('wecom.image', 40058)],
    ]);

    it('base64 that happens to contain a credential-like run is not scanned as text', () => {
      // PNG magic + 1 byte = 9 bytes = 12 base64 chars; then 4-char groups chosen to spell out an
      // Aliyun-shaped key id between a '/' and a '+' (40 chars, no padding, so it round-trips).
      const base64 = `${Buffer.concat([PNG_MAGIC, Buffer.from([0])]).toString('base64')}AAA/LTAIabcdefghijklmnop+AAA`;
      const bytes = Buffer.from(base64, 'base64');
      assert.equal(bytes.toString('base64'), base64);
      assert.equal(policies.decide(text(base64)).rule, 'guard.credential.aliyun-access-key'); // as text it would match
      assert.equal(policies.decide(image(bytes)).rule, 'default');
    });
  });

  describe('news', () => {
    runCases([
      ['one article, title and url only', news([article(1)]), ALLOW],
      ['8 articles with description and picurl', news(items(8, (i) => ({ ...article(i), description: '描述', picurl: 'https://example.com/p.png' }))), ALLOW],
      ['9 articles → 45008', news(items(9, article)), reject('wecom.news.too-many-articles', 45008)],
      ['no articles', news([]), reject('wecom.news', 40058)],
      ['articles missing', send({ msgtype: 'news', news: {} }), reject('wecom.news', 40058)],
      ['articles not an array', news({ title: 't', url: 'u' }), reject('wecom.news', 40058)],
      ['article without title', news([{ url: 'https://example.com' }]), reject('wecom.news', 40058)],
      ['article without url', news([{ title: 'only a title' }]), reject('wecom.news', 40058)],
      ['article with an empty url', news([{ title: 't', url: '' }]), reject('wecom.news', 40058)],
      ['title 128 bytes (42 CJK + 2)', news([{ ...article(1), title: CJK.repeat(42) + 'ab' }]), ALLOW],
      ['title 129 bytes (43 CJK)', news([{ ...article(1), title: CJK.repeat(43) }]), reject('wecom.news.article-length', 40058)],
      ['description 512 bytes', news([{ ...article(1), description: 'd'.repeat(512) }]), ALLOW],
      ['description 513 bytes (171 CJK)', news([{ ...article(1), description: CJK.repeat(171) }]), reject('wecom.news.article-length', 40058)],
    ]);
  });

  describe('file and voice', () => {
    runCases([
      ['file with a media_id', send({ msgtype: 'file', file: { media_id: '3a8asd892asd8asd' } }), ALLOW],
      ['file without media_id', send({ msgtype: 'file', file: {} }), reject('wecom.file', 40058)],
      ['file with an empty media_id', send({ msgtype: 'file', file: { media_id: '' } }), reject('wecom.file', 40058)],
      ['voice with a media_id', send({ msgtype: 'voice', voice: { media_id: '3MOsU1iEo0WT-J_xEyDWxEu' } }), ALLOW],
      ['voice without media_id', send({ msgtype: 'voice', voice: { mediaId: 'x' } }), reject('wecom.voice', 40058)],
      ['voice media_id not a string', send({ msgtype: 'voice', voice: { media_id: 12345 } }), reject('wecom.voice', 40058)],
    ]);
  });

  describe('template_card', () => {
    const full = textNotice({
      source: { icon_url: 'https://example.com/i.png', desc: '企业微信', desc_color: 3 },
      emphasis_content: { title: '100', desc: '数据含义' },
      quote_area: { type: 1, url: 'https://example.com', title: '引用', quote_text: '内容' },
      sub_title_text: '下载企业微信还能抢红包！',
      horizontal_content_list: [
        { keyname: '邀请人', value: '张三' },
        { keyname: '官网', value: '点击访问', type: 1, url: 'https://work.weixin.qq.com' },
        { keyname: '附件', value: 'a.pdf', type: 2, media_id: 'MEDIAID' },
        { keyname: '员工', value: '李四', type: 3, userid: 'lisi' },
        { keyname: 'k5' },
        { keyname: 'k6', type: 0 },
      ],
      jump_list: [{ type: 1, url: 'https://example.com', title: '官网' }, { type: 2, appid: 'APPID', title: '小程序' }, { title: '纯文本' }],
      card_action: { type: 2, appid: 'APPID', pagepath: 'PAGEPATH' },
    });
    runCases([
      ['text_notice, minimal', textNotice(), ALLOW],
      ['text_notice with every optional field at its limit', full, ALLOW],
      ['text_notice with sub_title_text and an empty main_title', textNotice({ main_title: {}, sub_title_text: '副标题' }), ALLOW],
      ['news_notice with every list at its limit', newsNotice({
        image_text_area: { type: 1, url: 'https://example.com', title: '图文', image_url: 'https://example.com/a.png' },
        vertical_content_list: items(4, (i) => ({ title: `二级标题${i}`, desc: 'desc' })),
        horizontal_content_list: items(6, (i) => ({ keyname: `k${i}`, value: 'v' })),
        jump_list: items(3, (i) => ({ title: `跳转${i}`, type: 1, url: 'https://example.com' })),
      }), ALLOW],
      ['news_notice aspect_ratio 1.3', newsNotice({ card_image: { url: 'https://example.com/b.png', aspect_ratio: 1.3 } }), ALLOW],
      ['news_notice without aspect_ratio (default)', newsNotice({ card_image: { url: 'https://example.com/b.png' } }), ALLOW],
      ['card_type missing', send({ msgtype: 'template_card', template_card: without(cardOf(textNotice()), 'card_type') }), reject('wecom.template_card', 40058)],
      ['card_type button_interaction (not for robots)', textNotice({ card_type: 'button_interaction' }), reject('wecom.template_card', 40058)],
      ['card_action missing', send({ msgtype: 'template_card', template_card: without(cardOf(textNotice()), 'card_action') }), reject('wecom.template_card', 40058)],
      ['card_action type missing', textNotice({ card_action: { url: 'https://example.com' } }), reject('wecom.template_card', 40058)],
      ['card_action type 1 without url', textNotice({ card_action: { type: 1 } }), reject('wecom.template_card', 40058)],
      ['card_action type 2 without appid', textNotice({ card_action: { type: 2, pagepath: 'p' } }), reject('wecom.template_card', 40058)],
      ['card_action type 3', textNotice({ card_action: { type: 3, url: 'https://example.com' } }), reject('wecom.template_card', 40058)],
      ['text_notice without main_title', send({ msgtype: 'template_card', template_card: { ...without(cardOf(textNotice()), 'main_title'), sub_title_text: 's' } }), reject('wecom.template_card', 40058)],
      ['text_notice with neither main_title.title nor sub_title_text', textNotice({ main_title: { desc: 'only a desc' } }), reject('wecom.template_card', 40058)],
      ['news_notice without main_title.title', newsNotice({ main_title: { desc: 'd' } }), reject('wecom.template_card', 40058)],
      ['news_notice without card_image', send({ msgtype: 'template_card', template_card: without(cardOf(newsNotice()), 'card_image') }), reject('wecom.template_card', 40058)],
      ['news_notice card_image without url', newsNotice({ card_image: { aspect_ratio: 1.5 } }), reject('wecom.template_card', 40058)],
      ['news_notice aspect_ratio 1.29', newsNotice({ card_image: { url: 'u', aspect_ratio: 1.29 } }), reject('wecom.template_card', 40058)],
      ['news_notice aspect_ratio 2.26', newsNotice({ card_image: { url: 'u', aspect_ratio: 2.26 } }), reject('wecom.template_card', 40058)],
      ['horizontal_content_list of 7', textNotice({ horizontal_content_list: items(7, (i) => ({ keyname: `k${i}` })) }), reject('wecom.template_card', 40058)],
      ['horizontal item without keyname', textNotice({ horizontal_content_list: [{ value: 'v' }] }), reject('wecom.template_card', 40058)],
      ['horizontal type 1 without url', textNotice({ horizontal_content_list: [{ keyname: 'k', type: 1 }] }), reject('wecom.template_card', 40058)],
      ['horizontal type 2 without media_id', textNotice({ horizontal_content_list: [{ keyname: 'k', type: 2, url: 'u' }] }), reject('wecom.template_card', 40058)],
      ['horizontal type 3 without userid', textNotice({ horizontal_content_list: [{ keyname: 'k', type: 3 }] }), reject('wecom.template_card', 40058)],
      ['jump_list of 4', textNotice({ jump_list: items(4, (i) => ({ title: `t${i}` })) }), reject('wecom.template_card', 40058)],
      ['jump_list item without title', textNotice({ jump_list: [{ type: 1, url: 'https://example.com' }] }), reject('wecom.template_card', 40058)],
      ['vertical_content_list of 5', newsNotice({ vertical_content_list: items(5, (i) => ({ title: `t${i}` })) }), reject('wecom.template_card', 40058)],
      ['vertical item without title', newsNotice({ vertical_content_list: [{ desc: 'd' }] }), reject('wecom.template_card', 40058)],
      ['source.desc_color 4', textNotice({ source: { desc: 'src', desc_color: 4 } }), reject('wecom.template_card', 40058)],
      ['image_text_area without image_url', newsNotice({ image_text_area: { title: '图文' } }), reject('wecom.template_card', 40058)],
    ]);
  });

  describe('upload_media', () => {
    runCases([
      ['file of 6 bytes', upload('file', { size: 6 }), ALLOW],
      ['file of 20 MiB', upload('file', { size: 20 * MiB }), ALLOW],
      ['file of 5 bytes', upload('file', { size: 5 }), reject('wecom.upload.file-size', 40058)],
      ['file of 20 MiB + 1', upload('file', { size: 20 * MiB + 1 }), reject('wecom.upload.file-size', 40058)],
      ['voice of 2 MiB', upload('voice', { filename: 'memo.amr', size: 2 * MiB, contentType: 'audio/amr' }), ALLOW],
      ['voice of 2 MiB + 1', upload('voice', { filename: 'memo.amr', size: 2 * MiB + 1 }), reject('wecom.upload.voice-size', 40058)],
      ['empty voice', upload('voice', { filename: 'memo.amr', size: 0 }), reject('wecom.upload.voice-size', 40058)],
      ['no type parameter', upload(undefined, { size: 100 }), reject('wecom.upload.type', 40058)],
      ['type=image (images are sent inline)', upload('image', { size: 100 }), reject('wecom.upload.type', 40058)],
      ['no media part', upload('file'), reject('wecom.upload.media-missing', 40058)],
      ['a credential in the filename (shown in chat)', upload('file', { filename: 'AKIAIOSFODNN7EXAMPLE.txt', size: 100 }), reject('guard.credential.aws-access-key', 9900001)],
    ]);
  });

  describe('credentials are rejected, one rule per kind', () => {
    const cases: Case[] = [];
    for (const [rule, samples] of Object.entries(CREDENTIALS)) {
      samples.forEach((sample, i) => cases.push([`${rule} #${i + 1} in text`, text(sample), reject(rule, 9900001)]));
    }
    runCases(cases);
  });

  describe('credentials are found in every text field of every msgtype', () => {
    const key = 'AKIAIOSFODNN7EXAMPLE';
    const aws = reject('guard.credential.aws-access-key', 9900001);
    runCases([
      ['markdown content', markdown(`**key** ${key}`), aws],
      ['markdown_v2 code block', markdownV2('```\nexport AWS_ACCESS_KEY_ID=' + key + '\n```'), aws],
      ['news article description', news([{ ...article(1), description: `key ${key}` }]), aws],
      ['news article url', news([{ ...article(1), url: `https://example.com/?ak=${key}` }]), aws],
      ['template_card quote_area', textNotice({ quote_area: { quote_text: `凭证 ${key}` } }), aws],
      ['template_card horizontal value', textNotice({ horizontal_content_list: [{ keyname: 'AK', value: key }] }), aws],
      ['template_card card_action url', textNotice({ card_action: { type: 1, url: `https://example.com/?k=${key}` } }), aws],
      ['file media_id', send({ msgtype: 'file', file: { media_id: key } }), aws],
      ['text mention list', text('hi', { mentioned_list: [key] }), aws],
    ]);
  });

  describe('prose about credentials is not a credential', () => {
    runCases(BENIGN_PROSE.map((sentence, i): Case => [`benign sentence #${i + 1}`, text(sentence), ALLOW]));
    runCases(BENIGN_PROSE.map((sentence, i): Case => [`benign sentence #${i + 1} as markdown`, markdown(sentence), ALLOW]));
  });

  describe('mass mention', () => {
    runCases([
      ['@all in mentioned_list → approve', text('all hands at 3pm', { mentioned_list: ['@all'] }), approve('guard.mass-mention')],
      ['@all in mentioned_mobile_list → approve', text('all hands at 3pm', { mentioned_mobile_list: ['@all'] }), approve('guard.mass-mention')],
      ['@all mixed with ids → approve', text('hi', { mentioned_list: ['zhangsan', '@all', 'lisi'] }), approve('guard.mass-mention')],
      ['named mentions only', text('hi', { mentioned_list: ['zhangsan', 'all'], mentioned_mobile_list: ['13800001111'] }), ALLOW],
      ['"@all" written in markdown content is not a mention', markdown('ping @all'), ALLOW],
      ['credential + @all → rejected, not parked', text('key AKIAIOSFODNN7EXAMPLE', { mentioned_list: ['@all'] }), reject('guard.credential.aws-access-key', 9900001)],
      ['private key + @all in mobile list → rejected', text('-----BEGIN RSA PRIVATE KEY-----', { mentioned_mobile_list: ['@all'] }), reject('guard.credential.private-key', 9900001)],
      ['over-long text with @all → the contract refuses it first', text('a'.repeat(2049), { mentioned_list: ['@all'] }), reject('wecom.text', 40058)],
    ]);
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
    const started = process.hrtime.bigint();
    const decision = policies.decide(textNotice({ horizontal_content_list: hostile.slice(0, 6).map((value, i) => ({ keyname: `k${i}`, value })), jump_list: hostile.slice(6, 9).map((title) => ({ title })), sub_title_text: hostile.slice(9).join(' ') }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(decision.rule, 'default');
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});
