import type http from 'node:http';
import { createFirewall, type Firewall, type FirewallOptions } from '../firewall.js';
import { listen, stop, urlOf, type Listener } from './listener.js';
import { sendJson } from './respond.js';
import { ERRORS } from '../errors.js';
import { startEgress } from '../transports/egress/listener.js';
import type { Lookup } from '../egress/addresses.js';

const { NOT_READY } = ERRORS;

export interface RunningServer {
  firewall: Firewall;
  /** e.g. http://127.0.0.1:8080 (https:// with `tls:`) */
  url: string;
  adminUrl?: string;
  /** The egress proxy (with `egress:`), e.g. http://127.0.0.1:3128 */
  egressUrl?: string;
  close(): Promise<void>;
}

/**
 * The standalone server: the firewall plus /healthz and /readyz on `listen`, the admin API and
 * console on `admin.listen`, and with `egress:` the egress proxy on `egress.listen`, whose requests
 * reach the same firewall handler. `egressLookup` replaces DNS for blind tunnels (specs).
 */
export async function serve(options: FirewallOptions & { egressLookup?: Lookup }): Promise<RunningServer> {
  const firewall = createFirewall(options);
  // The proxy listener is plain node:http: the firewall handler needs no router, and the forward
  // path is measured against http-proxy alone (bench/). Express serves the admin API and embedders.
  const app: http.RequestListener = (req, res) => {
    const probe = req.method === 'GET' || req.method === 'HEAD' ? req.url : undefined;
    if (probe === '/healthz') {
      const ok = firewall.healthy();
      sendJson(res, ok ? 200 : 503, { ok, errcode: ok ? 0 : 9900005, errmsg: ok ? 'ok' : 'approval store or audit log unavailable' });
    } else if (probe === '/readyz') {
      firewall.ready().then(
        (r) => sendJson(res, r.ready ? 200 : NOT_READY.status, { ok: r.ready, errcode: r.ready ? 0 : NOT_READY.errcode, errmsg: r.ready ? 'ok' : NOT_READY.message, checks: r.checks }),
        () => sendJson(res, NOT_READY.status, { ok: false, errcode: NOT_READY.errcode, errmsg: NOT_READY.message }),
      );
    } else firewall(req, res);
  };

  const stops: Array<() => Promise<void>> = [];
  const { config } = firewall;
  const started = (server: Listener) => (stops.push(() => stop(server)), server);
  try {
    const proxyServer = started(await listen(app, config.listen, config.server, config.tls, (server) => server.on('upgrade', firewall.upgrade)));
    const adminServer = firewall.admin && config.admin ? started(await listen(firewall.admin, config.admin.listen, config.server, config.admin.tls)) : undefined;
    const egress = config.egress ? await startEgress(firewall, { lookup: options.egressLookup }) : undefined;
    if (egress) stops.push(() => egress.close());
    return {
      firewall,
      url: urlOf(proxyServer),
      adminUrl: adminServer && urlOf(adminServer),
      egressUrl: egress?.url,
      close: async () => {
        // Stop accepting first, then answer held requests (503), so the drain does not wait on them.
        const stopping = Promise.all(stops.map((s) => s()));
        await firewall.settleHolds();
        await stopping;
        await firewall.close();
      },
    };
  } catch (err) {
    await Promise.all(stops.map((s) => s()));
    await firewall.close();
    throw err;
  }
}

