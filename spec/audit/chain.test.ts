import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GENESIS, checkLine, seal } from '../../lib/audit/chain.js';
import { rotatedName, rotatedTime } from '../../lib/audit/files.js';

const body = JSON.stringify({ when: '2026-03-01T10:00:00.000Z', decision: 'forwarded', request_id: 'r1', who: '智能体', what: { robot: 'ops' } });

describe('audit chain lines', () => {
  it('seals a record with seq and prev first and its own hash last, over the exact UTF-8 bytes', () => {
    const { line, hash } = seal(7, GENESIS, body);
    assert.ok(line.startsWith(`{"seq":7,"prev":"${GENESIS}","when":`));
    assert.ok(line.endsWith(`,"hash":"${hash}"}`));
    const content = `${line.slice(0, line.lastIndexOf(',"hash":'))}}`;
    assert.equal(createHash('sha256').update(Buffer.from(content, 'utf8')).digest('hex'), hash);
    const check = checkLine(Buffer.from(line));
    assert.equal(check.kind, 'record');
    assert.deepEqual(check.kind === 'record' && [check.record.seq, check.record.prev, check.record.who], [7, GENESIS, '智能体']);
  });

  it('tells an edited record from a line that is no record at all', () => {
    const { line, hash } = seal(1, GENESIS, body);
    assert.equal(checkLine(Buffer.from(line.replace('"r1"', '"r2"'))).kind, 'altered');
    assert.equal(checkLine(Buffer.from(line.replace(hash, `${hash[0] === 'a' ? 'b' : 'a'}${hash.slice(1)}`))).kind, 'altered');
    assert.equal(checkLine(Buffer.from(line.slice(0, 40))).kind, 'unreadable');
    assert.equal(checkLine(Buffer.from(body)).kind, 'unreadable');
    assert.equal(checkLine(Buffer.from('')).kind, 'unreadable');
  });

  it('names rotated files so that name order is time order, and reads the time back', () => {
    const times = [Date.parse('2026-03-01T09:59:59.999Z'), Date.parse('2026-03-01T10:00:00.000Z'), Date.parse('2026-12-31T23:00:00.001Z')];
    const names = times.map(rotatedName);
    assert.equal(names[0], 'audit-2026-03-01T09-59-59.999Z.log');
    assert.deepEqual([...names].sort(), names);
    assert.deepEqual(names.map(rotatedTime), times);
    assert.equal(rotatedTime('audit.log'), undefined);
    assert.equal(rotatedTime('audit-pre-chain-2026-03-01T10-00-00.000Z.log'), undefined);
  });
});
