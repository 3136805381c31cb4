import { randomBytes } from 'node:crypto';
import busboy from 'busboy';
import { FirewallError } from '../errors.js';

// upload_media bodies are multipart/form-data with one file part named "media". Policies see its
// metadata; what is forwarded is a fresh multipart holding only that part, so WeCom receives
// exactly the file the policies judged (no second part, no parser differential on boundaries).

export interface ParsedUpload {
  payload: { type?: string; media?: { filename: string; size: number; contentType: string } };
  canonical: Buffer;
  contentType: string;
}

export function parseUpload(body: Buffer, contentType: string | undefined, type: string | null): Promise<ParsedUpload> {
  if (!contentType?.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(new FirewallError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data with a part named "media"'));
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 2, fields: 20, parts: 22 } });
    } catch {
      return reject(new FirewallError('INVALID_PAYLOAD', 'malformed multipart body'));
    }
    let media: { filename: string; contentType: string; chunks: Buffer[]; size: number } | undefined;
    let failure: FirewallError | undefined;
    parser.on('file', (name, stream, info) => {
      if (name !== 'media' || media) {
        failure ??= new FirewallError('INVALID_PAYLOAD', 'exactly one file part, named "media", is allowed');
        stream.resume();
        return;
      }
      const part = { filename: sanitizeFilename(info.filename), contentType: info.mimeType || 'application/octet-stream', chunks: [] as Buffer[], size: 0 };
      media = part;
      stream.on('data', (c: Buffer) => {
        part.chunks.push(c);
        part.size += c.length;
      });
    });
    parser.on('error', () => reject(new FirewallError('INVALID_PAYLOAD', 'malformed multipart body')));
    parser.on('close', () => {
      if (failure) return reject(failure);
      const payload: ParsedUpload['payload'] = {};
      if (type !== null) payload.type = type;
      if (!media) return resolve({ payload, canonical: Buffer.alloc(0), contentType: '' });
      payload.media = { filename: media.filename, size: media.size, contentType: media.contentType };
      const boundary = `----wecom-firewall-${randomBytes(12).toString('hex')}`;
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="${media.filename}"; filelength=${media.size}\r\n` +
          `Content-Type: ${media.contentType.replace(/[^\w.+/-]/g, '')}\r\n\r\n`,
        'utf8',
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
      resolve({ payload, canonical: Buffer.concat([head, ...media.chunks, tail]), contentType: `multipart/form-data; boundary=${boundary}` });
    });
    parser.end(body);
  });
}

function sanitizeFilename(name: string | undefined): string {
  const clean = (name ?? '').replace(/["\r\n\\]/g, '_').slice(0, 255);
  return clean || 'file';
}
