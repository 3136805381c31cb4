import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { MediaStore } from '../../lib/simulator/media.js';
import { KEY, OTHER_KEY, send, uploadMedia } from './helpers.js';

const AMR = Buffer.concat([Buffer.from('#!AMR\n'), Buffer.alloc(64)]);

describe('simulator webhook/upload_media', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ quiet: true });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('answers a media_id and created_at as a unix-seconds string', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { json } = await uploadMedia(sim, 'file', Buffer.from('quarterly report'));
    assert.equal(json.errcode, 0);
    assert.equal(json.type, 'file');
    assert.equal(typeof json.media_id, 'string');
    assert.match(String(json.created_at), /^\d{10}$/);
    assert.ok(Number(json.created_at) >= before);
    const [record] = sim.received(KEY);
    assert.deepEqual(record?.body, { type: 'file', filename: 'report.txt', size: 16 });
    assert.deepEqual(sim.delivered(), []);
  });

  it('upload then send file: delivered only to the uploading robot', async () => {
    const { json } = await uploadMedia(sim, 'file', Buffer.from('quarterly report'));
    const message = { msgtype: 'file', file: { media_id: json.media_id } };
    assert.equal((await send(sim, message)).json.errcode, 0);
    assert.equal((await send(sim, message, OTHER_KEY)).json.errcode, 40007);
    assert.equal(sim.delivered(KEY).length, 1);
  });

  it('40004 for a missing or unsupported type', async () => {
    assert.equal((await uploadMedia(sim, undefined, Buffer.from('quarterly report'))).json.errcode, 40004);
    assert.equal((await uploadMedia(sim, 'image', Buffer.from('quarterly report'))).json.errcode, 40004);
  });

  it('file: 44001 when empty, 40006 at 5 bytes or less', async () => {
    assert.equal((await uploadMedia(sim, 'file', Buffer.alloc(0))).json.errcode, 44001);
    assert.equal((await uploadMedia(sim, 'file', Buffer.from('12345'))).json.errcode, 40006);
    assert.equal((await uploadMedia(sim, 'file', Buffer.from('123456'))).json.errcode, 0);
  });

  it('file: 40006 over 20 MB', async () => {
    assert.equal((await uploadMedia(sim, 'file', Buffer.alloc(20 * 1024 * 1024 + 1, 1))).json.errcode, 40006);
  });

  it('voice: AMR only (40004), at most 2 MB (40006)', async () => {
    assert.equal((await uploadMedia(sim, 'voice', AMR)).json.errcode, 0);
    assert.equal((await uploadMedia(sim, 'voice', Buffer.from('ID3 an mp3 file'))).json.errcode, 40004);
    const tooLong = Buffer.concat([AMR, Buffer.alloc(2 * 1024 * 1024)]);
    assert.equal((await uploadMedia(sim, 'voice', tooLong)).json.errcode, 40006);
  });

  it('44001 without a media part, 40058 for a body that is not multipart', async () => {
    const form = new FormData();
    form.append('file', new Blob(['quarterly report']), 'report.txt');
    const url = `${sim.url}/cgi-bin/webhook/upload_media?key=${KEY}&type=file`;
    const noMedia = (await (await fetch(url, { method: 'POST', body: form })).json()) as { errcode: number };
    assert.equal(noMedia.errcode, 44001);
    const notMultipart = (await (await fetch(url, { method: 'POST', body: 'quarterly report' })).json()) as { errcode: number };
    assert.equal(notMultipart.errcode, 40058);
  });

  it('93000 for an unknown key, 40058 for GET', async () => {
    assert.equal((await uploadMedia(sim, 'file', Buffer.from('quarterly report'), 'nope')).json.errcode, 93000);
    const response = await fetch(`${sim.url}/cgi-bin/webhook/upload_media?key=${KEY}&type=file`);
    assert.equal(((await response.json()) as { errcode: number }).errcode, 40058);
  });
});

describe('simulator media store', () => {
  it('keeps a media_id valid for 3 days, for its own robot only', () => {
    const store = new MediaStore();
    const issuedAt = 1_700_000_000_000;
    const mediaId = store.issue(KEY, issuedAt);
    const threeDays = 3 * 24 * 60 * 60 * 1000;
    assert.equal(store.isValid(KEY, mediaId, issuedAt + threeDays - 1), true);
    assert.equal(store.isValid(KEY, mediaId, issuedAt + threeDays), false);
    assert.equal(store.isValid(OTHER_KEY, mediaId, issuedAt), false);
    store.clear();
    assert.equal(store.isValid(KEY, mediaId, issuedAt), false);
  });
});
