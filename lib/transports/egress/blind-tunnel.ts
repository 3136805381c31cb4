import net from 'node:net';
import type { Socket } from 'node:net';
import { resolvePublic, type CheckedAddress } from '../../egress/addresses.js';
import { TLS_PORT } from '../../egress/hosts.js';
import { FirewallError } from '../../errors.js';
import type { EgressContext } from './context.js';

// A host listed in egress.tunnel: passed through untouched (the firewall cannot and does not look
// inside), to port 443 only, to the address the firewall resolved and checked itself.

const CONNECT_TIMEOUT_MS = 10_000;
/** A tunnel with no bytes either way for this long is closed (a streamed answer keeps it open). */
export const TUNNEL_IDLE_MS = 5 * 60_000;
/** However busy, a tunnel lives at most this long: the client connects again (and is checked again). */
export const TUNNEL_MAX_MS = 60 * 60_000;
/** How often an open tunnel looks for a reload that may have revoked it. */
const RECHECK_MS = 2_000;

/**
 * Resolves and checks `host`, dials it, answers 200 and joins the two sockets. Throws a FirewallError
 * before answering. `stillAllowed` is asked again after every reload (the caller or the host may have
 * been removed): a tunnel that is no longer allowed is closed, as an intercepted one's requests are refused.
 */
export async function openBlindTunnel(ctx: EgressContext, socket: Socket, head: Buffer, host: string, stillAllowed: () => boolean): Promise<CheckedAddress> {
  const target = await resolvePublic(host, ctx.lookup);
  const upstream = await dial(target);
  if (socket.destroyed) {
    upstream.destroy();
    return target;
  }
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) upstream.write(head);
  ctx.tunnels.add(socket);
  for (const [a, b] of [
    [socket, upstream],
    [upstream, socket],
  ] as const) {
    a.setTimeout(TUNNEL_IDLE_MS, () => a.destroy());
    a.on('error', () => b.destroy());
    a.once('close', () => b.destroy());
  }
  const opened = Date.now();
  let checkedAgainst = ctx.firewall.config;
  const watch = setInterval(() => {
    if (Date.now() - opened >= TUNNEL_MAX_MS) return void socket.destroy();
    if (ctx.firewall.config === checkedAgainst) return;
    checkedAgainst = ctx.firewall.config;
    if (!stillAllowed()) socket.destroy();
  }, RECHECK_MS).unref();
  socket.once('close', () => {
    clearInterval(watch);
    ctx.tunnels.delete(socket);
  });
  socket.pipe(upstream).pipe(socket);
  return target;
}

function dial(target: CheckedAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: target.address, port: TLS_PORT, family: target.family });
    const fail = (why: string) => {
      s.destroy();
      reject(new FirewallError('EGRESS_TUNNEL_FAILED', `${target.address}:${TLS_PORT}: ${why}`));
    };
    s.setTimeout(CONNECT_TIMEOUT_MS, () => fail('connect timed out'));
    s.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'connect failed'));
    s.once('connect', () => {
      s.setTimeout(0);
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}
