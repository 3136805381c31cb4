import type { IncomingMessage } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import busboy from 'busboy';
import { FirewallError } from '../errors.js';

// upload_media bodies are multipart/form-data with one file part named "media". busboy parses the
// request as it arrives, bounded by the upload limit. Policies see the part's metadata; what is
// forwarded is a fresh multipart holding only that part, so WeCom receives exactly the file the
// policies judged (no second part, no parser differential on boundaries).

export interface ParsedUpload {
  payload: { type?: string; media?: { filename: string; size: number; contentType: string } };
  canonical: Buffer;
  contentType: string;
  /**
   * What was uploaded, whatever the boundary: type, file name, content type, size and the file's
   * SHA-256. Repeats are recognised on this (the canonical body has a fresh random boundary each time).
   */
  identity: Buffer;
}

/** The one `type` an upload names (a repeated one could be read differently upstream). */
export function uploadType(query: URLSearchParams, allowed: string): string {
  const types = query.getAll('type');
  if (types.length !== 1 || !types[0]) throw new FirewallError('INVALID_PAYLOAD', `pass type=${allowed}, once`);
  return types[0];
}

export function checkMultipartContentType(contentType: string | undefined): void {
  if (!contentType?.toLowerCase().startsWith('multipart/form-data')) {
    throw new FirewallError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data with a part named "media"');
  }
}

export function parseUpload(req: IncomingMessage, type: string, maxBytes: number): Promise<ParsedUpload> {
  checkMultipartContentType(req.headers['content-type']);
  if (Number(req.headers['content-length']) > maxBytes) return Promise.reject(new FirewallError('BODY_TOO_LARGE', `at most ${maxBytes} bytes`));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // Filenames are UTF-8 as clients send them raw (busboy's default latin1 garbles CJK names, and
      // turns an invisible character the guardrails strip into visible ones that hide a credential).
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 64 * 1024, parts: 21 } });
    } catch {
      return reject(new FirewallError('INVALID_PAYLOAD', 'malformed multipart body'));
    }
    let media: { filename: string; contentType: string; chunks: Buffer[]; size: number } | undefined;
    let failure: FirewallError | undefined;
    const fail = (err: FirewallError) => {
      if (failure) return;
      failure = err;
      req.unpipe(parser);
      req.resume(); // drain, so the refusal can be written on a keep-alive connection
      reject(err);
    };
    parser.on('file', (name, stream, info) => {
      // Every file stream gets an error listener: busboy destroys them on a truncated body.
      stream.on('error', () => fail(new FirewallError('INVALID_PAYLOAD', 'malformed multipart body')));
      if (name !== 'media') {
        stream.resume();
        return fail(new FirewallError('INVALID_PAYLOAD', 'the file part must be named "media"'));
      }
      const part = { filename: sanitizeFilename(info.filename), contentType: info.mimeType || 'application/octet-stream', chunks: [] as Buffer[], size: 0 };
      media = part;
      stream.on('limit', () => fail(new FirewallError('BODY_TOO_LARGE', `the file is over ${maxBytes} bytes`)));
      stream.on('data', (c: Buffer) => {
        part.chunks.push(c);
        part.size += c.length;
      });
    });
    parser.on('filesLimit', () => fail(new FirewallError('INVALID_PAYLOAD', 'exactly one file part, named "media", is allowed')));
    parser.on('partsLimit', () => fail(new FirewallError('INVALID_PAYLOAD', 'too many parts')));
    parser.on('error', () => fail(new FirewallError('INVALID_PAYLOAD', 'malformed multipart body')));
    req.on('error', () => fail(new FirewallError('INVALID_PAYLOAD', 'request body could not be read')));
    parser.on('close', () => {
      if (failure) return;
      const payload: ParsedUpload['payload'] = { type };
      if (!media) return resolve({ payload, canonical: Buffer.alloc(0), contentType: '', identity: Buffer.from(JSON.stringify(payload)) });
      payload.media = { filename: media.filename, size: media.size, contentType: media.contentType };
      const file = createHash('sha256');
      for (const c of media.chunks) file.update(c);
      const identity = Buffer.from(JSON.stringify({ ...payload, sha256: file.digest('hex') }));
      const boundary = `----wecom-firewall-${randomBytes(12).toString('hex')}`;
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="${media.filename}"; filelength=${media.size}\r\n` +
          `Content-Type: ${media.contentType.replace(/[^\w.+/-]/g, '')}\r\n\r\n`,
        'utf8',
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
      resolve({ payload, canonical: Buffer.concat([head, ...media.chunks, tail]), contentType: `multipart/form-data; boundary=${boundary}`, identity });
    });
    req.pipe(parser);
  });
}

function sanitizeFilename(name: string | undefined): string {
  // Cut at 255 UTF-16 units without leaving half a surrogate pair (it would reach WeCom as U+FFFD).
  const clean = (name ?? '').replace(/["\r\n\\]/g, '_').slice(0, 255).replace(/[\uD800-\uDBFF]$/, '');
  return clean || 'file';
}
