import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SqliteApprovalStore } from '../../lib/approvals/sqlite-store.js';
import { startStack, tempDir, text } from '../helpers.js';

// A firewall that stopped between an approval and its send (kill -9, a crash) picks up after a
// restart: what was approved is sent once; what was caught mid-send is never sent again.

const verdict = { who: 'alice', verdict: 'approve' as const, at: new Date().toISOString() };

describe('approvals across a restart', () => {
  it('sends an approved-but-unsent message once after a restart, and never resends one interrupted mid-send', async () => {
    const dataDir = tempDir();
    const first = await startStack({ dataDir });
    const approved = await first.send('ops', text('approved, then the firewall died', { mentioned_list: ['@all'] }));
    const interrupted = await first.send('ops', text('the firewall died while sending this', { mentioned_list: ['@all'] }));
    assert.equal(approved.status, 202);
    await first.server.close();
    await first.sim.close();

    // What the dead process left behind, written straight into its store.
    const store = new SqliteApprovalStore(dataDir);
    assert.ok(store.vote(approved.json.approval_id as string, verdict));
    assert.ok(store.vote(interrupted.json.approval_id as string, verdict));
    assert.equal(store.claim(interrupted.json.approval_id as string), true);
    store.close();

    const second = await startStack({ dataDir });
    await second.server.firewall.resumed;
    const delivered = second.sim.delivered(second.keys.ops);
    assert.equal(delivered.length, 1);
    assert.deepEqual(delivered[0]!.body, text('approved, then the firewall died', { mentioned_list: ['@all'] }));
    const alice = await second.token('alice');
    const show = async (id: string) => ((await second.admin('GET', `/approvals/${id}`, alice)).json.approval as { status: string }).status;
    assert.equal(await show(approved.json.approval_id as string), 'sent');
    assert.equal(await show(interrupted.json.approval_id as string), 'failed');
    await second.server.close();
    await second.sim.close();

    const third = await startStack({ dataDir });
    await third.server.firewall.resumed;
    assert.equal(third.sim.received().length, 0);
    await third.server.close();
    await third.sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
