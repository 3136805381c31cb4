import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { serve } from '../http/server.js';
import { signApproverToken } from '../http/auth.js';
import { startSimulator } from '../simulator/index.js';
import { LIVE_FILE } from '../audit/files.js';

// `wecom-firewall demo`: a simulator standing in for WeCom, the firewall in front of it with the
// shipped policies, and the curl commands that show each decision. Nothing leaves 127.0.0.1.

export async function runDemo(port: number): Promise<{ close(): Promise<void> }> {
  const robotKey = randomUUID();
  const adminSecret = randomBytes(32).toString('hex');
  const sim = await startSimulator({ keys: [robotKey], quiet: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'wecom-firewall-demo-'));
  let server;
  try {
    server = await serve({
      config: {
        listen: `127.0.0.1:${port}`,
        upstream: sim.url,
        dataDir,
        robots: { 'demo-team': { key: '${env:DEMO_ROBOT_KEY}', limit: '20/min' } },
        admin: { listen: `127.0.0.1:${port + 1}`, jwtSecret: '${env:DEMO_ADMIN_SECRET}' },
        approvals: { approvers: ['alice'] },
      },
      env: { DEMO_ROBOT_KEY: robotKey, DEMO_ADMIN_SECRET: adminSecret },
    });
  } catch (err) {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const token = await signApproverToken(adminSecret, 'alice', 8 * 3600);
  const base = `${server.url}/cgi-bin/webhook/send?key=demo-team`;
  const post = (body: object) => `curl -s -w ' [HTTP %{http_code}]\\n' -X POST '${base}' -H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`;
  process.stdout.write(`
wecom-firewall demo
  firewall  ${server.url}   (GET /healthz)
  admin     ${server.adminUrl}
  console   ${server.adminUrl}/console/   (sign in with the token below)
  WeCom     ${sim.url}   (a local simulator; the robot alias "demo-team" maps to its key)
  data      ${dataDir}   (approvals.db; deleted when the demo stops)
  audit log ${join(server.firewall.config.audit.dir, LIVE_FILE)}   (one JSON line per decision)

1. Forwarded (the simulator answers errcode 0):
   ${post({ msgtype: 'text', text: { content: 'deploy finished' } })}

2. Refused (HTTP 403, errcode 9900001: the message carries a cloud access key):
   ${post({ msgtype: 'text', text: { content: 'use AKIAIOSFODNN7EXAMPLE to log in' } })}

3. Parked for approval (HTTP 202 with an approval_id: @all mentions the whole group):
   ${post({ msgtype: 'text', text: { content: 'all hands at 3pm', mentioned_list: ['@all'] } })}

Approve the parked one as alice (token valid 8 hours), in the console or with curl:
   export TOKEN=${token}
   curl -s ${server.adminUrl}/approvals -H "Authorization: Bearer $TOKEN"
   curl -s -X POST ${server.adminUrl}/approvals/<approval_id>/approve -H "Authorization: Bearer $TOKEN"

See what reached "WeCom":  curl -s ${sim.url}/__sim/messages
Stop with Ctrl-C.
`);
  return {
    close: async () => {
      await server.close();
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
