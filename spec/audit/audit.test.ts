import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuditLog } from '../../lib/audit/audit.js';
import { GENESIS } from '../../lib/audit/chain.js';
import { rotatedName, rotatedTime } from '../../lib/audit/files.js';
import { verifyAuditDir } from '../../lib/audit/verify.js';
import { Redactor } from '../../lib/config/secrets.js';
import { tempDir, until } from '../helpers.js';
import { DAY, MINUTE, chainFiles, clock, readLines, records, writeRecords } from './fixtures.js';

describe('audit log: the hash chain', () => {
  it('chains every record to the one before, from a genesis prev, and continues across a restart', async () => {
    const dir = tempDir();
    const c = clock();
    await writeRecords(dir, c, 5);
    await writeRecords(dir, c, 5, { from: 5 });
    const all = records(dir, 'audit.log');
    assert.deepEqual(all.map((r) => r.seq), all.map((_, i) => i + 1));
    assert.equal(all[0]!.prev, GENESIS);
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.prev, all[i - 1]!.hash);
    assert.deepEqual(all.map((r) => r.decision), ['audit_file', 'audit_opened', ...Array(5).fill('forwarded'), 'audit_opened', ...Array(5).fill('forwarded')]);
    // the decision's own fields are unchanged
    assert.deepEqual(
      { ...all[2], seq: 0, prev: '', hash: '' },
      { seq: 0, prev: '', hash: '', when: all[2]!.when, decision: 'forwarded', request_id: 'req-0', who: 'agent-a', what: { route: 'webhook/send', robot: 'ops', msgtype: 'text', size: 100 }, why: { rule: 'allow-all', pack: 'spec' }, latency_ms: 3 },
    );
    assert.equal(verifyAuditDir(dir).ok, true);
  });

  it('redacts every line before sealing it', async () => {
    const dir = tempDir();
    const redactor = new Redactor();
    redactor.add('0f1e2d3c-secret-webhook-key');
    const log = createAuditLog({ enabled: true, dir, redactor });
    log.record({ decision: 'rejected', request_id: 'r1', who: 'agent', what: {}, why: { reason: 'bad key 0f1e2d3c-secret-webhook-key' } });
    await log.close();
    const text = readFileSync(join(dir, 'audit.log'), 'utf8');
    assert.ok(!text.includes('0f1e2d3c-secret-webhook-key'));
    assert.ok(text.includes('[REDACTED]'));
    assert.equal(verifyAuditDir(dir).ok, true);
  });
});

describe('audit log: rotation and retention', () => {
  it('rotates before the live file would pass maxFileBytes, keeping order across a batch', async () => {
    const dir = tempDir();
    const c = clock();
    const log = createAuditLog({ enabled: true, dir, redactor: new Redactor(), maxFileBytes: 2048, now: c.now });
    for (let i = 0; i < 200; i++) log.record({ decision: 'forwarded', request_id: `r${i}`, who: 'agent', what: { robot: 'ops' } }); // one turn, one batch
    await log.close();
    const files = chainFiles(dir);
    assert.ok(files.length >= 10, `${files.length} files`);
    for (const f of files) assert.ok(statSync(join(dir, f)).size <= 2048, `${f} is ${statSync(join(dir, f)).size} bytes`);
    files.forEach((f, i) => {
      const header = records(dir, f)[0]!;
      assert.equal(header.decision, 'audit_file');
      assert.equal(header.previous_file, i ? files[i - 1] : null);
    });
    const ids = files.flatMap((f) => records(dir, f)).filter((r) => r.decision === 'forwarded').map((r) => r.request_id);
    assert.deepEqual(ids, Array.from({ length: 200 }, (_, i) => `r${i}`));
    assert.equal(verifyAuditDir(dir).ok, true);
  });

  it('rotates at each UTC day boundary: no file spans two days', async () => {
    const dir = tempDir();
    const c = clock('2026-03-01T22:00:00.000Z');
    await writeRecords(dir, c, 30, { stepMs: 10 * 60 * 1000 }); // 5 h, across midnight
    const files = chainFiles(dir);
    assert.equal(files.length, 2);
    const days = files.map((f) => new Set(records(dir, f).map((r) => r.when.slice(0, 10))));
    assert.deepEqual(days.map((d) => [...d]), [['2026-03-01'], ['2026-03-02']]);
    assert.equal(new Date(rotatedTime(files[0]!)!).toISOString().slice(0, 10), '2026-03-02'); // named for when it was closed
    assert.equal(verifyAuditDir(dir).ok, true);
  });

  it('rotates on start when the live file is from an earlier day', async () => {
    const dir = tempDir();
    const c = clock('2026-03-01T10:00:00.000Z');
    await writeRecords(dir, c, 3);
    c.t += DAY;
    await writeRecords(dir, c, 3);
    assert.equal(chainFiles(dir).length, 2);
    assert.equal(verifyAuditDir(dir).ok, true);
  });

  it('deletes rotated files older than retentionDays, after recording which, and the chain still verifies', async () => {
    const dir = tempDir();
    const c = clock('2026-03-01T10:00:00.000Z');
    for (let day = 0; day < 6; day++) {
      await writeRecords(dir, c, 4, { retentionDays: 2, from: day * 4 });
      c.t += DAY;
    }
    const files = chainFiles(dir);
    const cutoff = c.t - DAY - 2 * DAY; // the last rotation happened a day ago
    assert.ok(files.length >= 3 && files.length <= 4, files.join(', '));
    for (const f of files.slice(0, -1)) assert.ok(rotatedTime(f)! >= cutoff - MINUTE, `${f} should have been pruned`);
    const pruned = files.flatMap((f) => records(dir, f)).filter((r) => r.decision === 'audit_pruned').flatMap((r) => r.pruned as string[]);
    assert.ok(pruned.length >= 2);
    for (const p of pruned) assert.ok(!existsSync(join(dir, p)));
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.ok(result.first!.seq > 1);
  });

  it('names rotated files in strictly increasing order even when the clock steps back', async () => {
    const dir = tempDir();
    const c = clock('2026-03-01T10:00:00.000Z');
    await writeRecords(dir, c, 20, { maxFileBytes: 1500, stepMs: 0 });
    c.t -= 60 * MINUTE;
    await writeRecords(dir, c, 20, { maxFileBytes: 1500, stepMs: 0 });
    const rotated = chainFiles(dir).slice(0, -1);
    const times = rotated.map((f) => rotatedTime(f)!);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!);
    assert.equal(verifyAuditDir(dir).ok, true);
  });
});

