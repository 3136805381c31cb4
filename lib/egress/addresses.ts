import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import { FirewallError } from '../errors.js';

// Where a blind tunnel may go. The firewall resolves the name itself, refuses it if ANY address is
// special-purpose (one public and one private answer is how DNS rebinding looks), and then dials the
// address it checked, never the name again (stripe/smokescreen; OpenClaw's "block by IP after DNS
// resolution, at connect time"). Without this, a listed name pointing at 127.0.0.1 or the cloud
// metadata address (169.254.169.254) would be a way into the firewall's own network.

const SPECIAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) SPECIAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: embeds an IPv4 address that may be private
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo included)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) SPECIAL.addSubnet(net, prefix, 'ipv6');

const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** true for an address a tunnel may be dialled to: none of the ranges above (IPv4-mapped IPv6 checked as IPv4). */
export function isPublicAddress(address: string): boolean {
  const mapped = MAPPED.exec(address);
  const a = mapped ? mapped[1]! : address;
  const v = isIP(a);
  if (!v) return false;
  return !SPECIAL.check(a, v === 4 ? 'ipv4' : 'ipv6');
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Resolves `host` and returns the address to dial, or throws EGRESS_ADDRESS_REFUSED / EGRESS_TUNNEL_FAILED. */
export async function resolvePublic(host: string, lookup: Lookup = systemLookup): Promise<CheckedAddress> {
  let answers: Array<{ address: string; family: number }>;
  try {
    answers = await lookup(host);
  } catch (err) {
    throw new FirewallError('EGRESS_TUNNEL_FAILED', `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'DNS error'})`);
  }
  if (!answers.length) throw new FirewallError('EGRESS_TUNNEL_FAILED', `${host} has no address`);
  const special = answers.find((a) => !isPublicAddress(a.address));
  if (special) throw new FirewallError('EGRESS_ADDRESS_REFUSED', `${host} resolves to ${special.address}`);
  const first = answers[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
