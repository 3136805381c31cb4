import http from 'node:http';
import https from 'node:https';

/** One keep-alive agent per upstream, shared by the live proxy and the sender of approved messages. */
export function upstreamAgent(upstream: URL): http.Agent {
  const options = { keepAlive: true, maxSockets: 128, maxFreeSockets: 32, scheduling: 'lifo' as const };
  return upstream.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/** The upstream's base path ("" for a bare host), prefixed to every WeCom path. */
export function basePath(upstream: URL): string {
  return upstream.pathname.replace(/\/+$/, '');
}

/** The upstream path for a robot: WeCom's path, the real key, and the other query parameters. */
export function upstreamPath(path: string, key: string, query: URLSearchParams | string = ''): string {
  const rest = query.toString();
  return `${path}?key=${encodeURIComponent(key)}${rest ? `&${rest}` : ''}`;
}
