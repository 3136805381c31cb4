import type http from 'node:http';
import { FirewallError } from '../../errors.js';
import type { Request } from '../../pipeline/request.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * How a POST is recognised as a repeat: by its Idempotency-Key header when given, else by its bytes
 * (or `identity`: an upload's file and name, not the rebuilt multipart body with its random
 * boundary). A GET is never deduplicated; with dedupe off, nothing is (and the header is not read).
 */
export function dedupeOf(req: http.IncomingMessage, enabled: boolean, identity?: Buffer): Request['dedupe'] {
  if (!enabled || req.method !== 'POST') return undefined;
  const header = req.headers['idempotency-key'];
  if (header !== undefined && (typeof header !== 'string' || !KEY_PATTERN.test(header))) {
    throw new FirewallError('INVALID_PAYLOAD', 'Idempotency-Key must be 1 to 255 visible ASCII characters, given once');
  }
  return { idempotencyKey: header, identity };
}
