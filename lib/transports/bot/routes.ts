import type { BotRoute } from '../../policy/types.js';

// Which route each outbound command is judged as. Placeholder until lib/request/bot-route.ts lands.
const ROUTES: Record<string, BotRoute> = {
  aibot_respond_msg: 'bot.respond_msg',
  aibot_send_msg: 'bot.send_msg',
  aibot_respond_update_msg: 'bot.respond_update_msg',
  aibot_respond_welcome_msg: 'bot.respond_welcome_msg',
  aibot_upload_media_init: 'bot.upload_media',
  aibot_send_biz_msg: 'bot.send_biz_msg',
};
export const botRouteOf = (cmd: string): BotRoute => (Object.hasOwn(ROUTES, cmd) ? ROUTES[cmd]! : 'bot.other');
/** Commands that answer an inbound callback by reusing its req_id. */
export const REPLY_COMMANDS: ReadonlySet<string> = new Set(['aibot_respond_msg', 'aibot_respond_update_msg', 'aibot_respond_welcome_msg']);
