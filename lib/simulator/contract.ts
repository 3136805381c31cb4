import { checkImage } from './image.js';
import { invalid, isNonEmptyString, isRecord, isStringArray, OK, utf8Bytes, type Verdict } from './shape.js';
import { checkTemplateCard } from './template-card.js';

// The body rules of POST /cgi-bin/webhook/send, checked in this order: shape, msgtype,
// then the object the msgtype names.

const TEXT_MAX_BYTES = 2048;
const MARKDOWN_MAX_BYTES = 4096;
const MAX_ARTICLES = 8;

/** Whether a media_id was issued to this robot and is still valid. */
export type MediaLookup = (mediaId: string) => boolean;

type MessageCheck = (message: Record<string, unknown>, mediaExists: MediaLookup) => Verdict;

const CHECKS = new Map<string, MessageCheck>([
  ['text', checkText],
  ['markdown', (message) => checkContent(message, 'markdown', MARKDOWN_MAX_BYTES)],
  ['markdown_v2', (message) => checkContent(message, 'markdown_v2', MARKDOWN_MAX_BYTES)],
  ['image', checkImage],
  ['news', checkNews],
  ['file', checkMedia],
  ['voice', checkMedia],
  ['template_card', checkTemplateCard],
]);

export function checkMessage(body: unknown, mediaExists: MediaLookup): Verdict {
  if (!isRecord(body)) return invalid('Warning: wrong json format');
  const { msgtype } = body;
  if (typeof msgtype !== 'string') return { errcode: 40008 };
  const check = CHECKS.get(msgtype);
  if (!check) return { errcode: 40008 };
  const message = body[msgtype];
  if (!isRecord(message)) return invalid(`${msgtype} missing`);
  return check(message, mediaExists);
}

function checkText(text: Record<string, unknown>): Verdict {
  const verdict = checkContent(text, 'text', TEXT_MAX_BYTES);
  if (verdict.errcode !== 0) return verdict;
  for (const list of ['mentioned_list', 'mentioned_mobile_list']) {
    if (text[list] !== undefined && !isStringArray(text[list])) return invalid(`text.${list} must be an array of strings`);
  }
  return OK;
}

// A missing or non-string content is a malformed request (40058); only a present but empty one
// is WeCom's "empty content" (44004).
function checkContent(message: Record<string, unknown>, msgtype: string, maxBytes: number): Verdict {
  const { content } = message;
  if (typeof content !== 'string') return invalid(`${msgtype}.content missing`);
  if (content === '') return { errcode: 44004 };
  if (utf8Bytes(content) > maxBytes) return invalid(`${msgtype}.content exceed max length ${maxBytes}`);
  return OK;
}

function checkNews(news: Record<string, unknown>): Verdict {
  const { articles } = news;
  if (!Array.isArray(articles) || articles.length === 0) return invalid('news.articles missing');
  if (articles.length > MAX_ARTICLES) return { errcode: 45008 };
  for (const [index, article] of articles.entries()) {
    if (!isRecord(article) || !isNonEmptyString(article.title)) return invalid(`news.articles[${index}].title missing`);
    if (!isNonEmptyString(article.url)) return invalid(`news.articles[${index}].url missing`);
  }
  return OK;
}

// A media_id is only good for the robot that uploaded it. A missing one is a malformed request
// (40058); a present but unknown, foreign or expired one is 40007. The media type (file vs voice)
// is not matched against the msgtype: whether WeCom does is unconfirmed.
function checkMedia(message: Record<string, unknown>, mediaExists: MediaLookup): Verdict {
  const { media_id: mediaId } = message;
  if (!isNonEmptyString(mediaId)) return invalid('media_id missing');
  return mediaExists(mediaId) ? OK : { errcode: 40007 };
}
