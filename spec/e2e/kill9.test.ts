import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { ADMIN_SECRET, mintToken, tempDir, text, spawnCli } from '../helpers.js';

// The real server, killed with SIGKILL after answering 202: the parked message is in the store when
// it comes back, an approver approves it there, and it reaches WeCom exactly once.


const serve = (config: string, env: NodeJS.ProcessEnv) => spawnCli(['serve', '--config', config], env);

describe('a parked message across kill -9', () => {
  let sim: Simulator;
  let dir: string;
  const key = randomUUID();
  before(async () => {
    sim = await startSimulator({ keys: [key], quiet: true });
    dir = tempDir();
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives SIGKILL right after its 202, is approved after the restart, and is sent once', async () => {
    const config = join(dir, 'firewall.yaml');
    writeFileSync(config, `listen: 127.0.0.1:0\nupstream: ${sim.url}\ndataDir: ./data\nrobots:\n  ops:\n    key: \${env:OPS_KEY}\nadmin:\n  listen: 127.0.0.1:0\n  jwtSecret: \${env:ADMIN_SECRET}\napprovals:\n  approvers: [alice]\n`);
    const env = { OPS_KEY: key, ADMIN_SECRET };
    const first = serve(config, env);
    const { url } = await first.listening();
    const parked = await fetch(`${url}/cgi-bin/webhook/send?key=ops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(text('all hands at 3', { mentioned_list: ['@all'] })) });
    assert.equal(parked.status, 202);
    const id = ((await parked.json()) as { approval_id: string }).approval_id;
    first.proc.kill('SIGKILL');
    await first.exited;

    const second = serve(config, env);
    try {
      const admin = (await second.listening()).admin!;
      const alice = await mintToken('alice');
      const shown = await fetch(`${admin}/approvals/${id}`, { headers: { authorization: `Bearer ${alice}` } });
      assert.equal(((await shown.json()) as { approval: { status: string } }).approval.status, 'pending');
      const approved = await fetch(`${admin}/approvals/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${alice}` } });
      assert.equal(approved.status, 200);
      assert.equal(((await approved.json()) as { approval: { status: string } }).approval.status, 'sent');
      assert.equal(sim.delivered(key).filter((m) => m.raw.includes('all hands at 3')).length, 1);
      const again = await fetch(`${admin}/approvals/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${alice}` } });
      assert.equal(again.status, 409);
      assert.equal(sim.delivered(key).length, 1);
    } finally {
      second.proc.kill('SIGTERM');
      await second.exited;
    }
  });
});
