import type { Approval } from './store.js';

// A short plain-text preview of a parked message for the notification card. The card goes to a chat,
// so the preview is cut short and anything that looks like a credential is masked: a parked message
// is by definition one nobody has vetted yet.

const MAX_PREVIEW = 240;

/** Strings of a message worth showing, by msgtype; the first ones matter most. */
function textsOf(payload: unknown): string[] {
  if (!payload || typeof payload !== 'object') return [];
  const body = payload as Record<string, unknown>;
  const type = typeof body.msgtype === 'string' ? body.msgtype : '';
  const part = body[type];
  if (type === 'image') return ['[image]'];
  if (type === 'file' || type === 'voice') return [`[${type}]`];
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (out.length > 50) return;
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(part ?? payload);
  return out;
}

/** Masks credential-looking runs: long token-like strings, key=value secrets, PEM blocks. */
export function maskSecrets(text: string): string {
  return text
    .replace(/-----BEGIN[^-]{0,40}-----[\s\S]*?(?:-----END[^-]{0,40}-----|$)/g, '[key block]')
    .replace(/\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|corpsecret|key)(\s*[:=]\s*)\S+/gi, '$1$2****')
    // A long run that is not plain lower-case (a word, a path) is treated as a key: UUIDs, AKIA…, JWTs.
    .replace(/[A-Za-z0-9_+/=.-]{16,}/g, (run) => (/^[a-z/._-]+$/.test(run) ? run : `${run.slice(0, 4)}****`));
}

/**
 * Neutralises chat markup so the preview cannot add links, mentions (<@all>), bold or quotes to the
 * card: the characters are swapped for their full-width look-alikes.
 */
export function inertMarkdown(text: string): string {
  const swap: Record<string, string> = { '<': '＜', '>': '＞', '[': '［', ']': '］', '(': '（', ')': '）', '*': '＊', '`': '｀', '#': '＃', '_': '＿', '~': '～', '|': '｜' };
  return text.replace(/[<>[\]()*`#_~|]/g, (c) => swap[c]!);
}

export function previewOf(record: Approval, redact: (text: string) => string): string {
  if (record.purgedAt) return '(payload erased)';
  if (!record.contentType.startsWith('application/json') || !record.payload.length) return `[${record.method === 'GET' ? 'request' : 'file upload'}, ${record.payload.length} bytes]`;
  let payload: unknown;
  try {
    payload = JSON.parse(record.payload.toString('utf8'));
  } catch {
    return '[unreadable payload]';
  }
  const flat = textsOf(payload).join(' · ').replace(/\s+/g, ' ').trim();
  const masked = maskSecrets(redact(flat));
  const cut = [...masked].length > MAX_PREVIEW ? `${[...masked].slice(0, MAX_PREVIEW).join('')}…` : masked;
  return inertMarkdown(cut);
}