describe('audit log: recovery on start', () => {
  it('after a crash mid-write (a partial last line), the next start describes the torn bytes in its first record and keeps them', async () => {
    const dir = tempDir();
    const c = clock();
    await writeRecords(dir, c, 4);
    const lastGood = readLines(dir, 'audit.log').at(-1)!;
    const partial = lastGood.slice(0, 60);
    appendFileSync(join(dir, 'audit.log'), partial); // kill -9 mid-write: no newline
    await writeRecords(dir, c, 2, { from: 4 });
    const lines = readLines(dir, 'audit.log');
    const tornAt = lines.indexOf(partial);
    assert.ok(tornAt > 0);
    const next = JSON.parse(lines[tornAt + 1]!) as { seq: number; prev: string; decision: string; torn: { bytes: number } };
    assert.equal(next.decision, 'audit_opened');
    assert.equal(next.torn.bytes, partial.length + 1);
    assert.equal(next.prev, (JSON.parse(lastGood) as { hash: string }).hash);
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.deepEqual(result.notes.map((n) => [n.file, n.line]), [['audit.log', tornAt + 1]]);
  });

  it('a record whose newline was lost is completed, not treated as torn', async () => {
    const dir = tempDir();
    const c = clock();
    await writeRecords(dir, c, 3);
    const text = readFileSync(join(dir, 'audit.log'), 'utf8');
    writeFileSync(join(dir, 'audit.log'), text.slice(0, -1));
    await writeRecords(dir, c, 1, { from: 3 });
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.equal(result.notes.length, 0);
  });

  it('continues from the newest rotated file when audit.log is missing (a crash between rename and the first write)', async () => {
    const dir = tempDir();
    const c = clock();
    await writeRecords(dir, c, 30, { maxFileBytes: 2000 });
    const files = chainFiles(dir);
    renameSync(join(dir, 'audit.log'), join(dir, rotatedName(c.t + 1))); // the rotation's rename happened; the crash came before the new file's header
    await writeRecords(dir, c, 2, { maxFileBytes: 2000, from: 30 });
    assert.equal(chainFiles(dir).length, files.length + 1);
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
  });

  it('moves a pre-chain audit.log (the unchained format) aside and starts a chain', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'audit.log'), '{"when":"2026-01-01T00:00:00.000Z","decision":"forwarded","request_id":"x","who":"a","what":{}}\n');
    await writeRecords(dir, clock(), 2);
    assert.ok(readdirSync(dir).some((f) => f.startsWith('audit-pre-chain-')));
    const first = records(dir, 'audit.log')[1]!;
    assert.equal(first.decision, 'audit_opened');
    assert.match(String(first.moved_aside), /^audit-pre-chain-/);
    assert.equal(verifyAuditDir(dir).ok, true);
  });
});

describe('audit log: failing closed', () => {
  it('turns unhealthy on a write error (a full disk) and reports it once per failure', async () => {
    const dir = tempDir();
    symlinkSync('/dev/full', join(dir, 'audit.log'));
    const errors: Error[] = [];
    const log = createAuditLog({ enabled: true, dir, redactor: new Redactor(), onError: (e) => errors.push(e) });
    log.record({ decision: 'forwarded', request_id: 'r', who: 'a', what: {} });
    await until('the failed write to be reported', () => !log.healthy()); // written in a batch, just after
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ENOSPC');
    log.record({ decision: 'forwarded', request_id: 'r2', who: 'a', what: {} });
    await log.close(); // does not hang on lines it can no longer write
    assert.equal(errors.length, 1);
  });
});
