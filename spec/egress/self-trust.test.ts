import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { serve } from '../../lib/http/server.js';
import { caFiles } from '../../lib/egress/ca.js';
import { tempDir } from '../helpers.js';

// The firewall verifies WeCom with Node's default trust store, which includes NODE_EXTRA_CA_CERTS: if
// that held the egress CA, a holder of its key could pose as WeCom to the firewall and receive the
// real keys. Such a start is refused.

describe('egress CA and the firewall\'s own trust', () => {
  it('refuses to start when NODE_EXTRA_CA_CERTS holds its own CA (the firewall could trust its own CA for WeCom)', async () => {
    const dataDir = tempDir();
    const config = { listen: '127.0.0.1:0', upstream: 'http://127.0.0.1:9', dataDir, robots: { ops: { key: '${env:OPS_KEY}' } }, egress: { listen: '127.0.0.1:0' } };
    const env = { OPS_KEY: randomUUID() };
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    try {
      const first = await serve({ config, env }); // creates the CA under dataDir
      await first.close();
      process.env.NODE_EXTRA_CA_CERTS = caFiles(dataDir).cert;
      await assert.rejects(serve({ config, env }), /NODE_EXTRA_CA_CERTS/);
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
