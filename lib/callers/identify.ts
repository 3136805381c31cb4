import type http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { FirewallError } from '../errors.js';
import { AddressSet, LOOPBACK, peerOf, type Address } from './cidr.js';
import { clientAddress } from './forwarded.js';
import { presentedFor, type Presented } from './proxied.js';

// Who is calling. Every request on the proxy listener is matched to a configured caller (or, with
// no `callers:`, must come from loopback) before anything else is done with it: before its body is
// read and before routing can answer anything. The caller's name is the `who` of every decision.
//
// Order of checks:
//   1. the client address: the peer, or behind a trusted proxy the forwarding headers' answer;
//   2. a caller token in the query string is refused (it would end up in access logs);
//   3. the token: X-Firewall-Token or the /t/<token>/ path prefix (two different ones are refused);
//   4. with a token: the caller holding it (compared in constant time), whose `from` must hold the
//      address; without one: the tokenless caller whose `from` holds it. A caller with a token
//      cannot be reached without it.
// A request that came through the egress proxy is checked by what its caller presented to the proxy
// (proxied.ts): the connection's peer and the Proxy-Authorization name and token, by the same rules.

export const TOKEN_HEADER = 'x-firewall-token';
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+=-]{16,512}$/;

export interface CallerSpec {
  name: string;
  from: string[];
  /** The resolved token, if the caller has one. */
  token?: string;
}

interface Caller {
  name: string;
  from: AddressSet;
  digest?: Buffer;
}

/** A refusal of an unidentified request, with what the audit and the log may say about it. */
export class CallerRefused extends FirewallError {
  constructor(
    code: 'UNKNOWN_CALLER' | 'CALLER_TOKEN_IN_QUERY' | 'PROXY_AUTH_REQUIRED',
    /** The audit's `who`: `unknown:<client address>`. */
    readonly who: string,
    /** For the operator's log only; never sent to the client and never holds a token. */
    readonly reason: string,
  ) {
    super(code, undefined, code === 'PROXY_AUTH_REQUIRED' ? { headers: { 'Proxy-Authenticate': 'Basic realm="wecom-firewall"' } } : {});
  }
}

export class Callers {
  readonly names: readonly string[];
  private readonly withToken: Caller[];
  private readonly withoutToken: Caller[];

  constructor(callers: readonly Caller[], readonly trusted: AddressSet) {
    this.names = callers.map((c) => c.name);
    this.withToken = callers.filter((c) => c.digest);
    this.withoutToken = callers.filter((c) => !c.digest);
  }

  /** true when `callers:` names anyone; otherwise only loopback may call, named by its address. */
  get configured(): boolean {
    return this.names.length > 0;
  }

  /** The caller's name, or a CallerRefused. `pathToken` is the /t/<token>/ prefix's, already split off the URL. */
  identify(req: http.IncomingMessage, pathToken: string | undefined): string {
    const proxied = presentedFor(req);
    if (proxied) {
      // Inside a tunnel the caller is who authenticated to the proxy; a second identity in the request would be ambiguous.
      if (pathToken !== undefined || req.headers[TOKEN_HEADER] !== undefined) throw new CallerRefused('UNKNOWN_CALLER', `unknown:${proxied.address.text}`, 'a caller token inside an egress proxy request: the proxy credentials name the caller');
      if (tokenInQuery(req.url ?? '')) throw new CallerRefused('CALLER_TOKEN_IN_QUERY', `unknown:${proxied.address.text}`, 'a caller token in the query string');
      return this.identifyProxied(proxied, false);
    }
    const peer = peerOf(req.socket);
    if (!peer) throw new CallerRefused('UNKNOWN_CALLER', 'unknown', 'the connection has no peer address');
    const client = this.trusted.size ? clientAddress(peer, req.headers, this.trusted) : peer;
    if ('refused' in client) throw new CallerRefused('UNKNOWN_CALLER', `unknown:${peer.text}`, `forwarding headers from trusted proxy ${peer.text} refused: ${client.refused}`);
    const who = `unknown:${client.text}`;
    if (tokenInQuery(req.url ?? '')) throw new CallerRefused('CALLER_TOKEN_IN_QUERY', who, 'a caller token in the query string');
    const header = req.headers[TOKEN_HEADER];
    let token = pathToken;
    if (header !== undefined) {
      const value = Array.isArray(header) ? header.join(',') : header;
      if (token !== undefined && token !== value) throw new CallerRefused('UNKNOWN_CALLER', who, 'two different tokens (X-Firewall-Token and the /t/ prefix)');
      token = value;
    }
    if (!this.configured) {
      if (token !== undefined) throw new CallerRefused('UNKNOWN_CALLER', who, 'a caller token, but no callers: are configured');
      if (!LOOPBACK.has(client.parsed)) throw new CallerRefused('UNKNOWN_CALLER', who, 'not loopback, and no callers: are configured');
      return client.text;
    }
    return token === undefined ? this.byAddress(client, who) : this.byToken(token, client, who);
  }

