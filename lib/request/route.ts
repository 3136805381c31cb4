import { FirewallError } from '../errors.js';
import type { Route } from '../policy/types.js';

// The only paths the firewall serves. Agents keep WeCom's paths and swap only the host.
const ROUTES: Record<string, Route> = {
  '/cgi-bin/webhook/send': 'webhook.send',
  '/cgi-bin/webhook/upload_media': 'webhook.upload_media',
};

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
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://firewall.invalid');
  } catch {
    throw new FirewallError('UNKNOWN_PATH');
  }
  const route = ROUTES[parsed.pathname];
  if (!route) throw new FirewallError('UNKNOWN_PATH', parsed.pathname.slice(0, 200));
  if (method !== 'POST') throw new FirewallError('METHOD_NOT_ALLOWED', `${route} takes POST`, { headers: { Allow: 'POST' } });
  const keys = parsed.searchParams.getAll('key');
  if (keys.length !== 1 || !keys[0]) throw new FirewallError('MISSING_KEY', 'pass the robot alias as ?key=<alias>');
  const query = new URLSearchParams(parsed.searchParams);
  query.delete('key');
  return { route, path: parsed.pathname, alias: keys[0], query };
}
