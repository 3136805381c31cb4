import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seal } from '../../lib/audit/chain.js';
import { verifyAuditDir, type VerifyResult } from '../../lib/audit/verify.js';
import { tempDir } from '../helpers.js';
import { DAY, chainFiles, clock, readLines, writeLines, writeRecords } from './fixtures.js';

/** Three writers' lives (two restarts), small files: several rotated files plus audit.log. */
async function chain(): Promise<{ dir: string; files: string[] }> {
  const dir = tempDir();
  const c = clock();
  for (let run = 0; run < 3; run++) await writeRecords(dir, c, 25, { maxFileBytes: 3000, from: run * 25 });
  const files = chainFiles(dir);
  assert.ok(files.length >= 4, files.join(', '));
  return { dir, files };
}

function problemOf(result: VerifyResult): [string, string, number] | undefined {
  return result.problem && [result.problem.code, result.problem.file, result.problem.line];
}

describe('audit verify', () => {
  it('passes an intact chain across rotated files and restarts, and says where it starts and ends', async () => {
    const { dir, files } = await chain();
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.deepEqual(result.files, files);
    assert.equal(result.records, result.last!.seq);
    assert.deepEqual([result.first!.file, result.first!.line, result.first!.seq], [files[0], 1, 1]);
    assert.deepEqual([result.last!.file, result.last!.line], ['audit.log', readLines(dir, 'audit.log').length]);
  });

  it('names a line with one character changed', async () => {
    const { dir, files } = await chain();
    const file = files[1]!;
    const lines = readLines(dir, file);
    lines[2] = lines[2]!.replace('"who":"agent-a"', '"who":"agent-b"');
    writeLines(dir, file, lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['ALTERED', file, 3]);
  });

  it('names an edit that broke the JSON', async () => {
    const { dir, files } = await chain();
    const file = files[1]!;
    const lines = readLines(dir, file);
    lines[3] = lines[3]!.replace('"decision":', '"decision"');
    writeLines(dir, file, lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['UNREADABLE', file, 4]);
  });

  it('names the record after an edited one whose hash was recomputed', async () => {
    const { dir, files } = await chain();
    const file = files[1]!;
    const lines = readLines(dir, file);
    const r = JSON.parse(lines[2]!) as Record<string, unknown> & { seq: number; prev: string };
    const { seq, prev, hash: _, ...body } = r;
    lines[2] = seal(seq, prev, JSON.stringify({ ...body, who: 'someone-else' })).line;
    writeLines(dir, file, lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['PREV', file, 4]);
  });

  it('names the place of a deleted line', async () => {
    const { dir, files } = await chain();
    const file = files[2]!;
    const lines = readLines(dir, file);
    lines.splice(3, 1);
    writeLines(dir, file, lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', file, 4]);
  });

  it('names the first of two swapped lines', async () => {
    const { dir, files } = await chain();
    const file = files[1]!;
    const lines = readLines(dir, file);
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    writeLines(dir, file, lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', file, 5]);
  });

  it('names an inserted copy of a record', async () => {
    const { dir } = await chain();
    const lines = readLines(dir, 'audit.log');
    lines.splice(4, 0, lines[2]!);
    writeLines(dir, 'audit.log', lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', 'audit.log', 5]);
  });

  it('names the first line of the file after a deleted middle file', async () => {
    const { dir, files } = await chain();
    rmSync(join(dir, files[1]!));
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', files[2], 1]);
  });

  it('names the first line of the file after a rotated file whose tail was cut', async () => {
    const { dir, files } = await chain();
    writeLines(dir, files[0]!, readLines(dir, files[0]!).slice(0, -2));
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', files[1], 1]);
  });

  it('fails on two rotated files swapped by renaming', async () => {
    const { dir, files } = await chain();
    renameSync(join(dir, files[1]!), join(dir, 'tmp'));
    renameSync(join(dir, files[2]!), join(dir, files[1]!));
    renameSync(join(dir, 'tmp'), join(dir, files[2]!));
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', files[1], 1]);
  });

  it('fails when the oldest files were deleted by hand (no retention record)', async () => {
    const { dir, files } = await chain();
    rmSync(join(dir, files[0]!));
    const result = verifyAuditDir(dir);
    assert.deepEqual(problemOf(result), ['START', files[1], 1]);
  });

  it('passes after retention pruned the oldest files, and fails when the oldest file left is then deleted', async () => {
    const dir = tempDir();
    const c = clock();
    for (let day = 0; day < 5; day++, c.t += DAY) await writeRecords(dir, c, 6, { retentionDays: 2, maxFileBytes: 2500, from: day * 6 });
    const files = chainFiles(dir);
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.ok(result.first!.seq > 1);
    assert.deepEqual(result.notes.map((n) => [n.file, n.line]), [[files[0], 1]]);
    rmSync(join(dir, files[0]!));
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['START', files[1], 1]);
  });

  it('fails on an unrecovered torn last line (a crash, before the restart), then passes once a restart recorded it', async () => {
    const { dir } = await chain();
    const lines = readLines(dir, 'audit.log');
    appendFileSync(join(dir, 'audit.log'), lines.at(-1)!.slice(0, 80));
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['UNTERMINATED', 'audit.log', lines.length + 1]);
    await writeRecords(dir, clock('2026-03-01T12:00:00.000Z'), 1);
    const result = verifyAuditDir(dir);
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.deepEqual(result.notes.map((n) => [n.file, n.line]), [['audit.log', lines.length + 1]]);
  });

  it('does not take garbage in the middle of a file for a torn write', async () => {
    const { dir, files } = await chain();
    const lines = readLines(dir, files[1]!);
    lines.splice(2, 0, '{"seq":3,"prev":"tor');
    writeLines(dir, files[1]!, lines);
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['UNREADABLE', files[1], 3]);
  });

  it('fails on an empty directory', () => {
    assert.equal(problemOf(verifyAuditDir(tempDir()))?.[0], 'NO_FILES');
    assert.equal(problemOf(verifyAuditDir(join(tempDir(), 'missing')))?.[0], 'NO_FILES');
  });

  it('fails on records appended after the chain was sealed by hand', async () => {
    const { dir } = await chain();
    const lines = readLines(dir, 'audit.log');
    writeFileSync(join(dir, 'audit.log'), [...lines, lines.at(-1)!].map((l) => `${l}\n`).join(''));
    assert.deepEqual(problemOf(verifyAuditDir(dir)), ['SEQ', 'audit.log', lines.length + 1]);
  });

  it('cannot see lines cut from the end on its own, but can against an anchor noted earlier', async () => {
    const { dir } = await chain();
    const before = verifyAuditDir(dir).last!;
    const lines = readLines(dir, 'audit.log');
    writeLines(dir, 'audit.log', lines.slice(0, -3));
    assert.equal(verifyAuditDir(dir).ok, true);
    assert.deepEqual(problemOf(verifyAuditDir(dir, { anchor: { seq: before.seq, hash: before.hash } })), ['ANCHOR', 'audit.log', lines.length - 3]);
  });

  it('fails when the record at the anchored seq has another hash (the chain was recomputed)', async () => {
    const { dir, files } = await chain();
    const anchored = verifyAuditDir(dir).last!;
    const lines = readLines(dir, 'audit.log');
    // rewrite the last record with a recomputed hash: the chain on its own still verifies
    const r = JSON.parse(lines.at(-1)!) as Record<string, unknown> & { seq: number; prev: string };
    const { seq, prev, hash: _, ...body } = r;
    lines[lines.length - 1] = seal(seq, prev, JSON.stringify({ ...body, who: 'someone-else' })).line;
    writeLines(dir, 'audit.log', lines);
    assert.equal(verifyAuditDir(dir).ok, true);
    assert.deepEqual(problemOf(verifyAuditDir(dir, { anchor: anchored })), ['ANCHOR', 'audit.log', lines.length]);
    assert.equal(verifyAuditDir(dir, { anchor: { seq: 1, hash: '0'.repeat(64) } }).problem?.file, files[0]);
  });
});