  /**
   * A caller of the egress proxy, by its address and Proxy-Authorization credentials (user = caller
   * name, password = its token). With `challenge` (the proxy request itself), a refusal is a 407 that
   * asks for credentials whenever credentials could change the answer: always with callers
   * configured, whatever failed (as on listen, one answer for every way of not being a caller).
   * Inside a tunnel already opened it is a 403.
   */
  identifyProxied(p: Presented, challenge: boolean): string {
    const client = p.address;
    const who = `unknown:${client.text}`;
    const creds = p.credentials;
    try {
      if (!this.configured) {
        if (creds) throw new CallerRefused('UNKNOWN_CALLER', who, 'proxy credentials, but no callers: are configured');
        if (!LOOPBACK.has(client.parsed)) throw new CallerRefused('UNKNOWN_CALLER', who, 'not loopback, and no callers: are configured');
        return client.text;
      }
      if (!creds) return this.byAddress(client, who);
      if (creds === 'malformed') throw new CallerRefused('UNKNOWN_CALLER', who, 'a Proxy-Authorization that is not Basic <caller name>:<token>');
      const name = this.byToken(creds.token, client, who);
      if (name !== creds.name) throw new CallerRefused('UNKNOWN_CALLER', who, `the token of caller ${name}, under another name`);
      return name;
    } catch (err) {
      if (challenge && this.configured && err instanceof CallerRefused) throw new CallerRefused('PROXY_AUTH_REQUIRED', err.who, err.reason);
      throw err;
    }
  }

  private byToken(token: string, client: Address, who: string): string {
    const digest = createHash('sha256').update(token).digest();
    let found: Caller | undefined;
    // Every caller's digest is compared, so the time taken says nothing about which (if any) matched.
    for (const c of this.withToken) if (timingSafeEqual(digest, c.digest!) && !found) found = c;
    if (!found) throw new CallerRefused('UNKNOWN_CALLER', who, 'a token no caller has');
    if (!found.from.has(client.parsed)) throw new CallerRefused('UNKNOWN_CALLER', who, `the token of caller ${found.name}, from an address outside its from`);
    return found.name;
  }

  private byAddress(client: Address, who: string): string {
    for (const c of this.withoutToken) if (c.from.has(client.parsed)) return c.name;
    const needs = this.withToken.find((c) => c.from.has(client.parsed));
    throw new CallerRefused('UNKNOWN_CALLER', who, needs ? `no token; caller ${needs.name} needs its token` : 'no caller has this address in its from');
  }
}

// ?token=, ?x_firewall_token=, ?firewall-token=, ?caller_token= ... (percent-encoded names too).
const TOKEN_PARAM = /^(?:x[-_])?(?:firewall[-_])?(?:caller[-_])?token$/i;
const MAYBE_TOKEN_PARAM = /[?&][^&=#]*(?:token|%)/i;

/** Does the query string carry a parameter named like a caller token? No allocation unless it might. */
export function tokenInQuery(url: string): boolean {
  if (!MAYBE_TOKEN_PARAM.test(url)) return false;
  const q = url.indexOf('?');
  if (q < 0) return false;
  for (const part of url.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    let name = (eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' ');
    try {
      name = decodeURIComponent(name);
    } catch {
      /* a malformed escape: compare it as written */
    }
    if (TOKEN_PARAM.test(name)) return true;
  }
  return false;
}

/**
 * Compiles `callers:` and `trustedProxies:` once, at load. Problems are reported by JSON pointer:
 * a bad CIDR, a short token, two callers sharing a token, two tokenless callers whose `from`
 * overlap (a request could not tell them apart).
 */
export function compileCallers(specs: readonly CallerSpec[], trustedProxies: readonly string[], problem: (pointer: string, message: string) => void): Callers {
  const trusted = AddressSet.parse(trustedProxies, (i, m) => problem(`/trustedProxies/${i}`, m));
  const callers: Caller[] = [];
  const byToken = new Map<string, string>();
  for (const spec of specs) {
    const from = AddressSet.parse(spec.from, (i, m) => problem(`/callers/${spec.name}/from/${i}`, m));
    let digest: Buffer | undefined;
    if (spec.token !== undefined) {
      if (!TOKEN_PATTERN.test(spec.token)) {
        problem(`/callers/${spec.name}/token`, 'a caller token must be 16 to 512 characters of A-Z a-z 0-9 . _ ~ + = - (it may be sent in a URL path); generate one with: openssl rand -hex 32');
      } else if (byToken.has(spec.token)) {
        problem(`/callers/${spec.name}/token`, `callers ${byToken.get(spec.token)} and ${spec.name} share a token; give each its own`);
      }
      byToken.set(spec.token, spec.name);
      digest = createHash('sha256').update(spec.token).digest();
    }
    callers.push({ name: spec.name, from, digest });
  }
  const tokenless = callers.filter((c) => !c.digest);
  tokenless.forEach((a, i) => {
    for (const b of tokenless.slice(i + 1)) {
      const shared = a.from.overlaps(b.from);
      if (shared) problem(`/callers/${b.name}/from`, `callers ${a.name} and ${b.name} both take ${shared.address}/${shared.prefix} without a token: a request could not tell them apart; narrow one's from or give one a token`);
    }
  });
  return new Callers(callers, trusted);
}
