// Mount wecom-firewall inside an existing Express app, with its admin API on a private listener so
// parked messages can be approved.
//
//   node examples/express-middleware/server.mjs     # a try-out: "WeCom" is a simulator this script starts
//
//   WECOM_UPSTREAM=https://qyapi.weixin.qq.com WECOM_OPS_KEY=<key> FIREWALL_ADMIN_SECRET=<32+ chars> \
//   FIREWALL_DATA_DIR=/var/lib/my-app/wecom-firewall node examples/express-middleware/server.mjs
//
// Environment:
//   WECOM_UPSTREAM         where allowed messages go. Unset: a WeCom simulator on 127.0.0.1, started
//                          here, so nothing leaves the machine. The real WeCom only when set to
//                          https://qyapi.weixin.qq.com, and then the next two are required.
//   WECOM_OPS_KEY          the value of key= in the "ops" robot's webhook URL (unset, with the simulator:
//                          a made-up one).
//   FIREWALL_ADMIN_SECRET  HS256 secret (32+ characters) that signs approvers' tokens. Unset, with the
//                          simulator: a random one, and a token for approver "alice" is printed.
//   FIREWALL_DATA_DIR      approvals database and audit log. Default: a new directory under the OS's
//                          temp directory (printed at start, kept after exit), never the checkout.
//   PORT                   the app (and the agents' endpoint) on 127.0.0.1; default 3000, 0 = any free port
//   ADMIN_PORT             admin API and approvals console, 127.0.0.1 only; default 3001, 0 = any free port
//
// Agents use http://127.0.0.1:3000/wecom as their WeCom base URL, e.g.
//   POST http://127.0.0.1:3000/wecom/cgi-bin/webhook/send?key=ops
// Mount the firewall before any body parser: it checks and forwards the exact bytes it reads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import express from 'express';
import { ConfigError, createFirewall, signApproverToken, startSimulator } from 'wecom-firewall';

const env = process.env;
const port = (name, fallback) => {
  const value = env[name] ?? fallback;
  if (!/^\d{1,5}$/.test(value)) throw new Error(`${name} must be a port number, not "${value}"`);
  return Number(value);
};
const appPort = port('PORT', '3000');
const adminPort = port('ADMIN_PORT', '3001');

// Never the real WeCom by surprise: without WECOM_UPSTREAM, a local stand-in.
const sim = env.WECOM_UPSTREAM ? undefined : await startSimulator({ quiet: true });
const secrets = {
  WECOM_OPS_KEY: env.WECOM_OPS_KEY ?? (sim ? randomUUID() : undefined),
  FIREWALL_ADMIN_SECRET: env.FIREWALL_ADMIN_SECRET ?? (sim ? randomBytes(32).toString('hex') : undefined),
};
const dataDir = env.FIREWALL_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'wecom-firewall-express-'));

let firewall;
try {
  firewall = createFirewall({
    config: {
      upstream: env.WECOM_UPSTREAM ?? sim.url,
      dataDir,
      robots: { ops: { key: '${env:WECOM_OPS_KEY}', limit: '20/min' } },
      admin: { jwtSecret: '${env:FIREWALL_ADMIN_SECRET}' },
      approvals: { approvers: ['alice'] },
    },
    // Secrets are read from this environment only, by reference: never written into the config.
    env: { ...env, ...Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== undefined)) },
  });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`${err.message}\n(see the environment variables at the top of ${import.meta.filename})`);
  if (!env.FIREWALL_DATA_DIR) rmSync(dataDir, { recursive: true, force: true }); // ours, and still empty
  await sim?.close();
  process.exit(1);
}

const app = express();
app.get('/status', (_req, res) => res.json({ ok: firewall.healthy() })); // the app's own routes stay as they are
app.use('/wecom', firewall);

const listen = (handler, p) =>
  new Promise((resolve, reject) => {
    const server = handler.listen(p, '127.0.0.1', () => resolve(server)).once('error', reject);
  });
const server = await listen(app, appPort);
// The admin API and console get a listener of their own, on loopback: never mount them on the app.
const adminServer = await listen(firewall.admin, adminPort);
const url = (s) => `http://127.0.0.1:${s.address().port}`;

const lines = [
  `listening on ${url(server)}   (agents: ${url(server)}/wecom/cgi-bin/webhook/send?key=ops)`,
  `admin     ${url(adminServer)}/console/   (approvals console and API; loopback only)`,
  `upstream  ${sim ? `${sim.url}   (a WeCom simulator started here; what reached it: ${sim.url}/__sim/messages)` : env.WECOM_UPSTREAM}`,
  `data      ${dataDir}   (approvals.db, audit/audit.log)`,
];
if (sim && !env.FIREWALL_ADMIN_SECRET) {
  // A try-out secret that dies with the process: the token is only good against this run.
  lines.push(`approver  export TOKEN=${await signApproverToken(secrets.FIREWALL_ADMIN_SECRET, 'alice', 8 * 3600)}   (alice, 8 hours)`);
}
console.log(lines.join('\n'));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    const closed = (s) => new Promise((resolve) => s.close(() => resolve()));
    const stopping = Promise.all([closed(server), closed(adminServer)]);
    await firewall.settleHolds(); // held requests are answered now (503) rather than keeping their connections
    server.closeIdleConnections();
    adminServer.closeIdleConnections();
    await stopping;
    await firewall.close();
    await sim?.close();
    process.exit(0);
  });
}
