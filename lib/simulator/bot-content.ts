import { checkImage } from './image.js';
import { invalid, isNonEmptyString, isRecord, isStringArray, OK, utf8Bytes, type Verdict } from './shape.js';

// What WeCom checks in the bodies of a bot's content frames. Kept modest on purpose: WeCom
// publishes the shapes (the SDK's types) and one limit, 20480 bytes of stream or markdown content
// (SDK README; research §4). The rest are the obvious presence and type checks, answered with the
// HTTP API's code for the same fault, since the bot channel's own codes are not published:
// 40058 malformed or missing field, 40008 unknown msgtype, 44004 empty content, 41006 media_id
// missing, 40007 a media_id this bot did not upload.

export const MAX_CONTENT_BYTES = 20480;
/** "msg_item … 最多支持10个" (intelligent-robot stream reply docs); each is an inline jpg/png. */
const MAX_MSG_ITEMS = 10;
const MEDIA_TYPES: ReadonlySet<string> = new Set(['file', 'image', 'voice', 'video']);

/** Whether a media_id was issued to this bot and is still valid. */
export type MediaCheck = (mediaId: string) => boolean;

/** aibot_respond_msg: a stream, a template card, both, or an uploaded media. */
export function checkRespond(body: unknown, mediaOk: MediaCheck): Verdict {
  if (!isRecord(body)) return invalid('body must be an object');
  switch (body.msgtype) {
    case 'stream':
      return checkStream(body.stream);
    case 'stream_with_template_card': {
      const stream = checkStream(body.stream);
      return stream.errcode !== 0 || body.template_card === undefined ? stream : checkCard(body.template_card);
    }
    case 'template_card':
      return checkCard(body.template_card);
    default:
      return checkMedia(body, mediaOk);
  }
}

/** aibot_send_msg: a message the bot starts, to an explicit chat or user. */
export function checkSend(body: unknown, mediaOk: MediaCheck): Verdict {
  if (!isRecord(body)) return invalid('body must be an object');
  if (!isNonEmptyString(body.chatid)) return invalid('chatid missing');
  switch (body.msgtype) {
    case 'markdown':
      return checkText(body.markdown, 'markdown');
    case 'template_card':
      return checkCard(body.template_card);
    default:
      return checkMedia(body, mediaOk);
  }
}

/** aibot_respond_welcome_msg: text or a template card. */
export function checkWelcome(body: unknown): Verdict {
  if (!isRecord(body)) return invalid('body must be an object');
  if (body.msgtype === 'text') return checkText(body.text, 'text');
  if (body.msgtype === 'template_card') return checkCard(body.template_card);
  return { errcode: 40008 };
}

/** aibot_respond_update_msg: the card that replaces the one clicked, for some or all of its viewers. */
export function checkUpdate(body: unknown): Verdict {
  if (!isRecord(body)) return invalid('body must be an object');
  if (body.response_type !== 'update_template_card') return invalid('response_type must be update_template_card');
  if (body.userids !== undefined && !isStringArray(body.userids)) return invalid('userids must be an array of userids');
  return checkCard(body.template_card);
}

/**
 * aibot_send_biz_msg (the plugin's doc-authorisation card): `biz_type`, and `chat_type` 1 (single,
 * to `userid`) or 2 (group, to `chat_id`) as in the plugin's WwOpenWsSendAiBotBizMsgReq comment.
 */
export function checkBiz(body: unknown): Verdict {
  if (!isRecord(body)) return invalid('body must be an object');
  if (!Number.isInteger(body.biz_type)) return invalid('biz_type must be an integer');
  if (body.chat_type !== 1 && body.chat_type !== 2) return invalid('chat_type must be 1 (single) or 2 (group)');
  const target = body.chat_type === 2 ? body.chat_id : body.userid;
  return isNonEmptyString(target) ? OK : invalid(body.chat_type === 2 ? 'chat_id missing' : 'userid missing');
}

function checkText(value: unknown, name: string): Verdict {
  if (!isRecord(value) || typeof value.content !== 'string') return invalid(`${name}.content missing`);
  if (value.content === '') return { errcode: 44004 };
  return utf8Bytes(value.content) > MAX_CONTENT_BYTES ? invalid(`${name}.content exceed max length ${MAX_CONTENT_BYTES}`) : OK;
}

/** Each stream frame carries the whole text so far, so the limit applies to every frame. */
function checkStream(stream: unknown): Verdict {
  if (!isRecord(stream)) return invalid('stream missing');
  if (!isNonEmptyString(stream.id)) return invalid('stream.id missing');
  if (stream.finish !== undefined && typeof stream.finish !== 'boolean') return invalid('stream.finish must be a boolean');
  if (stream.content !== undefined && typeof stream.content !== 'string') return invalid('stream.content must be a string');
  if (utf8Bytes(stream.content ?? '') > MAX_CONTENT_BYTES) return invalid(`stream.content exceed max length ${MAX_CONTENT_BYTES}`);
  return stream.msg_item === undefined ? OK : checkMsgItems(stream.msg_item);
}

function checkMsgItems(items: unknown): Verdict {
  if (!Array.isArray(items)) return invalid('stream.msg_item must be an array');
  if (items.length > MAX_MSG_ITEMS) return invalid(`stream.msg_item exceed max count ${MAX_MSG_ITEMS}`);
  for (const item of items as unknown[]) {
    if (!isRecord(item) || item.msgtype !== 'image' || !isRecord(item.image)) return invalid('stream.msg_item must hold {msgtype: "image", image}');
    const verdict = checkImage(item.image);
    if (verdict.errcode !== 0) return verdict;
  }
  return OK;
}

/** Only the card's presence and type: the card grammar is large and its rules unpublished for bots. */
function checkCard(card: unknown): Verdict {
  if (!isRecord(card)) return invalid('template_card missing');
  return isNonEmptyString(card.card_type) ? OK : invalid('template_card.card_type missing');
}

function checkMedia(body: Record<string, unknown>, mediaOk: MediaCheck): Verdict {
  const type = body.msgtype;
  if (typeof type !== 'string' || !MEDIA_TYPES.has(type)) return { errcode: 40008 };
  const media = body[type];
  if (!isRecord(media) || !isNonEmptyString(media.media_id)) return { errcode: 41006 };
  return mediaOk(media.media_id) ? OK : { errcode: 40007 };
}
