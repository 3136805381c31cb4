import { routeRequest } from '../request/route.js';
import { BOT_ROUTE_COMMANDS, UNJUDGED_COMMANDS, UPLOAD_CONTINUATION_COMMANDS, botRouteOf } from '../request/bot-route.js';
import { parseJsonObject, parseMessage } from '../request/parse-message.js';
import type { BotRoute, PolicyRequest, Route } from './types.js';

// A PolicyRequest from what a reviewer writes (a fixture case, `policy explain` options): a robot,
// an app or a bot, and optionally the route or path, the caller and the msgtype. Routes and paths
// are resolved by the firewall's own routers (HTTP paths by lib/request/route.ts, bot commands by
// lib/request/bot-route.ts), and msgtype is read from the payload as the firewall reads it, so a
// fixture describes the request the firewall would judge.

export interface RequestSpec {
  robot?: string;
  app?: string;
  bot?: string;
  route?: string;
  path?: string;
  caller?: string;
  msgtype?: string;
  payload: unknown;
}

/** The caller when none is given: the firewall's callers are peer addresses. */
export const DEFAULT_CALLER = '127.0.0.1';

/** The path of each route that has exactly one (for a bot route: the command of its frames). */
export const ROUTE_PATHS: Partial<Record<Route, string>> = {
  'webhook.send': '/cgi-bin/webhook/send',
  'webhook.upload_media': '/cgi-bin/webhook/upload_media',
  'app.message_send': '/cgi-bin/message/send',
  'app.appchat_send': '/cgi-bin/appchat/send',
  'app.media_upload': '/cgi-bin/media/upload',
  'app.media_get': '/cgi-bin/media/get',
  ...BOT_ROUTE_COMMANDS,
};

/** The route when a spec gives neither route nor path. */
const DEFAULT_ROUTE = { robot: 'webhook.send', app: 'app.message_send', bot: 'bot.respond_msg' } as const satisfies Record<Kind, Route>;

type Kind = 'robot' | 'app' | 'bot';

export class RequestSpecError extends Error {}

export function requestOf(spec: RequestSpec): PolicyRequest {
  const kinds = (['robot', 'app', 'bot'] as const).filter((k) => spec[k] !== undefined);
  if (kinds.length > 1) throw new RequestSpecError(`give one of a robot, an app or a bot, not ${kinds.join(' and ')}`);
  const kind = kinds[0];
  if (!kind) throw new RequestSpecError('give a robot, an app or a bot');
  let path = spec.path;
  if (path === undefined) {
    const route = (spec.route ?? DEFAULT_ROUTE[kind]) as Route;
    path = ROUTE_PATHS[route];
    if (!path) throw new RequestSpecError(route === 'bot.other' ? 'route bot.other has many commands: give the path (the command, e.g. aibot_get_mcp_config)' : `route ${spec.route} has several paths: give the path (e.g. /cgi-bin/user/delete)`);
  }
  const route = kind === 'bot' ? botRouteOfPath(path) : routeOf(path, kind);
  if (spec.route !== undefined && spec.route !== route) throw new RequestSpecError(`path ${path} is route ${route}, not ${spec.route}`);
  const sender: Pick<PolicyRequest, Kind> = { [kind]: spec[kind] };
  return { route, path, ...sender, caller: spec.caller ?? DEFAULT_CALLER, msgtype: spec.msgtype ?? msgtypeOf(route, spec.payload), payload: spec.payload };
}

/** The route a frame with this command is judged as; a RequestSpecError for what is never judged as its own request. */
function botRouteOfPath(cmd: string): BotRoute {
  if (cmd.startsWith('/')) throw new RequestSpecError(`path ${cmd} is not a bot command (a bot frame's path is its cmd, e.g. aibot_send_msg)`);
  if (UNJUDGED_COMMANDS.has(cmd)) throw new RequestSpecError(`${cmd} is never judged by policies: the firewall handles it itself`);
  if (UPLOAD_CONTINUATION_COMMANDS.has(cmd)) throw new RequestSpecError(`${cmd} is not judged on its own: an upload is judged once, at ${BOT_ROUTE_COMMANDS['bot.upload_media']}`);
  return botRouteOf(cmd);
}

/** The route the firewall gives this path (an HTTP path or a bot command), or undefined for one it never judges. */
export function routeOfPath(path: string): Route | undefined {
  if (!path.startsWith('/')) {
    try {
      return botRouteOfPath(path);
    } catch {
      return undefined;
    }
  }
  for (const kind of ['robot', 'app'] as const) {
    try {
      return routeOf(path, kind);
    } catch {
      /* try the other kind */
    }
  }
  return undefined;
}

/** The route the firewall's router gives this path, for a robot (?key=) or an app (?access_token=). */
function routeOf(path: string, kind: 'robot' | 'app'): Route {
  if (!path.startsWith('/')) throw new RequestSpecError(`path ${path} is a bot command: give a bot, not a ${kind}`);
  const url = `${path}?key=x&access_token=x`; // the router reads the one its route needs
  let routed;
  for (const method of ['POST', 'GET']) {
    try {
      routed = routeRequest(method, url);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'METHOD_NOT_ALLOWED') throw new RequestSpecError(`path ${path}: not a path the firewall serves`);
    }
  }
  if (!routed || routed.kind !== kind) throw new RequestSpecError(`path ${path} is not a ${kind} path`);
  return routed.route;
}

/** As the firewall reads it: a message's msgtype field, an upload's type (parameter or init field), any bot frame's msgtype. */
function msgtypeOf(route: Route, payload: unknown): string | undefined {
  const uploads: Route[] = ['webhook.upload_media', 'app.media_upload', 'bot.upload_media'];
  const field = uploads.includes(route) ? 'type' : route === 'webhook.send' || route === 'app.message_send' || route === 'app.appchat_send' || route.startsWith('bot.') ? 'msgtype' : undefined;
  if (!field || !payload || typeof payload !== 'object') return undefined;
  const value = (payload as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * What the firewall would refuse before any policy runs, for a JSON-bodied request (a message, a
 * privileged call, a bot frame: its body must be a JSON object): e.g. "40008 msgtype is missing".
 * undefined when the policies get to judge it. Uploads and GET calls are not checked here (their
 * payload is built by the firewall).
 */
export function preflight(req: PolicyRequest): string | undefined {
  const body = Buffer.from(JSON.stringify(req.payload) ?? '', 'utf8');
  try {
    if (req.route === 'webhook.send' || req.route === 'app.message_send' || req.route === 'app.appchat_send') parseMessage(body);
    else if (req.route === 'app.admin' || req.route === 'app.other' || (req.route.startsWith('bot.') && req.route !== 'bot.upload_media')) parseJsonObject(body);
  } catch (err) {
    const e = err as { errcode?: number; message: string };
    return `${e.errcode ?? '?'} ${e.message}`;
  }
  return undefined;
}
