import { badRequest, parseJson, type ControlAnswer, type ControlRoute } from './control-json.js';
import { isNonEmptyString, isRecord } from './shape.js';
import type { SimulatorState } from './state.js';
import type { BotCallbackCmd } from './types.js';

// The bot channel's /__sim endpoints: the Simulator's bot methods over HTTP. `?botId=` filters
// the lists; without it they hold every bot.

export const BOT_ROUTES: Array<[string, ControlRoute]> = [
  ['/__sim/bot/callback', { method: 'POST', handle: callback }],
  ['/__sim/bot/frames', { method: 'GET', handle: (query, _body, state) => ok({ frames: state.bots.state.frames(botIdOf(query)) }) }],
  ['/__sim/bot/streams', { method: 'GET', handle: (query, _body, state) => ok({ streams: state.bots.state.streams(botIdOf(query)) }) }],
  ['/__sim/bot/subscribes', { method: 'GET', handle: (query, _body, state) => ok({ subscribes: state.bots.state.subscribes(botIdOf(query)) }) }],
  ['/__sim/bot/connections', { method: 'GET', handle: connections }],
  ['/__sim/bot/drop', { method: 'POST', handle: drop }],
  ['/__sim/bot/fail', { method: 'POST', handle: fail }],
];

/** Body `{"botId": B, "body": {...}, "cmd": "aibot_msg_callback"}`; body and cmd optional. 409 when the bot has no connection. */
function callback(_query: URLSearchParams, raw: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const request = parseJson(raw);
  if (!isRecord(request) || !isNonEmptyString(request.botId)) return badRequest('body must be a JSON object {"botId": B, "body": {...}, "cmd": C}');
  const { botId, body = {}, cmd } = request;
  if (!isRecord(body)) return badRequest('body must be an object');
  if (cmd !== undefined && cmd !== 'aibot_msg_callback' && cmd !== 'aibot_event_callback') return badRequest('cmd must be aibot_msg_callback or aibot_event_callback');
  if (state.bots.connections(botId) === 0) return { status: 409, json: { ok: false, error: `bot ${botId} has no subscribed connection` } };
  return ok({ req_id: state.bots.callback(botId, body, cmd as BotCallbackCmd | undefined) });
}

/** `?botId=B` (required): how many connections are subscribed as B. */
function connections(query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const botId = botIdOf(query);
  return botId ? ok({ count: state.bots.connections(botId) }) : badRequest('?botId= is required');
}

/** Body `{"botId": B, "how": "close"|"terminate"}`; how optional (close). */
function drop(_query: URLSearchParams, raw: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const request = parseJson(raw);
  if (!isRecord(request) || !isNonEmptyString(request.botId)) return badRequest('body must be a JSON object {"botId": B, "how": "close"|"terminate"}');
  const { botId, how = 'close' } = request;
  if (how !== 'close' && how !== 'terminate') return badRequest('how must be close or terminate');
  return ok({ dropped: state.bots.drop(botId, how) });
}

/** Body `{"count": N, "errcode": -1, "cmd": "aibot_send_msg"}`; errcode and cmd optional. */
function fail(_query: URLSearchParams, raw: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const request = parseJson(raw);
  if (!isRecord(request)) return badRequest('body must be a JSON object {"count": N, "errcode": E, "cmd": C}');
  const { count, errcode = -1, cmd } = request;
  if (typeof count !== 'number' || typeof errcode !== 'number') return badRequest('count and errcode must be numbers');
  if (cmd !== undefined && !isNonEmptyString(cmd)) return badRequest('cmd must be a non-empty string');
  try {
    state.bots.state.failNext(count, errcode, cmd);
  } catch (error) {
    return badRequest(error instanceof Error ? error.message : String(error));
  }
  return ok({ ok: true });
}

function botIdOf(query: URLSearchParams): string | undefined {
  return query.get('botId') || undefined;
}

function ok(json: unknown): ControlAnswer {
  return { status: 200, json };
}
