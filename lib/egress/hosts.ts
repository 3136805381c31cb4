import { isIP } from 'node:net';

// Which hosts the egress proxy terminates TLS for, and how a CONNECT target is read. The CA may sign
// for these two hosts only (its nameConstraints); everything else is refused or, if listed in
// egress.tunnel, passed through blind.

/** WeCom's API: its requests go through the firewall's pipeline. */
export const API_HOST = 'qyapi.weixin.qq.com';
/** The bot WebSocket: intercepted, but its requests are refused until the bot channel exists. */
export const BOT_HOST = 'openws.work.weixin.qq.com';
export const INTERCEPTED_HOSTS: readonly string[] = [API_HOST, BOT_HOST];

/** The only port tunnelled or intercepted (RFC 9110 §9.3.6: restrict CONNECT to known ports). */
export const TLS_PORT = 443;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** Lower case, without a trailing dot: how hosts are compared everywhere. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

export function isHostname(host: string): boolean {
  return HOSTNAME.test(host);
}

/** WeCom's own domains, which must never be tunnelled blind (that would bypass every check). */
export function isWecomHost(host: string): boolean {
  const h = normalizeHost(host);
  return h === 'weixin.qq.com' || h.endsWith('.weixin.qq.com');
}

export interface Authority {
  /** Normalised; for an IP literal, the address without brackets. */
  host: string;
  port: number;
  ipLiteral: boolean;
}

/** `host:port` or `[v6]:port` (a CONNECT target, RFC 9110 authority-form); undefined if it is not one. */
export function parseAuthority(text: string): Authority | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/@\s]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1] ?? normalizeHost(m[2]!);
  const ipLiteral = isIP(host) !== 0;
  if (m[1] !== undefined && !ipLiteral) return undefined;
  if (!ipLiteral && !isHostname(host)) return undefined;
  return { host, port, ipLiteral };
}

export type Target =
  | { kind: 'intercept'; host: string }
  | { kind: 'tunnel'; host: string }
  /** `reason` is the one line the client and the audit get. */
  | { kind: 'refuse'; reason: string };

/** What becomes of a CONNECT to `authority`: plain data in, a decision out. */
export function targetOf(authority: Authority, tunnel: ReadonlySet<string>): Target {
  const { host, port } = authority;
  if (authority.ipLiteral) return { kind: 'refuse', reason: 'IP-literal targets are refused; connect by host name' };
  const known = INTERCEPTED_HOSTS.includes(host) || tunnel.has(host);
  if (!known) return { kind: 'refuse', reason: `${host} is not a WeCom host and not listed in egress.tunnel` };
  if (port !== TLS_PORT) return { kind: 'refuse', reason: `port ${port} refused: only ${TLS_PORT} is served` };
  return INTERCEPTED_HOSTS.includes(host) ? { kind: 'intercept', host } : { kind: 'tunnel', host };
}
