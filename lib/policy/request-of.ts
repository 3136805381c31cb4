import { routeRequest } from '../request/route.js';
import { parseJsonObject, parseMessage } from '../request/parse-message.js';
import type { PolicyRequest, Route } from './types.js';

// A PolicyRequest from what a reviewer writes (a fixture case, `policy explain` options): a robot or
// an app, and optionally the route or path, the caller and the msgtype. Routes and paths are
// resolved by the firewall's own router, and msgtype is read from the payload as the firewall
// reads it, so a fixture describes the request the firewall would judge.

export interface RequestSpec {
  robot?: string;
  app?: string;
  route?: string;
  path?: string;
  caller?: string;
  msgtype?: string;
  payload: unknown;
}

/** The caller when none is given: the firewall's callers are peer addresses. */
export const DEFAULT_CALLER = '127.0.0.1';

/** The path of each route that has exactly one. */
export const ROUTE_PATHS: Partial<Record<Route, string>> = {
  'webhook.send': '/cgi-bin/webhook/send',
  'webhook.upload_media': '/cgi-bin/webhook/upload_media',
  'app.message_send': '/cgi-bin/message/send',
  'app.appchat_send': '/cgi-bin/appchat/send',
  'app.media_upload': '/cgi-bin/media/upload',
  'app.media_get': '/cgi-bin/media/get',
};

export class RequestSpecError extends Error {}

export function requestOf(spec: RequestSpec): PolicyRequest {
  if (spec.robot !== undefined && spec.app !== undefined) throw new RequestSpecError('give a robot or an app, not both');
  if (spec.robot === undefined && spec.app === undefined) throw new RequestSpecError('give a robot or an app');
  const kind = spec.robot !== undefined ? 'robot' : 'app';
  let path = spec.path;
  if (path === undefined) {
    const route = (spec.route ?? (kind === 'robot' ? 'webhook.send' : 'app.message_send')) as Route;
    path = ROUTE_PATHS[route];
    if (!path) throw new RequestSpecError(`route ${spec.route} has several paths: give the path (e.g. /cgi-bin/user/delete)`);
  }
  const route = routeOf(path, kind);
  if (spec.route !== undefined && spec.route !== route) throw new RequestSpecError(`path ${path} is route ${route}, not ${spec.route}`);
  return {
    route,
    path,
    ...(kind === 'robot' ? { robot: spec.robot } : { app: spec.app }),
    caller: spec.caller ?? DEFAULT_CALLER,
    msgtype: spec.msgtype ?? msgtypeOf(route, spec.payload),
    payload: spec.payload,
  };
}

/** The route the firewall's router gives this path (robot or app), or undefined for a path it does not serve. */
export function routeOfPath(path: string): Route | undefined {
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

/** As the firewall reads it: a message's msgtype field, an upload's type parameter. */
function msgtypeOf(route: Route, payload: unknown): string | undefined {
  const field = route === 'webhook.send' || route === 'app.message_send' || route === 'app.appchat_send' ? 'msgtype' : route === 'webhook.upload_media' || route === 'app.media_upload' ? 'type' : undefined;
  if (!field || !payload || typeof payload !== 'object') return undefined;
  const value = (payload as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * What the firewall would refuse before any policy runs, for a JSON-bodied request (a message, a
 * privileged call): e.g. "40008 msgtype is missing". undefined when the policies get to judge it.
 * Uploads and GET calls are not checked here (their payload is built by the firewall).
 */
export function preflight(req: PolicyRequest): string | undefined {
  const body = Buffer.from(JSON.stringify(req.payload) ?? '', 'utf8');
  try {
    if (req.route === 'webhook.send' || req.route === 'app.message_send' || req.route === 'app.appchat_send') parseMessage(body);
    else if (req.route === 'app.admin' || req.route === 'app.other') parseJsonObject(body);
  } catch (err) {
    const e = err as { errcode?: number; message: string };
    return `${e.errcode ?? '?'} ${e.message}`;
  }
  return undefined;
}
