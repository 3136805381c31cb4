import { randomBytes } from 'node:crypto';
import { checkAppMessage, type AppMediaLookup } from './app-contract.js';
import { authorize, jsonObject, type AppRequest, type AppResult } from './app-request.js';
import type { App } from './apps.js';
import type { MemberLimit } from './member-limit.js';
import { parseTargets, resolveTargets } from './recipients.js';
import { invalid, isNonEmptyString, isRecord, type Verdict } from './shape.js';
import type { SimulatorState } from './state.js';
import { parseJsonBody, type ParsedBody } from './webhook.js';

// POST /cgi-bin/message/send and /cgi-bin/appchat/send. Each request is recorded with who it
// reached and who it was silently dropped for, whatever the errcode.

export const MESSAGE_SEND_PATH = '/cgi-bin/message/send';
export const APPCHAT_SEND_PATH = '/cgi-bin/appchat/send';

interface Outcome {
  verdict: Verdict;
  extra?: Record<string, unknown>;
  recipients: string[];
  dropped: string[];
  msgid?: string;
}

const refuse = (verdict: Verdict, extra?: Record<string, unknown>): Outcome => ({ verdict, extra, recipients: [], dropped: [] });

/**
 * Order: fault, token, method, JSON, agentid (40056), recipient lists (40058), message content,
 * recipient validity (81013), then per-member delivery. WeCom's own order is unconfirmed.
 */
export function messageSend(request: AppRequest, state: SimulatorState): AppResult {
  return recordedSend(request, state, sendMessage, (_parsed, outcome) => (outcome.msgid === undefined ? {} : { msgid: outcome.msgid }));
}

/** Parses, authorizes and runs one send, recording it (refused ones too) for the tests' inspection. */
function recordedSend(
  request: AppRequest,
  state: SimulatorState,
  send: (request: AppRequest, parsed: ParsedBody, app: App, state: SimulatorState) => Outcome,
  extra: (parsed: ParsedBody, outcome: Outcome) => Record<string, unknown>,
): AppResult {
  const parsed = parseJsonBody(request.body);
  const auth = authorize(request, state);
  const outcome = auth.app ? send(request, parsed, auth.app, state) : refuse(auth.verdict);
  state.app.recordMessage({
    path: request.path,
    body: parsed.json,
    agentId: auth.app?.agentId ?? null,
    ...extra(parsed, outcome),
    recipients: outcome.recipients,
    dropped: outcome.dropped,
    errcode: outcome.verdict.errcode,
    at: request.now,
  });
  return { verdict: outcome.verdict, extra: outcome.extra };
}

// agentid must be a JSON integer equal to the token's app. A numeric string ("1000002") is refused
// too, though WeCom's parser may coerce it (unconfirmed); a missing agentid is also 40056 here,
// where WeCom may answer 41011 ("missing agentid").
function sendMessage(request: AppRequest, parsed: ParsedBody, app: App, state: SimulatorState): Outcome {
  const json = jsonObject(request, parsed);
  if ('verdict' in json) return refuse(json.verdict);
  const { body } = json;
  if (body.agentid !== app.agentId) return refuse({ errcode: 40056 });
  const targets = parseTargets(body);
  if ('verdict' in targets) return refuse(targets.verdict);
  const content = checkAppMessage(body, mediaLookup(app, state, request.now));
  if (content.errcode !== 0) return refuse(content);
  const resolved = resolveTargets(targets.targets, app);
  const invalidIds = {
    invaliduser: resolved.invaliduser.join('|'),
    invalidparty: resolved.invalidparty.join('|'),
    invalidtag: resolved.invalidtag.join('|'),
  };
  if (!resolved.anyValid) return refuse({ errcode: 81013 }, invalidIds);
  const delivery = deliver(resolved.users, state.app.messageLimit, app, request.now);
  const msgid = randomBytes(32).toString('base64url');
  // Interactive template cards also get a response_code, used later to update the card.
  const responseCode = body.msgtype === 'template_card' ? { response_code: randomBytes(24).toString('base64url') } : {};
  return { verdict: { errcode: 0 }, extra: { ...invalidIds, msgid, ...responseCode }, ...delivery, msgid };
}

/**
 * Order: fault, token, method, JSON, chatid (missing 40058, unknown 86003), content, delivery. The
 * answer is plain `{errcode, errmsg}`. WeCom accepts only chats the app created; the simulator lets
 * any app post to any configured chat. Same msgtype rules as message/send (WeCom's appchat list
 * omits template_card and miniprogram_notice; the simulator does not refuse them).
 */
export function appchatSend(request: AppRequest, state: SimulatorState): AppResult {
  return recordedSend(request, state, sendToChat, (parsed) => (isRecord(parsed.json) && typeof parsed.json.chatid === 'string' ? { chatid: parsed.json.chatid } : {}));
}

function sendToChat(request: AppRequest, parsed: ParsedBody, app: App, state: SimulatorState): Outcome {
  const json = jsonObject(request, parsed);
  if ('verdict' in json) return refuse(json.verdict);
  const { body } = json;
  if (!isNonEmptyString(body.chatid)) return refuse(invalid('chatid missing'));
  const members = state.app.chatMembers(body.chatid);
  if (!members) return refuse({ errcode: 86003 });
  const content = checkAppMessage(body, mediaLookup(app, state, request.now));
  if (content.errcode !== 0) return refuse(content);
  return { verdict: { errcode: 0 }, ...deliver(members, state.app.chatLimit, app, request.now) };
}

function mediaLookup(app: App, state: SimulatorState, now: number): AppMediaLookup {
  return (mediaId) => state.app.media.find(app.corpId, mediaId, now)?.type;
}

/** Per app and member: over the limit the member is dropped, and WeCom still answers errcode 0. */
function deliver(users: readonly string[], limit: MemberLimit, app: App, now: number): { recipients: string[]; dropped: string[] } {
  const recipients: string[] = [];
  const dropped: string[] = [];
  for (const user of users) (limit.admit(`${app.id}/${user}`, now) ? recipients : dropped).push(user);
  return { recipients, dropped };
}
