import type http from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parseAuthority, targetOf } from '../../egress/hosts.js';
import { parseProxyAuthorization, type Presented } from '../../callers/proxied.js';
import { CallerRefused } from '../../callers/identify.js';
import { peerOf } from '../../callers/cidr.js';
import { FirewallError } from '../../errors.js';
import { audit, egressRecord, type EgressContext } from './context.js';
import { asFirewallError, refuseOnSocket } from '../../http/respond.js';
import { intercept, tunnelOf } from './intercept.js';
import { openBlindTunnel } from './blind-tunnel.js';

// CONNECT host:port. Who is calling comes first (an unknown caller learns nothing about targets),
// then the target: WeCom's hosts are intercepted, hosts in egress.tunnel are tunnelled blind, and
// everything else is refused with a one-line reason. A refusal is answered on the socket and closes
// it; it never becomes a tunnel.

export function onConnect(ctx: EgressContext) {
  return (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy()); // a client that vanishes must not take the process with it
    const requestId = randomUUID();
    const peer = peerOf(socket);
    const authority = parseAuthority(req.url ?? '');
    const record = egressRecord('egress.connect', requestId, `unknown:${peer?.text ?? 'unknown'}`, authority?.host ?? '(not host:port)');
    const { firewall } = ctx;
    const run = async () => {
      if (!peer) throw new CallerRefused('UNKNOWN_CALLER', 'unknown', 'the connection has no peer address');
      if (tunnelOf(socket)) throw new FirewallError('NOT_A_PROXY_REQUEST', 'CONNECT inside a tunnel');
      const presented: Presented = { address: peer, credentials: parseProxyAuthorization(req.headers['proxy-authorization']) };
      const caller = firewall.config.callers.identifyProxied(presented, true);
      record.who = caller;
      if (!firewall.audit.healthy()) throw new FirewallError('AUDIT_UNAVAILABLE', 'no tunnel is opened unaudited');
      if (!authority) throw new FirewallError('EGRESS_HOST_REFUSED', 'the CONNECT target must be host:port');
      const target = targetOf(authority, firewall.config.egress?.tunnel ?? new Set());
      if (target.kind === 'refuse') throw new FirewallError('EGRESS_HOST_REFUSED', target.reason);
      if (target.kind === 'intercept') return intercept(ctx, socket, head, target.host, presented, caller);
      const stillAllowed = () => {
        try {
          firewall.config.callers.identifyProxied(presented, true);
          return targetOf(authority, firewall.config.egress?.tunnel ?? new Set()).kind === 'tunnel';
        } catch {
          return false;
        }
      };
      const dialled = await openBlindTunnel(ctx, socket, head, target.host, stillAllowed);
      record.decision = 'tunnelled';
      audit(ctx, record, { reason: `blind tunnel to ${dialled.address}:443` });
    };
    run().catch((err: unknown) => {
      const fe = asFirewallError(err);
      if (err instanceof CallerRefused) record.who = err.who;
      refuseOnSocket(socket, fe, requestId, (t) => firewall.config.redactor.redact(t));
      if (fe.code === 'INTERNAL') firewall.log.error('egress CONNECT failed', { request_id: requestId, cause: String(err) });
      audit(ctx, record, { error: fe, reason: err instanceof CallerRefused ? err.reason : undefined });
    });
  };
}
