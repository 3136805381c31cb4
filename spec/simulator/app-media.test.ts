import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { contentDisposition } from '../../lib/simulator/app-media.js';
import type { Simulator } from '../../lib/simulator/index.js';
import { AGENT, fakeClock, OTHER_CORP, OTHER_SECRET, sendMessage, startAppSimulator, tokenFor, uploadAppMedia } from './app-helpers.js';
import { tinyPng } from './helpers.js';

const AMR = Buffer.concat([Buffer.from('#!AMR\n'), Buffer.alloc(64)]);

describe('simulator app media/upload and media/get', () => {
  const clock = fakeClock();
  let sim: Simulator;
  let token: string;
  before(async () => {
    sim = await startAppSimulator({ clock: clock.read });
  });
  after(() => sim.close());
  beforeEach(async () => {
    sim.reset();
    token = await tokenFor(sim);
  });

  const get = (mediaId: string, accessToken = token): Promise<Response> =>
    fetch(`${sim.url}/cgi-bin/media/get?access_token=${accessToken}&media_id=${encodeURIComponent(mediaId)}`);

  it('upload → message with that media_id → media/get returns the bytes', async () => {
    const bytes = Buffer.from('quarterly report, 2024 Q3');
    const uploaded = await uploadAppMedia(sim, token, 'file', bytes, 'report.txt');
    assert.equal(uploaded.json.errcode, 0);
    assert.equal(uploaded.json.type, 'file');
    assert.equal(typeof uploaded.json.media_id, 'string');
    assert.equal(uploaded.json.created_at, String(Math.floor(clock.now / 1000)));
    const mediaId = String(uploaded.json.media_id);

    const sent = await sendMessage(sim, token, { touser: 'zhangsan', agentid: AGENT, msgtype: 'file', file: { media_id: mediaId } });
    assert.equal(sent.json.errcode, 0);

    const response = await get(mediaId);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('content-disposition'), 'attachment; filename="report.txt"');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
  });

  it('media/get: Content-Type by media type', async () => {
    const png = tinyPng();
    const image = await uploadAppMedia(sim, token, 'image', png, 'chart.png');
    const response = await get(String(image.json.media_id));
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);
    const voice = await uploadAppMedia(sim, token, 'voice', AMR, 'note.amr');
    const voiceResponse = await get(String(voice.json.media_id));
    assert.equal(voiceResponse.headers.get('content-type'), 'audio/amr');
    await voiceResponse.arrayBuffer();
  });

  it('media/get: a non-ASCII filename gets an ASCII fallback and filename*', async () => {
    const uploaded = await uploadAppMedia(sim, token, 'file', Buffer.from('quarterly report'), '季度报告 v2.txt');
    assert.equal(uploaded.json.errcode, 0);
    const response = await get(String(uploaded.json.media_id));
    const disposition = response.headers.get('content-disposition') ?? '';
    assert.match(disposition, /^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
    const encoded = disposition.slice(disposition.indexOf("''") + 2);
    assert.equal(decodeURIComponent(encoded), '季度报告 v2.txt');
    await response.arrayBuffer();
  });

  it('Content-Disposition never carries quotes, backslashes or control characters raw', () => {
    const media = { corpId: 'c', type: 'file' as const, bytes: Buffer.from('x'), createdAt: 0 };
    const disposition = contentDisposition({ ...media, filename: 'a"b\\c\r\nSet-Cookie: x.txt' }, 'MEDIA');
    assert.match(disposition, /^attachment; filename="a_b_c__Set-Cookie: x.txt"; filename\*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x.txt$/);
    assert.equal(contentDisposition({ ...media, filename: '' }, 'MEDIA'), 'attachment; filename="MEDIA"');
    assert.equal(contentDisposition({ ...media, type: 'image', bytes: Buffer.from([0xff, 0xd8, 0xff, 0]), filename: '' }, 'MEDIA'), 'attachment; filename="MEDIA.jpg"');
  });

  it('media/get: JSON 40007 for an unknown, expired or other corp\'s media_id; 41006 without one', async () => {
    const json = async (response: Response): Promise<number> => {
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      return ((await response.json()) as { errcode: number }).errcode;
    };
    assert.equal(await json(await get('made-up')), 40007);
    assert.equal(await json(await fetch(`${sim.url}/cgi-bin/media/get?access_token=${token}`)), 41006);
    const uploaded = await uploadAppMedia(sim, token, 'file', Buffer.from('quarterly report'));
    const mediaId = String(uploaded.json.media_id);
    const otherToken = await tokenFor(sim, OTHER_CORP, OTHER_SECRET);
    assert.equal(await json(await get(mediaId, otherToken)), 40007);
    clock.now += 3 * 24 * 3_600_000;
    const fresh = await tokenFor(sim);
    assert.equal(await json(await get(mediaId, fresh)), 40007);
  });

  it('upload: 40005 for a missing or unknown type', async () => {
    assert.equal((await uploadAppMedia(sim, token, undefined, Buffer.from('quarterly report'))).json.errcode, 40005);
    assert.equal((await uploadAppMedia(sim, token, 'gif', Buffer.from('quarterly report'))).json.errcode, 40005);
  });

  it('upload: 44001 empty, 40006 at 5 bytes or less, 45001 over the type\'s maximum', async () => {
    assert.equal((await uploadAppMedia(sim, token, 'file', Buffer.alloc(0))).json.errcode, 44001);
    assert.equal((await uploadAppMedia(sim, token, 'file', Buffer.from('12345'))).json.errcode, 40006);
    assert.equal((await uploadAppMedia(sim, token, 'file', Buffer.from('123456'))).json.errcode, 0);
    const overVoice = Buffer.concat([AMR, Buffer.alloc(2 * 1024 * 1024)]);
    assert.equal((await uploadAppMedia(sim, token, 'voice', overVoice)).json.errcode, 45001);
    assert.equal((await uploadAppMedia(sim, token, 'file', overVoice)).json.errcode, 0);
  });

  it('upload: 45001 for a body larger than any medium', async () => {
    assert.equal((await uploadAppMedia(sim, token, 'file', Buffer.alloc(22 * 1024 * 1024, 1))).json.errcode, 45001);
  });

  it('upload: 40004 for an image that is not JPG/PNG or a voice that is not AMR', async () => {
    assert.equal((await uploadAppMedia(sim, token, 'image', Buffer.from('GIF89a-not-allowed'))).json.errcode, 40004);
    assert.equal((await uploadAppMedia(sim, token, 'voice', Buffer.from('ID3 an mp3 file'))).json.errcode, 40004);
    assert.equal((await uploadAppMedia(sim, token, 'video', Buffer.from('any video bytes'))).json.errcode, 0);
  });

  it('upload: 44001 without a media part, 40058 for a body that is not multipart or a GET', async () => {
    const url = `${sim.url}/cgi-bin/media/upload?access_token=${token}&type=file`;
    const form = new FormData();
    form.append('file', new Blob(['quarterly report']), 'report.txt');
    assert.equal(((await (await fetch(url, { method: 'POST', body: form })).json()) as { errcode: number }).errcode, 44001);
    assert.equal(((await (await fetch(url, { method: 'POST', body: 'quarterly report' })).json()) as { errcode: number }).errcode, 40058);
    assert.equal(((await (await fetch(url)).json()) as { errcode: number }).errcode, 40058);
  });

  it('robot media_ids are not app media_ids', async () => {
    const form = new FormData();
    form.append('media', new Blob(['quarterly report']), 'report.txt');
    const robot = await fetch(`${sim.url}/cgi-bin/webhook/upload_media?key=693a91f6-7a0c-4bc4-97a0-0ec2a1fa5aaa&type=file`, { method: 'POST', body: form });
    const robotMedia = ((await robot.json()) as { media_id: string }).media_id;
    const response = await get(robotMedia);
    assert.equal(((await response.json()) as { errcode: number }).errcode, 40007);
  });
});
