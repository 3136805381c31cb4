import { FirewallError } from '../errors.js';
import type { Route } from '../policy/types.js';

// The only paths the firewall serves. Agents keep WeCom's paths and swap only the host.
const ROUTES = new Map<string, Route>([
  ['/cgi-bin/webhook/send', 'webhook.send'],
  ['/cgi-bin/webhook/upload_media', 'webhook.upload_media'],
]);

export interface RoutedRequest {
  route: Route;
  path: string;
  /** The robot alias from ?key=. */
  alias: string;
  /** Query parameters other than key, kept for the upstream (e.g. type=file). */
  query: URLSearchParams;
}

/** Path, method and key checks: everything that can be refused before the body is read. */
export function routeRequest(method: string, url: string): RoutedRequest {
  // Exact path match on the raw path: no normalisation, so "/cgi-bin/webhook/send/../x" or an
  // encoded variant is simply an unknown path.
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const route = ROUTES.get(pathname);
  if (!route) throw new FirewallError('UNKNOWN_PATH');
  if (method !== 'POST') throw new FirewallError('METHOD_NOT_ALLOWED', `${route} takes POST`, { headers: { Allow: 'POST' } });
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const keys = query.getAll('key');
  if (keys.length !== 1 || !keys[0]) throw new FirewallError('MISSING_KEY', 'pass the robot alias as ?key=<alias>');
  query.delete('key');
  return { route, path: pathname, alias: keys[0], query };
}
