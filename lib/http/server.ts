import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFirewall, type Firewall, type FirewallOptions } from '../firewall.js';
import type { Listen } from '../config/load.js';
import { sendJson } from './respond.js';
import { ERRORS } from '../errors.js';

const { NOT_READY } = ERRORS;

export interface RunningServer {
  firewall: Firewall;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  adminUrl?: string;
  close(): Promise<void>;
}

/** How long a stopping server lets requests in flight finish before it cuts their connections. */
const DRAIN_MS = 10_000;

/**
 * The standalone server: the firewall plus /healthz and /readyz on `listen`, the admin API and
 * console on `admin.listen`.
 */
export async function serve(options: FirewallOptions): Promise<RunningServer> {
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

  const servers: http.Server[] = [];
  try {
    const proxyServer = await listen(app, firewall.config.listen);
    servers.push(proxyServer);
    const adminServer = firewall.admin && firewall.config.admin ? await listen(firewall.admin, firewall.config.admin.listen) : undefined;
    if (adminServer) servers.push(adminServer);
    return {
      firewall,
      url: urlOf(proxyServer),
      adminUrl: adminServer && urlOf(adminServer),
      close: async () => {
        await Promise.all(servers.map(stop));
        await firewall.close();
      },
    };
  } catch (err) {
    await Promise.all(servers.map(stop));
    await firewall.close();
    throw err;
  }
}

function listen(handler: http.RequestListener, at: Listen): Promise<http.Server> {
  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops accepting, lets requests in flight finish (up to DRAIN_MS), then closes what is left. */
function stop(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function urlOf(server: http.Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
