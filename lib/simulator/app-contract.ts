import type { AppMediaType } from './app-media.js';
import { invalid, isNonEmptyString, isRecord, OK, utf8Bytes, type Verdict } from './shape.js';

// The msgtype rules shared by message/send and appchat/send. As for the robot, a missing required
// field is 40058 and an empty text/markdown content is 44004. WeCom's error table also has "missing
// media_id" (41006) and "missing title" (41016); whether the send APIs use them instead of 40058 is
// unconfirmed.

const CONTENT_MAX_BYTES = 2048;
const MAX_ARTICLES = 8;
const CARD_TYPES = new Set(['text_notice', 'news_notice', 'button_interaction', 'vote_interaction', 'multiple_interaction']);

/** The type of a media_id usable by this app, or undefined when unknown, foreign or expired. */
export type AppMediaLookup = (mediaId: string) => AppMediaType | undefined;

type MessageCheck = (message: Record<string, unknown>, media: AppMediaLookup) => Verdict;

const CHECKS = new Map<string, MessageCheck>([
  ['text', (message) => checkContent(message, 'text')],
  ['markdown', (message) => checkContent(message, 'markdown')],
  ['textcard', checkTextCard],
  ['news', checkNews],
  ['mpnews', checkMpNews],
  ['image', (message, media) => checkMedia(message, media, 'image')],
  ['voice', (message, media) => checkMedia(message, media, 'voice')],
  ['video', (message, media) => checkMedia(message, media, 'video')],
  ['file', (message, media) => checkMedia(message, media, undefined)],
  ['template_card', checkTemplateCard],
  ['miniprogram_notice', checkMiniprogramNotice],
]);

/** `body` is already known to be an object. Unknown or missing msgtype 40008. */
export function checkAppMessage(body: Record<string, unknown>, media: AppMediaLookup): Verdict {
  const { msgtype } = body;
  const check = typeof msgtype === 'string' ? CHECKS.get(msgtype) : undefined;
  if (!check || typeof msgtype !== 'string') return { errcode: 40008 };
  const message = body[msgtype];
  if (!isRecord(message)) return invalid(`${msgtype} missing`);
  return check(message, media);
}

// App text and markdown share the 2048-byte limit. Over it, app text answers 45002 ("message
// content over the size limit"); markdown is assumed to answer the same (unconfirmed), unlike the
// robot's markdown, which answers 40058.
function checkContent(message: Record<string, unknown>, msgtype: string): Verdict {
  const { content } = message;
  if (typeof content !== 'string') return invalid(`${msgtype}.content missing`);
  if (content === '') return { errcode: 44004 };
  if (utf8Bytes(content) > CONTENT_MAX_BYTES) return { errcode: 45002, detail: `${msgtype}.content exceed max length ${CONTENT_MAX_BYTES}` };
  return OK;
}

// title, description and url are required. Their documented lengths (128 / 512 characters) are
// not enforced: the docs say longer values are truncated, not refused.
function checkTextCard(card: Record<string, unknown>): Verdict {
  for (const field of ['title', 'description', 'url']) {
    if (!isNonEmptyString(card[field])) return invalid(`textcard.${field} missing`);
  }
  return OK;
}

/** App news: 1–8 articles, each with a title and a url or a mini-program appid. */
function checkNews(news: Record<string, unknown>): Verdict {
  return checkArticles(news, 'news', (article) =>
    isNonEmptyString(article.url) || isNonEmptyString(article.appid) ? OK : invalid('news article needs url or appid'),
  );
}

/** mpnews: each article needs title, content and a thumb_media_id of an uploaded image. */
function checkMpNews(mpnews: Record<string, unknown>, media: AppMediaLookup): Verdict {
  return checkArticles(mpnews, 'mpnews', (article) => {
    if (!isNonEmptyString(article.content)) return invalid('mpnews article content missing');
    if (!isNonEmptyString(article.thumb_media_id)) return invalid('mpnews article thumb_media_id missing');
    return media(article.thumb_media_id) === 'image' ? OK : { errcode: 40007 };
  });
}

function checkArticles(message: Record<string, unknown>, msgtype: string, checkArticle: (article: Record<string, unknown>) => Verdict): Verdict {
  const { articles } = message;
  if (!Array.isArray(articles) || articles.length === 0) return invalid(`${msgtype}.articles missing`);
  if (articles.length > MAX_ARTICLES) return { errcode: 45008 };
  for (const [index, article] of articles.entries()) {
    if (!isRecord(article) || !isNonEmptyString(article.title)) return invalid(`${msgtype}.articles[${index}].title missing`);
    const verdict = checkArticle(article);
    if (verdict.errcode !== 0) return verdict;
  }
  return OK;
}

// WeCom's 40007 help says the media type must suit the message ("发送图片消息，此时不能用音频文件的
// media_id"), so image/voice/video need media of their own type. A file message takes any media:
// whether WeCom refuses, say, an image sent as a file is unconfirmed.
function checkMedia(message: Record<string, unknown>, media: AppMediaLookup, required: AppMediaType | undefined): Verdict {
  const { media_id: mediaId } = message;
  if (!isNonEmptyString(mediaId)) return invalid('media_id missing');
  const type = media(mediaId);
  if (type === undefined || (required !== undefined && type !== required)) return { errcode: 40007 };
  return OK;
}

/** Minimal: only card_type is checked. The per-type layouts are not modelled. */
function checkTemplateCard(card: Record<string, unknown>): Verdict {
  return typeof card.card_type === 'string' && CARD_TYPES.has(card.card_type) ? OK : invalid('template_card.card_type invalid');
}

function checkMiniprogramNotice(notice: Record<string, unknown>): Verdict {
  if (!isNonEmptyString(notice.appid)) return invalid('miniprogram_notice.appid missing');
  return isNonEmptyString(notice.title) ? OK : invalid('miniprogram_notice.title missing');
}
