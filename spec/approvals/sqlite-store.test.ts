import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteApprovalStore } from '../../lib/approvals/sqlite-store.js';
import { parked } from './fixtures.js';
import { tempDir } from '../helpers.js';

describe('SqliteApprovalStore', () => {
  it('parks the exact bytes with their digest and lists them as pending', () => {
    const store = new SqliteApprovalStore(tempDir());
    const a = store.park(parked());
    assert.equal(a.status, 'pending');
    assert.equal(a.sha256, createHash('sha256').update(parked().payload).digest('hex'));
    assert.deepEqual(store.get(a.id)?.payload, parked().payload);
    assert.deepEqual(store.pending().map((p) => p.id), [a.id]);
    store.close();
  });

  it('decides a record once: a second decision loses', () => {
    const store = new SqliteApprovalStore(tempDir());
    const a = store.park(parked());
    const first = store.vote(a.id, { who: 'alice', verdict: 'approve', at: new Date().toISOString() });
    assert.equal(typeof first === 'object' && first.status, 'approved');
    assert.equal(store.vote(a.id, { who: 'bob', verdict: 'reject', at: new Date().toISOString() }), 'closed');
    assert.deepEqual(store.get(a.id)?.decisions.map((d) => d.who), ['alice']);
    assert.equal(store.finish(a.id, 'sent', { status: 200, body: '' }).status, 'approved'); // not claimed: unchanged
    assert.equal(store.claim(a.id), true);
    assert.equal(store.claim(a.id), false); // one sender only
    const sent = store.finish(a.id, 'sent', { status: 200, body: '{"errcode":0}' });
    assert.equal(sent.status, 'sent');
    // finishing again does not change a sent record
    assert.equal(store.finish(a.id, 'failed', { status: 500, body: '' }).status, 'sent');
    store.close();
  });

  it('takes `required` approvals from different approvers; a repeated vote counts once; one reject rejects', () => {
    const store = new SqliteApprovalStore(tempDir());
    const vote = (id: string, who: string, verdict: 'approve' | 'reject') => store.vote(id, { who, verdict, at: new Date().toISOString() });
    const a = store.park(parked({ approvers: ['alice', 'bob', 'carol'], required: 2 }));
    assert.equal((vote(a.id, 'alice', 'approve') as { status: string }).status, 'pending');
    assert.equal(vote(a.id, 'alice', 'approve'), 'duplicate');
    assert.equal((vote(a.id, 'bob', 'approve') as { status: string }).status, 'approved');
    const b = store.park(parked({ approvers: ['alice', 'bob', 'carol'], required: 2 }));
    vote(b.id, 'alice', 'approve');
    assert.equal((vote(b.id, 'carol', 'reject') as { status: string }).status, 'rejected');
    assert.equal(vote(b.id, 'bob', 'approve'), 'closed');
    store.close();
  });

  it('upgrades a store from before per-record approvers: a record left approved (caught mid-send) is never resent', () => {
    const dir = tempDir();
    const old = new Database(join(dir, 'approvals.db'));
    old.exec(`CREATE TABLE approvals (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, route TEXT NOT NULL, target TEXT NOT NULL, robot TEXT NOT NULL,
      caller TEXT NOT NULL, msgtype TEXT, payload BLOB NOT NULL, content_type TEXT NOT NULL, sha256 TEXT NOT NULL, rule TEXT NOT NULL, reason TEXT NOT NULL,
      created_at TEXT NOT NULL, expires_at TEXT NOT NULL, status TEXT NOT NULL, decisions TEXT NOT NULL DEFAULT '[]', upstream TEXT)`);
    const row = (id: string, status: string) =>
      old.prepare(`INSERT INTO approvals VALUES (?, 'r', 'webhook.send', '/cgi-bin/webhook/send', 'ops', '127.0.0.1', 'text', ?, 'application/json', 'x', 'rule', 'reason', ?, ?, ?, '[]', NULL)`)
        .run(id, Buffer.from('{}'), new Date().toISOString(), new Date(Date.now() + 60_000).toISOString(), status);
    row('was-approved', 'approved');
    row('was-pending', 'pending');
    old.close();
    const store = new SqliteApprovalStore(dir);
    assert.equal(store.get('was-approved')?.status, 'failed');
    assert.deepEqual(store.withStatus('approved'), []);
    assert.deepEqual([store.get('was-pending')?.status, store.get('was-pending')?.approvers, store.get('was-pending')?.method], ['pending', [], 'POST']);
    store.close();
  });

  it('expires a pending record past its expiry; an expired record cannot be approved', () => {
    const store = new SqliteApprovalStore(tempDir());
    const a = store.park(parked({ expiresAt: new Date(Date.now() - 1) }));
    assert.equal(store.vote(a.id, { who: 'alice', verdict: 'approve', at: new Date().toISOString() }), 'closed');
    assert.equal(store.expire(), 1);
    assert.equal(store.get(a.id)?.status, 'expired');
    assert.deepEqual(store.pending(), []);
    store.close();
  });

  it('keeps a parked record across kill -9 of the process that parked it', async () => {
    const dir = tempDir();
    const child = fileURLToPath(new URL('./park-and-hang.js', import.meta.url));
    const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise<string>((resolve, reject) => {
      proc.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      proc.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    const store = new SqliteApprovalStore(dir);
    const a = store.get(id);
    assert.equal(a?.status, 'pending');
    assert.equal(a?.payload.toString(), parked().payload.toString());
    store.close();
  });
  it('lists history newest first with exact filters, time bounds and a paging cursor', () => {
    const store = new SqliteApprovalStore(tempDir());
    const ids = [
      store.park(parked({ robot: 'ops', rule: 'r1' })).id,
      store.park(parked({ robot: 'team', rule: 'r1', caller: '10.0.0.9' })).id,
      store.park(parked({ robot: 'ops', rule: 'r2' })).id,
    ];
    store.vote(ids[0]!, { who: 'alice', verdict: 'reject', at: new Date().toISOString() });
    const all = store.history({ limit: 10 });
    assert.deepEqual(all.map((a) => a.id).sort(), [...ids].sort());
    assert.ok(all.every((a, i) => i === 0 || all[i - 1]!.createdAt >= a.createdAt), 'newest first');
    assert.deepEqual(store.history({ limit: 10, status: 'rejected' }).map((a) => a.id), [ids[0]]);
    assert.deepEqual(store.history({ limit: 10, robot: 'team' }).map((a) => a.id), [ids[1]]);
    assert.deepEqual(store.history({ limit: 10, caller: '10.0.0.9' }).map((a) => a.id), [ids[1]]);
    assert.equal(store.history({ limit: 10, rule: 'r1' }).length, 2);
    assert.equal(store.history({ limit: 10, since: new Date(Date.now() + 60_000).toISOString() }).length, 0);
    assert.equal(store.history({ limit: 10, until: new Date(Date.now() + 60_000).toISOString() }).length, 3);
    // Paging: two pages of one and two, no record twice, none lost.
    const first = store.history({ limit: 1 });
    const rest = store.history({ limit: 10, before: { createdAt: first[0]!.createdAt, id: first[0]!.id } });
    assert.deepEqual([...first, ...rest].map((a) => a.id), all.map((a) => a.id));
    store.close();
  });

  it('erases the payload of decided records past retention and keeps the record and digest', () => {
    const store = new SqliteApprovalStore(tempDir());
    const decided = store.park(parked());
    const waiting = store.park(parked());
    store.vote(decided.id, { who: 'alice', verdict: 'reject', at: new Date().toISOString() });
    assert.equal(store.purge(new Date(Date.now() - 60_000)), 0, 'too recent');
    assert.equal(store.purge(new Date(Date.now() + 1000)), 1, 'only the decided one');
    const after = store.get(decided.id)!;
    assert.equal(after.payload.length, 0);
    assert.equal(after.sha256, decided.sha256);
    assert.ok(after.purgedAt);
    assert.deepEqual(store.get(waiting.id)!.payload, waiting.payload);
    assert.equal(store.purge(new Date(Date.now() + 1000)), 0, 'once');
    store.close();
  });

  it('spends a single-use token with the vote: a second vote with it changes nothing', () => {
    const store = new SqliteApprovalStore(tempDir());
    const a = store.park(parked({ required: 2 }));
    const spend = { jti: 'link-1', expiresAt: new Date(Date.now() + 60_000) };
    const first = store.vote(a.id, { who: 'alice', verdict: 'approve', at: new Date().toISOString() }, spend);
    assert.equal(typeof first === 'object' && first.status, 'pending');
    assert.equal(store.vote(a.id, { who: 'bob', verdict: 'approve', at: new Date().toISOString() }, spend), 'token_spent');
    assert.deepEqual(store.get(a.id)!.decisions.map((d) => d.who), ['alice']);
    store.close();
  });
});
