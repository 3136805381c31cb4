// Mount wecom-firewall inside an existing Express app.
// Agents use http://127.0.0.1:3000/wecom as their WeCom base URL, e.g.
//   POST http://127.0.0.1:3000/wecom/cgi-bin/webhook/send?key=ops
//
//   WECOM_OPS_KEY=<real key> node examples/express-middleware/server.mjs
//
// Mount the firewall before any body parser: it checks and forwards the exact bytes it reads.
import express from 'express';
import { createFirewall } from 'wecom-firewall';

const firewall = createFirewall({
  config: {
    upstream: process.env.WECOM_UPSTREAM ?? 'https://qyapi.weixin.qq.com',
    dataDir: process.env.FIREWALL_DATA_DIR ?? './data',
    robots: { ops: { key: '${env:WECOM_OPS_KEY}', limit: '20/min' } },
    // admin: { jwtSecret: '${env:FIREWALL_ADMIN_SECRET}' }, then mount firewall.admin on a private listener
  },
});

const app = express();
app.get('/status', (_req, res) => res.json({ ok: firewall.healthy() })); // the app's own routes stay as they are
app.use('/wecom', firewall);

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`listening on http://127.0.0.1:${port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(async () => {
      await firewall.close();
      process.exit(0);
    });
    server.closeIdleConnections();
  });
}
