import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answerOf, startStack, type Stack } from '../helpers.js';

// Uploads are forwarded as a rebuilt multipart body with a fresh random boundary, so a repeat must be
// recognised on what was uploaded (type, name, content type, size, bytes), not on the rebuilt body.

describe('dedupe of uploads', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({}, { ratePerMinute: 0 });
  });
  after(() => stack.close());

  const upload = (name: string, content: string, headers: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('media', new Blob([content], { type: 'text/plain' }), name);
    return fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=ops&type=file`, { method: 'POST', body: form, headers }).then(answerOf);
  };
  const uploads = () => stack.sim.requestCount('/cgi-bin/webhook/upload_media');

  it('a retry with the same Idempotency-Key gets the first answer, not 422 (upload retried with the same Idempotency-Key was refused)', async () => {
    const before = uploads();
    const first = await upload('report.txt', 'quarterly numbers', { 'idempotency-key': 'upload-1' });
    const again = await upload('report.txt', 'quarterly numbers', { 'idempotency-key': 'upload-1' });
    assert.deepEqual([first.status, first.json.errcode], [200, 0]);
    assert.deepEqual([again.status, again.json.errcode], [200, 0]);
    assert.equal(again.json.media_id, first.json.media_id);
    assert.equal(again.headers.get('x-firewall-duplicate-of'), first.headers.get('x-request-id'));
    assert.equal(uploads() - before, 1);
    const other = await upload('report.txt', 'different numbers', { 'idempotency-key': 'upload-1' });
    assert.deepEqual([other.status, other.json.errcode], [422, 9900020]);
  });

  it('a repeat without a key is recognised on its content; another name or content is a new upload (repeated uploads were never recognised)', async () => {
    const before = uploads();
    const first = await upload('notes.txt', 'the same file');
    const again = await upload('notes.txt', 'the same file');
    assert.equal(again.headers.get('x-firewall-duplicate-of'), first.headers.get('x-request-id'));
    assert.equal(uploads() - before, 1);
    await upload('notes-2.txt', 'the same file');
    await upload('notes.txt', 'another file');
    assert.equal(uploads() - before, 3);
  });
});
