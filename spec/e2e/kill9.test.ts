import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { ADMIN_SECRET, mintToken, tempDir, text, spawnCli, until } from '../helpers.js';

// The real server, killed with SIGKILL: a parked message is in the store when it comes back and is
// sent once; an approved message still waiting for its robot's window is sent once by the restart;
// one caught mid-send (WeCom may have it) is never sent again; a held one is not approvable.

const serve = (config: string, env: NodeJS.ProcessEnv) => spawnCli(['serve', '--config', config], env);

async function json(res: Promise<Response>): Promise<{ status: number; body: Record<string, any> }> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

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

  it('after SIGKILL, an approved message left waiting for its window is sent once, one left mid-send is never resent, a held one is not approvable', async () => {
    const config = join(dir, 'firewall-2.yaml');
    writeFileSync(
      config,
      `listen: 127.0.0.1:0\nupstream: ${sim.url}\nupstreamTimeout: 60s\ndataDir: ./data-2\nrobots:\n  ops:\n    key: \${env:OPS_KEY}\n    limit: 1/min\n  team:\n    key: \${env:OPS_KEY}\nadmin:\n  listen: 127.0.0.1:0\n  jwtSecret: \${env:ADMIN_SECRET}\napprovals:\n  approvers: [alice]\npolicies: [./rules-2.yaml]\n`,
    );
    writeFileSync(
      join(dir, 'rules-2.yaml'),
      `rules:\n  - name: held\n    description: held while the agent waits\n    condition: { properties: { text: { properties: { content: { pattern: "^hold" } } } } }\n    action: approve\n    approval: { mode: hold, holdFor: 10m }\n    reason: held\n  - name: parked\n    description: parked for an approver\n    condition: { properties: { text: { properties: { content: { pattern: "^park" } } } } }\n    action: approve\n    reason: parked\ndefault: { action: allow, reason: ok }\n`,
    );
    const env = { OPS_KEY: key, ADMIN_SECRET };
    const alice = await mintToken('alice');
    const auth = { authorization: `Bearer ${alice}` };
    const before = sim.received(key).length;
    const first = serve(config, env);
    const { url, admin } = await first.listening();
    const post = (alias: string, content: string) => fetch(`${url}/cgi-bin/webhook/send?key=${alias}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(text(content)) });
    // ops' one send a minute is spent: its approved message must wait for the window.
    assert.equal((await json(post('ops', 'fills the window'))).status, 200);
    const waiting = (await json(post('ops', 'park: waits for the window'))).body.approval_id as string;
    const approvedWaiting = await json(fetch(`${admin}/approvals/${waiting}/approve`, { method: 'POST', headers: auth }));
    assert.equal(approvedWaiting.body.approval.status, 'approved');
    // team's approved message stalls at WeCom: the firewall is killed while it is sending.
    const midSend = (await json(post('team', 'park: caught mid-send'))).body.approval_id as string;
    const sends = sim.requestCount('/cgi-bin/webhook/send');
    sim.faultNext(1, { kind: 'stall' }, '/cgi-bin/webhook/send');
    const approving = fetch(`${admin}/approvals/${midSend}/approve`, { method: 'POST', headers: auth }).catch(() => undefined);
    // and a held request, cut by the kill
    const held = post('ops', 'hold: cut by the kill').catch(() => undefined);
    const heldId = await until('the held record', async () => {
      const list = await json(fetch(`${admin}/approvals`, { headers: auth }));
      return (list.body.approvals as Array<{ id: string; held: boolean }>).find((a) => a.held)?.id;
    });
    await until('the stalled send reached WeCom', () => sim.requestCount('/cgi-bin/webhook/send') === sends + 1);
    first.proc.kill('SIGKILL');
    await first.exited;
    await Promise.all([approving, held]);

    const second = serve(config, env);
    try {
      const admin2 = (await second.listening()).admin!;
      const show = async (id: string) => (await json(fetch(`${admin2}/approvals/${id}`, { headers: auth }))).body.approval as { status: string; upstream?: { code?: string } };
      await until('the waiting message sent', async () => (await show(waiting)).status === 'sent');
      const cut = await show(midSend);
      assert.equal(cut.status, 'failed');
      assert.equal(cut.upstream?.code, 'UPSTREAM_OUTCOME_UNKNOWN');
      assert.equal((await show(heldId)).status, 'expired');
      assert.equal((await json(fetch(`${admin2}/approvals/${heldId}/approve`, { method: 'POST', headers: auth }))).status, 409);
      const mine = sim.received(key).slice(before).map((m) => m.raw);
      assert.equal(mine.filter((r) => r.includes('waits for the window')).length, 1);
      assert.equal(mine.filter((r) => r.includes('cut by the kill')).length, 0);
      // WeCom was called twice since: the stalled send (it may have that one) and the waiting one. Never a resend.
      assert.equal(sim.requestCount('/cgi-bin/webhook/send'), sends + 2);
    } finally {
      second.proc.kill('SIGTERM');
      await second.exited;
    }
  });
});
