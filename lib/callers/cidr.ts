import { BlockList, SocketAddress, isIP } from 'node:net';
import type { Socket } from 'node:net';

// Address ranges (IPv4 and IPv6 CIDRs) compiled once into node:net BlockLists, and addresses parsed
// once into SocketAddresses: a check is then a native lookup with nothing allocated. IPv4-mapped
// IPv6 (::ffff:10.0.0.7, what a dual-stack listener reports) is folded to IPv4 on both sides.

export type Family = 'ipv4' | 'ipv6';
export interface Cidr { address: string; prefix: number; family: Family }

const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** "10.0.0.0/24", "::1/128", or a bare address (one host). Throws with the fix. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  let address = (slash < 0 ? text : text.slice(0, slash)).trim();
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1).trim();
  const v = isIP(address);
  if (!v) throw new Error(`"${text}" is not an IPv4 or IPv6 address or CIDR: write e.g. 10.0.0.0/24, 10.0.0.7 or fd00::/64`);
  let family: Family = v === 4 ? 'ipv4' : 'ipv6';
  const max = family === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw new Error(`"${text}": the prefix length must be 0 to ${max}`);
    prefix = Number(prefixText);
  }
  const mapped = family === 'ipv6' ? MAPPED.exec(address) : null;
  if (mapped && prefix >= 96) {
    address = mapped[1]!;
    family = 'ipv4';
    prefix -= 96;
  }
  return { address, prefix, family };
}

/** A set of address ranges; `has` is what the request path calls. */
export class AddressSet {
  private readonly list = new BlockList();
  constructor(readonly cidrs: readonly Cidr[]) {
    for (const c of cidrs) this.list.addSubnet(c.address, c.prefix, c.family);
  }
  get size(): number {
    return this.cidrs.length;
  }
  has(address: SocketAddress): boolean {
    return this.cidrs.length > 0 && this.list.check(address);
  }
  /** Some address is in both sets (CIDRs either nest or are disjoint, so checking each base suffices). */
  overlaps(other: AddressSet): Cidr | undefined {
    for (const c of this.cidrs) if (other.list.check(c.address, c.family)) return c;
    for (const c of other.cidrs) if (this.list.check(c.address, c.family)) return c;
    return undefined;
  }
  /** Compiled from text, each failure named by its index. */
  static parse(texts: readonly string[], problem: (index: number, message: string) => void): AddressSet {
    const cidrs: Cidr[] = [];
    texts.forEach((t, i) => {
      try {
        cidrs.push(parseCidr(t));
      } catch (err) {
        problem(i, (err as Error).message);
      }
    });
    return new AddressSet(cidrs);
  }
}

export const LOOPBACK = new AddressSet([parseCidr('127.0.0.0/8'), parseCidr('::1/128')]);

/** An address as a caller sees it: its text (IPv4-mapped folded) and the parsed form the sets check. */
export interface Address { text: string; parsed: SocketAddress }

/**
 * Parses an address from a header or a socket; undefined if it is not one. Accepts the forms
 * proxies write: "10.0.0.7", "10.0.0.7:5678", "[2001:db8::1]:443", "2001:db8::1", a zone ("%eth0").
 */
export function parseAddress(raw: string): Address | undefined {
  let text = raw.trim();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || (close + 1 < text.length && !/^:\d{1,5}$/.test(text.slice(close + 1)))) return undefined;
    text = text.slice(1, close);
  } else if (text.indexOf(':') > 0 && text.indexOf(':') === text.lastIndexOf(':')) {
    const [host, port] = text.split(':') as [string, string]; // IPv4 with a port: exactly one colon
    if (!/^\d{1,5}$/.test(port)) return undefined;
    text = host;
  }
  const zone = text.indexOf('%');
  if (zone > 0) text = text.slice(0, zone);
  const mapped = MAPPED.exec(text);
  if (mapped) text = mapped[1]!;
  const v = isIP(text);
  if (!v) return undefined;
  return { text, parsed: new SocketAddress({ address: text, family: v === 4 ? 'ipv4' : 'ipv6' }) };
}

// A connection's peer never changes: parsed once per socket, not per request (keep-alive).
const peers = new WeakMap<Socket, Address | null>();

/** The socket's peer address, parsed once per connection; undefined if the socket has none (gone). */
export function peerOf(socket: Socket): Address | undefined {
  let peer = peers.get(socket);
  if (peer === undefined) {
    const raw = socket.remoteAddress;
    peer = (raw && parseAddress(raw)) || null;
    // A destroyed socket reports no address; do not remember that for the connection.
    if (peer || raw) peers.set(socket, peer);
  }
  return peer ?? undefined;
}
