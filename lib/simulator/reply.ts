import { randomInt } from 'node:crypto';

// WeCom's English errmsg for each errcode the simulator answers. Wording is informative only:
// clients must branch on errcode.
const MESSAGES: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40004: 'invalid media type',
  40005: 'invalid type',
  40006: 'invalid file size',
  40007: 'invalid media_id',
  40008: 'invalid message type',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40056: 'invalid agentid',
  40058: 'invalid Request Parameter',
  41001: 'access_token missing',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  41006: 'media_id missing',
  42001: 'access_token expired',
  44001: 'empty media data',
  44004: 'empty content',
  45001: 'media size out of limit',
  45002: 'content size out of limit',
  45008: 'article size out of limit',
  45009: 'api freq out of limit',
  81013: 'user & party & tag all invalid',
  86003: 'chat not found',
  93000: 'invalid webhook url',
};

export interface WeComAnswer {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

/** `ok` on success; otherwise WeCom's shape: `<text>, hint: [<id>], from ip: <ip>, more info at <url>`. */
export function weComAnswer(errcode: number, ip: string, detail?: string, extra: Record<string, unknown> = {}): WeComAnswer {
  if (errcode === 0) return { errcode, errmsg: 'ok', ...extra };
  const base = MESSAGES[errcode] ?? 'system error';
  const text = detail ? `${detail}. ${base}` : base;
  const errmsg = `${text}, hint: [${hint()}], from ip: ${ip}, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`;
  return { errcode, errmsg, ...extra };
}

/** Real hints are 25 digits: unix seconds followed by 15 request-specific digits. */
function hint(): string {
  const seconds = Math.floor(Date.now() / 1000);
  const digits = Array.from({ length: 3 }, () => String(randomInt(100_000)).padStart(5, '0')).join('');
  return `${seconds}${digits}`;
}
