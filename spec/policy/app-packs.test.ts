import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PolicySet } from '../../lib/policy/compile.js';
import { packageRoot } from '../../lib/paths.js';
import type { PolicyRequest } from '../../lib/policy/types.js';
import { ALLOW, approve, caseRunner, reject, type Case } from '../fixtures/decisions.js';

// The shipped packs for the self-built-app API (policies/15-app-contract.yaml and
// 25-app-guardrails.yaml), decided through the real engine together with every other shipped
// pack, as the firewall loads them. Every case asserts the action, the deciding rule and the
// errcode only: reasons are wording for people and may change.

const policies = new PolicySet([join(packageRoot(), 'policies')]);

const MESSAGE = '/cgi-bin/message/send';
const APPCHAT = '/cgi-bin/appchat/send';
const AGENTID = 1000002;

/** message/send with a valid envelope (one userid, the app's agentid) unless overridden. */
function message(msgtype: string, inner: unknown, envelope: Record<string, unknown> = {}): PolicyRequest {
  return messageRaw({ touser: 'zhangsan', agentid: AGENTID, msgtype, [msgtype]: inner, ...envelope });
}
/** message/send with exactly this body (for envelopes without the defaults). */
function messageRaw(body: Record<string, unknown>): PolicyRequest {
  return { route: 'app.message_send', path: MESSAGE, app: 'notify', caller: 'agent', msgtype: body.msgtype as string, payload: body };
}
function appchat(msgtype: string, inner: unknown, envelope: Record<string, unknown> = {}): PolicyRequest {
  const body = { chatid: 'CHAT0001', msgtype, [msgtype]: inner, safe: 0, ...envelope };
  return { route: 'app.appchat_send', path: APPCHAT, app: 'notify', caller: 'agent', msgtype, payload: body };
}
function admin(path: string, payload: Record<string, unknown>): PolicyRequest {
  return { route: 'app.admin', path, app: 'notify', caller: 'agent', msgtype: undefined, payload };
}
function webhook(body: Record<string, unknown>): PolicyRequest {
  return { route: 'webhook.send', path: '/cgi-bin/webhook/send', robot: 'team', caller: 'agent', msgtype: body.msgtype as string, payload: body };
}

const runCases = caseRunner(policies);

// ---------------------------------------------------------------------------------------------
// payload builders
// ---------------------------------------------------------------------------------------------

const CJK = '中'; // 3 UTF-8 bytes
const items = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));
const users = (n: number) => items(n, (i) => `user${i}`).join('|');
const ids = (n: number) => items(n, (i) => String(i + 1)).join('|');

const article = (n: number) => ({ title: `第${n}条 news`, url: `https://example.com/${n}` });
const mpArticle = (n: number) => ({ title: `第${n}篇`, thumb_media_id: 'THUMB_MEDIA_ID', content: '<p>正文</p>', author: 'ops', digest: '摘要' });
const textcard = { title: '领奖通知', description: '<div class="gray">2024年1月1日</div>', url: 'https://example.com/award', btntxt: '详情' };

/** A valid message of each msgtype the app API knows. */
const VALID: Record<string, unknown> = {
  text: { content: '你的快递已到，请携带工卡前往邮件中心领取。' },
  image: { media_id: 'MEDIA_ID_IMAGE' },
  voice: { media_id: 'MEDIA_ID_VOICE' },
  video: { media_id: 'MEDIA_ID_VIDEO', title: '周会录像', description: '本周例会' },
  file: { media_id: 'MEDIA_ID_FILE' },
  textcard,
  news: { articles: [{ ...article(1), description: '描述', picurl: 'https://example.com/p.png' }] },
  mpnews: { articles: [mpArticle(1)] },
  markdown: { content: '**告警** 服务 `api` 恢复\n> 持续 3 分钟' },
  miniprogram_notice: {
    appid: 'wx123123123123123',
    page: 'pages/index?userid=zhangsan',
    title: '会议室预订成功通知',
    description: '4月27日 16:16',
    emphasis_first_item: true,
    content_item: [{ key: '会议室', value: '402' }],
  },
  template_card: {
    card_type: 'button_interaction',
    main_title: { title: '审批', desc: '请假申请' },
    task_id: 'task-1',
    button_list: [{ text: '同意', style: 1, key: 'agree' }, { text: '驳回', style: 2, key: 'reject' }],
  },
};
const APPCHAT_MSGTYPES = ['text', 'image', 'voice', 'video', 'file', 'textcard', 'news', 'mpnews', 'markdown'];

