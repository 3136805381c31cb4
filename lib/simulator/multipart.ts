import type { IncomingHttpHeaders } from 'node:http';
import busboy from 'busboy';

export interface UploadedFile {
  filename: string;
  bytes: Buffer;
}

export type MultipartResult = { ok: true; media?: UploadedFile } | { ok: false };

/**
 * The first file part named `media` in a buffered multipart/form-data body. `ok: false` when the
 * body is not multipart or is malformed; `media` is absent when no such part was sent.
 */
export function parseMediaPart(headers: IncomingHttpHeaders, body: Buffer): Promise<MultipartResult> {
  return new Promise((resolve) => {
    let parser: busboy.Busboy;
    try {
      // Filenames as UTF-8: clients (and WeCom) send them raw; busboy's default latin1 garbles CJK names.
      parser = busboy({ headers, defParamCharset: 'utf8', limits: { parts: 20 } });
    } catch {
      resolve({ ok: false }); // busboy throws on a missing or non-multipart Content-Type
      return;
    }
    let media: UploadedFile | undefined;
    let claimed = false;
    parser.on('file', (name, stream, info) => {
      if (name !== 'media' || claimed) {
        stream.resume();
        return;
      }
      claimed = true;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        media = { filename: info.filename ?? '', bytes: Buffer.concat(chunks) };
      });
    });
    parser.on('error', () => resolve({ ok: false }));
    parser.on('close', () => resolve(media ? { ok: true, media } : { ok: true }));
    parser.end(body);
  });
}
