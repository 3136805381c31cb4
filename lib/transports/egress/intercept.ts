import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { normalizeHost } from '../../egress/hosts.js';
import { presentOn, type Presented } from '../../callers/proxied.js';
import { audit, egressRecord, type EgressContext } from './context.js';

// An intercepted CONNECT: the firewall answers 200, terminates TLS with its leaf for the CONNECT host,
// and hands the decrypted connection to the egress listener as if it had been accepted there, so every
// request inside it (keep-alive, many per tunnel) reaches the same handler as `listen` does.

export interface Tunnel {
  /** The CONNECT host: the only host requests inside may name. */
  host: string;
  /** The caller identified on the CONNECT (for the adapter's own audit records). */
  caller: string;
}

const tunnels = new WeakMap<Socket, Tunnel>();

/** The tunnel a decrypted connection belongs to; undefined for a plain connection to the proxy. */
export function tunnelOf(socket: Socket): Tunnel | undefined {
  return tunnels.get(socket);
}

export function intercept(ctx: EgressContext, socket: Socket, head: Buffer, host: string, presented: Presented, caller: string): void {
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) socket.unshift(head); // the ClientHello may have come with the CONNECT
  let refusal: string | undefined;
  const tls = new TLSSocket(socket, {
    isServer: true,
    // http/1.1 only: a client offering h2 gets http/1.1; one offering only h2 is refused (alert 120).
    ALPNProtocols: ['http/1.1'],
    // No default certificate: a ClientHello without SNI finds none and fails. An SNI other than the
    // CONNECT host is refused: the leaf presented is always the CONNECT host's.
    SNICallback: (servername, cb) => {
      const context = normalizeHost(servername) === host ? ctx.leaves.context(host) : undefined;
      if (context) return cb(null, context);
      refusal = normalizeHost(servername) === host ? `no valid certificate for ${host}` : `TLS server name ${servername.slice(0, 255)} is not the CONNECT host ${host}`;
      cb(new Error(refusal));
    },
  });
  // Either side closing closes the other: the tunnel is one connection.
  socket.once('close', () => tls.destroy());
  tls.once('close', () => socket.destroy());
  // A handshake that does not complete is audited once, with the likeliest reason.
  let settled = false;
  const failed = (reason: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    tls.destroy();
    audit(ctx, egressRecord('egress.tls', randomUUID(), caller, host), { reason: refusal ?? reason });
  };
  const timer = setTimeout(() => failed('TLS handshake timed out'), ctx.handshakeTimeoutMs).unref();
  tls.once('error', (err) => failed(handshakeFailure(err)));
  // The listener allows half-open connections, and so does this socket: a client that gives up
  // during the handshake is seen as an end, not a close.
  for (const event of ['end', 'close']) tls.once(event, () => failed(`the client closed the connection during the TLS handshake: ${DISTRUST}`));
  tls.once('secure', () => {
    settled = true;
    clearTimeout(timer);
    tls.on('error', () => tls.destroy()); // the http server handles errors from here on
    if (normalizeHost(String(tls.servername || '')) !== host) {
      tls.destroy();
      return;
    }
    tunnels.set(tls, { host, caller });
    presentOn(tls, presented);
    ctx.server.emit('connection', tls);
  });
}

const DISTRUST = "does it trust the firewall's CA? (give it the output of wecom-firewall ca export)";

/** A one-line reason for a handshake that failed, without the OpenSSL noise. */
function handshakeFailure(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN/.test(code)) return `TLS handshake refused by the client: ${DISTRUST}`;
  if (/NO_APPLICATION_PROTOCOL/.test(code)) return 'TLS handshake failed: the client offers no ALPN protocol the firewall speaks (http/1.1 only)';
  return `TLS handshake failed (${code || err.message.slice(0, 120)})`;
}