const withoutKey = (obj: unknown, key: string) => Object.fromEntries(Object.entries(obj as object).filter(([k]) => k !== key));
const dropKey = (req: PolicyRequest, key: string): PolicyRequest => ({ ...req, payload: withoutKey(req.payload, key) });

// ---------------------------------------------------------------------------------------------

describe('shipped app packs', () => {
  it('load in name order between the webhook packs, with the single default (allow)', () => {
    const packs = [...new Set(policies.rules.map((r) => r.pack))];
    assert.deepEqual(packs, ['wecom-contract', 'app-contract', 'guardrails', 'app-guardrails']);
    assert.equal(policies.defaultDecision.action, 'allow');
  });

  describe('a valid message of every msgtype is allowed', () => {
    runCases(Object.entries(VALID).map(([msgtype, inner]): Case => [`message/send ${msgtype}`, message(msgtype, inner), ALLOW]));
    runCases(APPCHAT_MSGTYPES.map((msgtype): Case => [`appchat/send ${msgtype}`, appchat(msgtype, VALID[msgtype]), ALLOW]));
  });

  describe('msgtype', () => {
    const unknown = reject('app.msgtype.unknown', 40008);
    const unknownInChat = reject('app.appchat.msgtype.unknown', 40008);
    runCases([
      ['markdown_v2 (robot only)', message('markdown_v2', { content: 'x' }), unknown],
      ['link (not a WeCom msgtype)', message('link', { url: 'https://example.com' }), unknown],
      ['Text (case matters)', message('Text', { content: 'x' }), unknown],
      ['appchat miniprogram_notice', appchat('miniprogram_notice', VALID.miniprogram_notice), unknownInChat],
      ['appchat template_card', appchat('template_card', VALID.template_card), unknownInChat],
      ['appchat markdown_v2', appchat('markdown_v2', { content: 'x' }), unknownInChat],
    ]);
  });

  describe('recipients', () => {
    const text = VALID.text;
    const body = (envelope: Record<string, unknown>) => messageRaw({ agentid: AGENTID, msgtype: 'text', text, ...envelope });
    const missing = reject('app.recipients.missing', 40058);
    runCases([
      ['one userid', body({ touser: 'zhangsan' }), ALLOW],
      ['no touser, toparty or totag', body({}), missing],
      ['all three empty strings', body({ touser: '', toparty: '', totag: '' }), missing],
      ['only separators and blanks', body({ touser: '|', toparty: ' | ' }), missing],
      ['1001 userids', body({ touser: users(1001) }), reject('app.recipients.touser', 40058)],
      ['touser as a JSON array', body({ touser: ['zhangsan', 'lisi'] }), reject('app.recipients.touser', 40058)],
      ['toparty of 101 departments', body({ toparty: ids(101) }), reject('app.recipients.toparty', 40058)],
      ['toparty as a number', body({ toparty: 2 }), reject('app.recipients.toparty', 40058)],
      ['totag of 101 tags', body({ totag: ids(101) }), reject('app.recipients.totag', 40058)],
      ['totag of 101 tags beside a valid touser', body({ touser: 'zhangsan', totag: ids(101) }), reject('app.recipients.totag', 40058)],
    ]);
  });

  describe('envelope', () => {
    const text = VALID.text;
    runCases([
      ['agentid missing', messageRaw({ touser: 'zhangsan', msgtype: 'text', text }), reject('app.agentid', 40058)],
      ['agentid as a string', message('text', text, { agentid: String(AGENTID) }), reject('app.agentid', 40058)],
      ['agentid not an integer', message('text', text, { agentid: 1000002.5 }), reject('app.agentid', 40058)],
      ['safe 0', message('text', text, { safe: 0 }), ALLOW],
      ['safe 1', message('text', text, { safe: 1 }), ALLOW],
      ['safe 2 for mpnews', message('mpnews', VALID.mpnews, { safe: 2 }), ALLOW],
      ['safe 2 for text', message('text', text, { safe: 2 }), reject('app.safe', 40058)],
      ['safe 3', message('text', text, { safe: 3 }), reject('app.safe', 40058)],
      ['safe "1" (a string)', message('text', text, { safe: '1' }), reject('app.safe', 40058)],
      ['appchat safe 2 for mpnews', appchat('mpnews', VALID.mpnews, { safe: 2 }), ALLOW],
      ['appchat safe 2 for text', appchat('text', text, { safe: 2 }), reject('app.safe', 40058)],
      ['appchat safe 5', appchat('text', text, { safe: 5 }), reject('app.safe', 40058)],
      ['duplicate check on, 14400 s', message('text', text, { enable_duplicate_check: 1, duplicate_check_interval: 14400 }), ALLOW],
      ['duplicate check off', message('text', text, { enable_duplicate_check: 0 }), ALLOW],
      ['enable_duplicate_check 2', message('text', text, { enable_duplicate_check: 2 }), reject('app.duplicate-check.flag', 40058)],
      ['enable_duplicate_check true', message('text', text, { enable_duplicate_check: true }), reject('app.duplicate-check.flag', 40058)],
      ['duplicate_check_interval 14401', message('text', text, { enable_duplicate_check: 1, duplicate_check_interval: 14401 }), reject('app.duplicate-check.interval', 40058)],
      ['duplicate_check_interval "1800"', message('text', text, { duplicate_check_interval: '1800' }), reject('app.duplicate-check.interval', 40058)],
      ['appchat without chatid', dropKey(appchat('text', text), 'chatid'), reject('app.appchat.chatid', 40058)],
      ['appchat with an empty chatid', appchat('text', text, { chatid: '' }), reject('app.appchat.chatid', 40058)],
    ]);
  });

  describe('text and markdown', () => {
    const cases: Case[] = [];
    for (const [route, send] of [['message/send', message], ['appchat/send', appchat]] as const) {
      for (const msgtype of ['text', 'markdown']) {
        cases.push(
          [`${route} ${msgtype} of 2048 bytes (682 CJK + 2)`, send(msgtype, { content: CJK.repeat(682) + 'ab' }), ALLOW],
          [`${route} ${msgtype} of 2049 bytes (683 CJK)`, send(msgtype, { content: CJK.repeat(683) }), reject(`app.${msgtype}`, 40058)],
          [`${route} ${msgtype} of 1 byte`, send(msgtype, { content: 'a' }), ALLOW],
          [`${route} ${msgtype} empty → 44004`, send(msgtype, { content: '' }), reject('app.content.empty', 44004)],
          [`${route} ${msgtype} without content`, send(msgtype, {}), reject(`app.${msgtype}`, 40058)],
          [`${route} ${msgtype} content not a string`, send(msgtype, { content: 42 }), reject(`app.${msgtype}`, 40058)],
        );
      }
    }
    runCases(cases);
  });

  describe('media, textcard', () => {
    const cases: Case[] = [];
    for (const msgtype of ['image', 'voice', 'video', 'file']) {
      cases.push(
        [`${msgtype} without media_id`, message(msgtype, {}), reject(`app.${msgtype}`, 40058)],
        [`${msgtype} with an empty media_id`, message(msgtype, { media_id: '' }), reject(`app.${msgtype}`, 40058)],
        [`appchat ${msgtype} media_id not a string`, appchat(msgtype, { media_id: 7 }), reject(`app.${msgtype}`, 40058)],
      );
    }
    for (const field of ['title', 'description', 'url']) {
      cases.push([`textcard without ${field}`, message('textcard', withoutKey(textcard, field)), reject('app.textcard', 40058)]);
      cases.push([`appchat textcard with an empty ${field}`, appchat('textcard', { ...textcard, [field]: '' }), reject('app.textcard', 40058)]);
    }
    cases.push(['textcard without btntxt', message('textcard', withoutKey(textcard, 'btntxt')), ALLOW]);
    runCases(cases);
  });

  describe('news and mpnews', () => {
    runCases([
      ['news of 8 articles', message('news', { articles: items(8, article) }), ALLOW],
      ['news of 9 articles → 45008', message('news', { articles: items(9, article) }), reject('app.articles.too-many', 45008)],
      ['appchat news of 9 articles → 45008', appchat('news', { articles: items(9, article) }), reject('app.articles.too-many', 45008)],
      ['news without articles', message('news', {}), reject('app.news', 40058)],
      ['news of 0 articles', message('news', { articles: [] }), reject('app.news', 40058)],
      ['news article without title', message('news', { articles: [{ url: 'https://example.com' }] }), reject('app.news', 40058)],
      ['news article without url', message('news', { articles: [{ title: 't' }] }), reject('app.news', 40058)],
      ['news article with an empty url', message('news', { articles: [{ title: 't', url: '' }] }), reject('app.news', 40058)],
      ['news article to a mini program (appid + pagepath, no url)', message('news', { articles: [{ title: 't', appid: 'wx123', pagepath: 'pages/index' }] }), ALLOW],
      ['news article with appid but no pagepath or url', message('news', { articles: [{ title: 't', appid: 'wx123' }] }), reject('app.news', 40058)],
      ['mpnews of 8 articles', message('mpnews', { articles: items(8, mpArticle) }), ALLOW],
      ['mpnews of 9 articles → 45008', message('mpnews', { articles: items(9, mpArticle) }), reject('app.articles.too-many', 45008)],
      ['mpnews of 0 articles', message('mpnews', { articles: [] }), reject('app.mpnews', 40058)],
      ['mpnews article without thumb_media_id', message('mpnews', { articles: [withoutKey(mpArticle(1), 'thumb_media_id')] }), reject('app.mpnews', 40058)],
      ['mpnews article without content', appchat('mpnews', { articles: [withoutKey(mpArticle(1), 'content')] }), reject('app.mpnews', 40058)],
    ]);
  });

  describe('mass sends are parked for approval', () => {
    const text = VALID.text;
    const to = (envelope: Record<string, unknown>) => messageRaw({ agentid: AGENTID, msgtype: 'text', text, ...envelope });
    const atAll = approve('guard.app.mass-send.at-all');
    runCases([
      ['touser @all', to({ touser: '@all' }), atAll],
      ['@all among userids', to({ touser: 'zhangsan|@all|lisi' }), atAll],
      ['@all last', to({ touser: 'zhangsan|@all' }), atAll],
      ['@ALL (upper case)', to({ touser: '@ALL' }), atAll],
      ['@all with blanks around it', to({ touser: 'zhangsan| @all ' }), atAll],
      ['@all beside toparty and totag (WeCom ignores them)', to({ touser: '@all', toparty: '1', totag: '2' }), atAll],
      ['@all in a markdown message', message('markdown', VALID.markdown, { touser: '@all' }), atAll],
      ['a userid merely containing "all"', to({ touser: 'allen|@allen|wall' }), ALLOW],
      ['one department', to({ toparty: '2' }), approve('guard.app.mass-send.department')],
      ['100 departments', to({ toparty: ids(100) }), approve('guard.app.mass-send.department')],
      ['a department beside userids', to({ touser: 'zhangsan', toparty: '2' }), approve('guard.app.mass-send.department')],
      ['one tag', to({ totag: '3' }), approve('guard.app.mass-send.tag')],
      ['a tag beside an empty toparty', to({ toparty: '', totag: '3' }), approve('guard.app.mass-send.tag')],
      ['51 userids', to({ touser: users(51) }), approve('guard.app.mass-send.many-users')],
      ['1000 userids', to({ touser: users(1000) }), approve('guard.app.mass-send.many-users')],
      ['50 userids', to({ touser: users(50) }), ALLOW],
      ['50 userids with blank items', to({ touser: `|${users(50)}||` }), ALLOW],
      ['empty toparty and totag beside 2 userids', to({ touser: 'zhangsan|lisi', toparty: '', totag: '' }), ALLOW],
      ['an appchat message is not a mass send', appchat('text', text), ALLOW],
      ['contract first: 1001 userids are refused, not parked', to({ touser: users(1001) }), reject('app.recipients.touser', 40058)],
      ['contract first: over-long text to @all', to({ touser: '@all', text: { content: 'a'.repeat(2049) } }), reject('app.text', 40058)],
      ['guardrails first: a credential to @all is refused, not parked', to({ touser: '@all', text: { content: 'AKIAIOSFODNN7EXAMPLE' } }), reject('guard.credential.aws-access-key', 9900001)],
    ]);
  });

  describe('credentials in app messages are rejected by the guardrails pack', () => {
    runCases([
      ['text', message('text', { content: 'use AKIAIOSFODNN7EXAMPLE to log in' }), reject('guard.credential.aws-access-key', 9900001)],
      ['markdown in an app chat', appchat('markdown', { content: '```\n-----BEGIN RSA PRIVATE KEY-----\n```' }), reject('guard.credential.private-key', 9900001)],
      ['textcard url', message('textcard', { ...textcard, url: 'https://example.com/?t=ghp_16C7e42F292c6912E7710c838347Ae178B4a' }), reject('guard.credential.github-token', 9900001)],
      ['mpnews article content', message('mpnews', { articles: [{ ...mpArticle(1), content: '<p>AccessKeyId=LTAI5tQ8rN3xY7vK2mP9wJ4h</p>' }] }), reject('guard.credential.aliyun-access-key', 9900001)],
      ['template_card', message('template_card', { card_type: 'text_notice', main_title: { title: 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0' } }), reject('guard.credential.bearer-token', 9900001)],
      ['a robot webhook key sent to a department', message('text', { content: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a0c-4bc4-97a0-0ec2a1fa5aaa' }, { touser: '', toparty: '2' }), reject('guard.credential.wecom-webhook-key', 9900001)],
      ['a privileged call carrying a credential', admin('/cgi-bin/user/update', { userid: 'zhangsan', extattr: { attrs: [{ name: 'token', value: 'xoxb-1234567890-1234567890123-AbCdEfGh' }] } }), reject('guard.credential.slack-token', 9900001)],
      ['prose about keys is fine', message('text', { content: 'Please rotate the private key and the API token before Friday.' }), ALLOW],
    ]);
  });

  describe('privileged endpoints are parked for approval', () => {
    const del = approve('guard.app.admin.delete');
    const change = approve('guard.app.admin.permission-change');
    runCases([
      ['GET user/delete', admin('/cgi-bin/user/delete', { userid: 'zhangsan' }), del],
      ['POST user/delete', admin('/cgi-bin/user/delete', { userid: 'zhangsan' }), del],
      ['user/batchdelete', admin('/cgi-bin/user/batchdelete', { useridlist: ['zhangsan', 'lisi'] }), del],
      ['GET department/delete', admin('/cgi-bin/department/delete', { id: '2' }), del],
      ['user/update', admin('/cgi-bin/user/update', { userid: 'zhangsan', department: [1], is_leader_in_dept: [1] }), change],
      ['tag/addtagusers', admin('/cgi-bin/tag/addtagusers', { tagid: 12, userlist: ['zhangsan'] }), change],
      ['tag/deltagusers', admin('/cgi-bin/tag/deltagusers', { tagid: 12, partylist: [4] }), change],
      ['agent/set', admin('/cgi-bin/agent/set', { agentid: AGENTID, home_url: 'https://example.com' }), change],
      ['an empty body is still parked', admin('/cgi-bin/agent/set', {}), change],
    ]);
  });

  describe('the webhook packs are unaffected', () => {
    runCases([
      ['a webhook text is still allowed', webhook({ msgtype: 'text', text: { content: 'deploy finished' } }), ALLOW],
      ['app fields in a webhook body are ignored', webhook({ msgtype: 'text', text: { content: 'hi' }, touser: '@all', toparty: '1' }), ALLOW],
      ['webhook @all mention is still guard.mass-mention', webhook({ msgtype: 'text', text: { content: 'hi', mentioned_list: ['@all'] } }), approve('guard.mass-mention')],
      ['webhook mpnews is still wecom.msgtype.unknown', webhook({ msgtype: 'mpnews', mpnews: { articles: [] } }), reject('wecom.msgtype.unknown', 40008)],
      ['webhook markdown of 4096 bytes is still allowed (the app limit is 2048)', webhook({ msgtype: 'markdown', markdown: { content: 'a'.repeat(4096) } }), ALLOW],
      ['app markdown_v2 is app.msgtype.unknown, not a webhook rule', message('markdown_v2', { content: 'x' }), reject('app.msgtype.unknown', 40008)],
    ]);
  });
});
