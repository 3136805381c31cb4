import type { IncomingHttpHeaders } from 'node:http';
import { parseAddress, type Address, type AddressSet } from './cidr.js';

// Who is really calling when the firewall sits behind a reverse proxy. X-Forwarded-For and
// Forwarded (RFC 7239) are believed only from a peer in `trustedProxies`; from anyone else they are
// ignored, so a forged header changes nothing. Each proxy appends the address it received from, so
// the chain is read right to left, skipping trusted proxies: the first untrusted address is the
// client (earlier entries were written by the client itself and prove nothing). If every entry is a
// trusted proxy, the left-most is taken.

export type ForwardedResult = Address | { refused: string };

/** The client address: the peer, or from a trusted peer the forwarding headers' answer. */
export function clientAddress(peer: Address, headers: IncomingHttpHeaders, trusted: AddressSet): ForwardedResult {
  if (!trusted.has(peer.parsed)) return peer;
  const xff = joined(headers['x-forwarded-for']);
  const fwd = joined(headers.forwarded);
  if (xff === undefined && fwd === undefined) return peer; // the proxy itself calls
  const a = xff === undefined ? undefined : walk(xff.split(','), trusted);
  const b = fwd === undefined ? undefined : walk(forwardedFor(fwd), trusted);
  if (a && 'refused' in a) return { refused: `X-Forwarded-For: ${a.refused}` };
  if (b && 'refused' in b) return { refused: `Forwarded: ${b.refused}` };
  // A proxy appends to one of them; the other may have come from the client untouched. Rather than
  // guess which the proxy wrote, both must name the same client.
  if (a && b && a.text !== b.text) return { refused: 'X-Forwarded-For and Forwarded name different clients' };
  return (a ?? b)!;
}

const joined = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);

function walk(entries: string[], trusted: AddressSet): ForwardedResult {
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = parseAddress(entries[i]!);
    if (!address) return { refused: 'an entry is not an IP address' };
    if (i === 0 || !trusted.has(address.parsed)) return address;
  }
  return { refused: 'empty' };
}

/** The for= of each element of a Forwarded header, unquoted: `for=1.2.3.4;proto=https, for="[::1]:80"`. */
function forwardedFor(header: string): string[] {
  return header.split(',').map((element) => {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') return pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    }
    return ''; // an element without for=: not an address, so the chain cannot be followed past it
  });
}
