import { startSimulator, type Simulator, type SimulatorOptions } from '../../lib/simulator/index.js';
import type { Answer } from './helpers.js';

export const CORP = 'ww1234567890abcdef';
export const SECRET = 'app-secret-0123456789';
export const AGENT = 1000002;
export const OTHER_CORP = 'wwfedcba0987654321';
export const OTHER_SECRET = 'other-corp-secret-0123';
export const USERS = ['zhangsan', 'lisi', 'wangwu'];

/** A fake clock: tests move `clock.now` instead of waiting. */
export function fakeClock(start = 1_700_000_000_000): { now: number; read: () => number } {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

/** One app with three visible users in CORP, a second corp's app, and `chats`. */
export function startAppSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({
    quiet: true,
    apps: [
      { corpId: CORP, corpSecret: SECRET, agentId: AGENT, users: USERS, parties: [1, 2], tags: [7] },
      { corpId: OTHER_CORP, corpSecret: OTHER_SECRET, agentId: 1000005 },
    ],
    ...options,
  });
}

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, contentType: response.headers.get('content-type'), json: (await response.json()) as Answer['json'] };
}

export async function getToken(sim: Simulator, query: string = `corpid=${CORP}&corpsecret=${SECRET}`): Promise<Answer> {
  return answer(await fetch(`${sim.url}/cgi-bin/gettoken?${query}`));
}

/** A valid token for the app with these credentials; throws when gettoken refuses. */
export async function tokenFor(sim: Simulator, corpId = CORP, secret = SECRET): Promise<string> {
  const { json } = await getToken(sim, `corpid=${corpId}&corpsecret=${secret}`);
  if (json.errcode !== 0 || typeof json.access_token !== 'string') throw new Error(`gettoken answered ${json.errcode}`);
  return json.access_token;
}

/** POST `path?access_token=T` with `body` as JSON, or raw when a string. `token` undefined omits it. */
export async function appPost(sim: Simulator, path: string, token: string | undefined, body: unknown, extraQuery = ''): Promise<Answer> {
  const query = [token === undefined ? '' : `access_token=${encodeURIComponent(token)}`, extraQuery].filter(Boolean).join('&');
  const response = await fetch(`${sim.url}${path}?${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answer(response);
}

export function sendMessage(sim: Simulator, token: string | undefined, body: unknown): Promise<Answer> {
  return appPost(sim, '/cgi-bin/message/send', token, body);
}

export function textMessage(touser: string, content = 'hello', agentid: unknown = AGENT): Record<string, unknown> {
  return { touser, msgtype: 'text', agentid, text: { content } };
}

export async function uploadAppMedia(sim: Simulator, token: string, type: string | undefined, bytes: Buffer, filename = 'report.txt'): Promise<Answer> {
  const form = new FormData();
  form.append('media', new Blob([new Uint8Array(bytes)]), filename);
  const query = type === undefined ? `access_token=${token}` : `access_token=${token}&type=${type}`;
  return answer(await fetch(`${sim.url}/cgi-bin/media/upload?${query}`, { method: 'POST', body: form }));
}
