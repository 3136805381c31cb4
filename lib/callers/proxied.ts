import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Address } from './cidr.js';

// Callers of the egress proxy present themselves once per proxy request: on the CONNECT (for every
// request inside its tunnel) or on an absolute-form request. The egress adapter binds what was
// presented to the tunnel's socket or to the request; Callers.identify then checks THAT, against the
// config in force, instead of reading the inner request's headers, which the agent wrote for WeCom.

/** `Proxy-Authorization: Basic base64(<caller name>:<token>)`, from http://name:token@firewall:3128. */
export interface ProxyCredentials {
  name: string;
  token: string;
}

export interface Presented {
  /** The peer of the connection to the proxy (forwarding headers are not read: agents dial a forward proxy directly). */
  address: Address;
  /** From Proxy-Authorization; 'malformed' when it was there but not Basic <name>:<token>. */
  credentials?: ProxyCredentials | 'malformed';
}

const presented = new WeakMap<object, Presented>();

/** Binds a presentation to a tunnel's socket (every request inside it) or to one absolute-form request. */
export function presentOn(holder: Socket | http.IncomingMessage, p: Presented): void {
  presented.set(holder, p);
}

export function presentedFor(req: http.IncomingMessage): Presented | undefined {
  return presented.get(req) ?? presented.get(req.socket);
}

/**
 * The credentials of a Proxy-Authorization header: undefined when there is none, 'malformed' when it
 * is not Basic with a name and a token (a scheme we do not take is as good as wrong credentials).
 */
export function parseProxyAuthorization(header: string | string[] | undefined): ProxyCredentials | undefined | 'malformed' {
  if (header === undefined) return undefined;
  const m = Array.isArray(header) ? null : /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return 'malformed';
  // undici and https-proxy-agent percent-decode the URL's user and password before encoding them.
  return { name: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}
