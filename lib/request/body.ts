import type { IncomingMessage } from 'node:http';
import { FirewallError } from '../errors.js';

/** A body parser that ran first took the exact bytes: nothing could be checked or forwarded faithfully. */
export function assertBodyUnread(req: IncomingMessage): void {
  if (req.readableEnded || (req as { body?: unknown }).body !== undefined) {
    throw new FirewallError('BODY_ALREADY_READ', 'mount the firewall before any body parser');
  }
}

/** Reads the whole body, refusing (413) as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new FirewallError('BODY_TOO_LARGE', `at most ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain the rest so the 413 can be written on a keep-alive connection
        reject(new FirewallError('BODY_TOO_LARGE', `at most ${limit} bytes`));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new FirewallError('INVALID_PAYLOAD', 'request body could not be read', { cause: err }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
