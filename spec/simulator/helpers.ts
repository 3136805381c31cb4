import type { Simulator } from '../../lib/simulator/index.js';

export const KEY = '693a91f6-7a0c-4bc4-97a0-0ec2a1fa5aaa';
export const OTHER_KEY = '0b4c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d';

export interface Answer {
  status: number;
  contentType: string | null;
  json: { errcode: number; errmsg: string; [field: string]: unknown };
}

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, contentType: response.headers.get('content-type'), json: (await response.json()) as Answer['json'] };
}

/** POST /cgi-bin/webhook/send with `body` as JSON, or as the raw body when a string/Buffer. */
export async function send(sim: Simulator, body: unknown, key: string = KEY): Promise<Answer> {
  const raw = Buffer.isBuffer(body) ? new Uint8Array(body) : typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${sim.url}/cgi-bin/webhook/send?key=${key}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: raw,
  });
  return answer(response);
}

export async function uploadMedia(sim: Simulator, type: string | undefined, bytes: Buffer, key: string = KEY): Promise<Answer> {
  const form = new FormData();
  form.append('media', new Blob([new Uint8Array(bytes)]), 'report.txt');
  const query = type === undefined ? `key=${key}` : `key=${key}&type=${type}`;
  return answer(await fetch(`${sim.url}/cgi-bin/webhook/upload_media?${query}`, { method: 'POST', body: form }));
}

export function text(content: string): unknown {
  return { msgtype: 'text', text: { content } };
}

export { md5, tinyPng } from '../fixtures/images.js';
