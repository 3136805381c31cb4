import type { BotRoute } from '../policy/types.js';

// The routes of outbound frames on the bot WebSocket (lib/transports/bot/). Each frame an agent
// sends is judged like an HTTP call: its `cmd` picks the route, and is its path (so a rule can
// name one command with `match.paths`). Commands are @wecom/aibot-node-sdk's (WsCmd) and the
// official plugin's (aibot_get_mcp_config, aibot_send_biz_msg, ww_ai_robot_enter_event).

/** The command a frame of each route carries as `cmd`, for routes with exactly one judged command. */
export const BOT_ROUTE_COMMANDS = {
  'bot.respond_msg': 'aibot_respond_msg',
  'bot.send_msg': 'aibot_send_msg',
  'bot.respond_update_msg': 'aibot_respond_update_msg',
  'bot.respond_welcome_msg': 'aibot_respond_welcome_msg',
  // an upload is judged once, at its init (payload: its type, filename and total_size)
  'bot.upload_media': 'aibot_upload_media_init',
  'bot.send_biz_msg': 'aibot_send_biz_msg',
} as const satisfies Record<Exclude<BotRoute, 'bot.other'>, string>;

/** Every bot route. */
export const BOT_ROUTES: readonly BotRoute[] = [...(Object.keys(BOT_ROUTE_COMMANDS) as BotRoute[]), 'bot.other'];

/** The rest of an upload: not judged on their own (the init was), but part of route bot.upload_media. */
export const UPLOAD_CONTINUATION_COMMANDS: ReadonlySet<string> = new Set(['aibot_upload_media_chunk', 'aibot_upload_media_finish']);

/**
 * Commands that answer an inbound callback: their req_id is the callback's. Their payload also
 * carries the chat the firewall remembers for that req_id (`chatid`, `chattype`, `from`).
 */
export const REPLY_COMMANDS: ReadonlySet<string> = new Set(['aibot_respond_msg', 'aibot_respond_update_msg', 'aibot_respond_welcome_msg']);

/** The login and the heartbeat: handled by the firewall itself, never judged by policies. */
export const UNJUDGED_COMMANDS: ReadonlySet<string> = new Set(['aibot_subscribe', 'ping']);

const ROUTE_OF = new Map<string, BotRoute>([
  ...Object.entries(BOT_ROUTE_COMMANDS).map(([route, cmd]) => [cmd, route as BotRoute] as const),
  ...[...UPLOAD_CONTINUATION_COMMANDS].map((cmd) => [cmd, 'bot.upload_media'] as const),
]);

/** The route of a frame's command; any command not listed (aibot_get_mcp_config, an unknown one) is bot.other. */
export function botRouteOf(cmd: string): BotRoute {
  return ROUTE_OF.get(cmd) ?? 'bot.other';
}
