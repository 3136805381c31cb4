import { FirewallError } from '../errors.js';
import type { Route } from '../policy/types.js';

// The only paths the firewall serves. Agents keep WeCom's paths and swap only the host. Robot
// routes carry the robot's alias as ?key=; app routes carry a token the firewall minted as
// ?access_token=; gettoken carries the app's corpid and client secret.

type Kind = 'robot' | 'app' | 'token';
interface RouteSpec {
  route: Route;
  kind: Kind;
  methods: ReadonlyArray<'GET' | 'POST'>;
}

const POST = ['POST'] as const;
const ROUTES = new Map<string, RouteSpec>([
  ['/cgi-bin/webhook/send', { route: 'webhook.send', kind: 'robot', methods: POST }],
  ['/cgi-bin/webhook/upload_media', { route: 'webhook.upload_media', kind: 'robot', methods: POST }],
  ['/cgi-bin/gettoken', { route: 'app.gettoken', kind: 'token', methods: ['GET'] }],
  ['/cgi-bin/message/send', { route: 'app.message_send', kind: 'app', methods: POST }],
  ['/cgi-bin/appchat/send', { route: 'app.appchat_send', kind: 'app', methods: POST }],
  ['/cgi-bin/media/upload', { route: 'app.media_upload', kind: 'app', methods: POST }],
  ['/cgi-bin/media/get', { route: 'app.media_get', kind: 'app', methods: ['GET'] }],
  // Privileged endpoints: served so the shipped policy can park them for a human. WeCom takes the
  // two single deletes as GET.
  ['/cgi-bin/user/delete', { route: 'app.admin', kind: 'app', methods: ['GET', 'POST'] }],
  ['/cgi-bin/department/delete', { route: 'app.admin', kind: 'app', methods: ['GET', 'POST'] }],
  ['/cgi-bin/user/batchdelete', { route: 'app.admin', kind: 'app', methods: POST }],
  ['/cgi-bin/user/update', { route: 'app.admin', kind: 'app', methods: POST }],
  ['/cgi-bin/tag/addtagusers', { route: 'app.admin', kind: 'app', methods: POST }],
  ['/cgi-bin/tag/deltagusers', { route: 'app.admin', kind: 'app', methods: POST }],
  ['/cgi-bin/agent/set', { route: 'app.admin', kind: 'app', methods: POST }],
]);

const OTHER: RouteSpec = { route: 'app.other', kind: 'app', methods: ['GET', 'POST'] };
const OTHER_APP_PATH = /^\/cgi-bin\/[a-z0-9_]+(\/[a-z0-9_]+)*$/;

export interface RoutedRequest {
  route: Route;
  kind: Kind;
  path: string;
  method: 'GET' | 'POST';
  /** The robot alias (robot routes) or the minted access token (app routes); '' for gettoken. */
  credential: string;
  /** Query parameters other than the credential. */
  query: URLSearchParams;
}

/**
 * A caller token given as a path prefix, `/t/<token>/cgi-bin/...`, for clients that can be given a
 * base URL but no header: the token and the URL without it (what is routed, logged and forwarded);
 * undefined when there is no prefix. The segment is taken as sent, not percent-decoded.
 */
export function splitTokenPrefix(url: string): { token: string; url: string } | undefined {
  if (!url.startsWith('/t/')) return undefined;
  let end = 3;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
  const rest = url.slice(end);
  return { token: url.slice(3, end), url: rest.startsWith('/') ? rest : `/${rest}` };
}

/** Path, method and credential checks: everything that can be refused before the body is read. */
export function routeRequest(method: string, url: string): RoutedRequest {
  // Exact path match on the raw path: no normalisation, so "/cgi-bin/webhook/send/../x" or an
  // encoded variant is simply an unknown path.
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  // Any other app API path with a token is routed as app.other: refused by the shipped policy unless
  // a rule allows that path (then it is made with the real token like the rest).
  const spec = ROUTES.get(pathname) ?? (OTHER_APP_PATH.test(pathname) && /(^|&)access_token=/.test(url.slice(q + 1)) && q >= 0 ? OTHER : undefined);
  if (!spec) throw new FirewallError('UNKNOWN_PATH');
  if (!spec.methods.includes(method as 'GET')) throw new FirewallError('METHOD_NOT_ALLOWED', `${spec.route} takes ${spec.methods.join(' or ')}`, { headers: { Allow: spec.methods.join(', ') } });
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  let credential = '';
  if (spec.kind !== 'token') {
    const name = spec.kind === 'robot' ? 'key' : 'access_token';
    const values = query.getAll(name);
    if (values.length !== 1 || !values[0]) {
      throw spec.kind === 'robot' ? new FirewallError('MISSING_KEY', 'pass the robot alias as ?key=<alias>') : new FirewallError('MISSING_ACCESS_TOKEN', 'pass the token from gettoken as ?access_token=');
    }
    credential = values[0];
    query.delete(name);
  }
  return { route: spec.route, kind: spec.kind, path: pathname, method: method as 'GET' | 'POST', credential, query };
}
