import { createHash, randomBytes } from 'node:crypto';
import { checkAppUpload, isAppMediaType, UPLOAD_MAX_BYTES, type AppMediaType } from './app-media.js';
import { MediaStore } from './media.js';
import { invalid, isNonEmptyString, isRecord, OK, type Verdict } from './shape.js';

// The bot channel's chunked upload: init announces type, name, size, chunk count and MD5 and gets
// an upload_id; chunks carry base64 slices by 0-based index (the SDK sends 512 KiB slices, at most
// 100, and retries a failed chunk, so a chunk may arrive twice); finish checks the assembled bytes
// against the announcement and issues a media_id for this bot's replies and sends.
// The size and format rules are the app API's media/upload ones (bot limits are not published).

const MAX_CHUNKS = 100; // the SDK's own cap ("max ~50MB" at 512 KiB a chunk)
const MD5_HEX = /^[0-9a-f]{32}$/i;

interface Upload {
  botId: string;
  type: AppMediaType;
  totalSize: number;
  totalChunks: number;
  md5: string;
  chunks: Map<number, Buffer>;
  /** Bytes held now; a chunk sent again replaces its earlier copy. */
  received: number;
}

export type UploadAnswer = { verdict: Verdict; body?: Record<string, unknown> };

export class BotUploads {
  /** media_ids per bot: usable in that bot's frames only, for 3 days. */
  readonly media = new MediaStore();
  readonly #uploads = new Map<string, Upload>();

  init(botId: string, body: unknown): UploadAnswer {
    if (!isRecord(body)) return refuse(invalid('body must be an object'));
    const { type, filename, total_size: totalSize, total_chunks: totalChunks, md5 } = body;
    if (typeof type !== 'string' || !isAppMediaType(type)) return refuse({ errcode: 40004, detail: 'type must be file, image, voice or video' });
    if (!isNonEmptyString(filename)) return refuse(invalid('filename missing'));
    if (!isIntegerIn(totalSize, 1, Number.MAX_SAFE_INTEGER)) return refuse(invalid('total_size must be a positive integer'));
    if (totalSize > UPLOAD_MAX_BYTES) return refuse({ errcode: 45001 });
    if (!isIntegerIn(totalChunks, 1, MAX_CHUNKS)) return refuse(invalid(`total_chunks must be an integer from 1 to ${MAX_CHUNKS}`));
    if (typeof md5 !== 'string' || !MD5_HEX.test(md5)) return refuse(invalid('md5 must be 32 hex digits'));
    const uploadId = randomBytes(16).toString('hex');
    this.#uploads.set(uploadId, {
      botId,
      type,
      totalSize,
      totalChunks,
      md5: md5.toLowerCase(),
      chunks: new Map(),
      received: 0,
    });
    return { verdict: OK, body: { upload_id: uploadId } };
  }

  chunk(botId: string, body: unknown): UploadAnswer {
    if (!isRecord(body)) return refuse(invalid('body must be an object'));
    const upload = this.#find(botId, body.upload_id);
    if (!upload) return refuse(invalid('invalid upload_id'));
    const index = body.chunk_index;
    if (!isIntegerIn(index, 0, upload.totalChunks - 1)) return refuse(invalid(`chunk_index must be an integer from 0 to ${upload.totalChunks - 1}`));
    if (typeof body.base64_data !== 'string') return refuse(invalid('base64_data missing'));
    const bytes = Buffer.from(body.base64_data, 'base64');
    // Strict, as for inline images: Node's decoder skips junk silently.
    if (bytes.toString('base64') !== body.base64_data) return refuse(invalid('base64_data is not valid base64'));
    if (bytes.length === 0) return refuse({ errcode: 44001 });
    const received = upload.received - (upload.chunks.get(index)?.length ?? 0) + bytes.length;
    // Refused at once rather than at finish, so memory stays bounded by the announced size.
    if (received > upload.totalSize) return refuse({ errcode: 40006, detail: 'chunks exceed total_size' });
    upload.chunks.set(index, bytes);
    upload.received = received;
    return { verdict: OK };
  }

  finish(botId: string, body: unknown, now: number): UploadAnswer {
    const uploadId = isRecord(body) ? body.upload_id : undefined;
    const upload = this.#find(botId, uploadId);
    if (!upload) return refuse(invalid('invalid upload_id'));
    if (upload.chunks.size !== upload.totalChunks) return refuse(invalid(`received ${upload.chunks.size} of ${upload.totalChunks} chunks`));
    const bytes = Buffer.concat([...upload.chunks.entries()].sort(([a], [b]) => a - b).map(([, chunk]) => chunk));
    if (bytes.length !== upload.totalSize) return refuse({ errcode: 40006, detail: `received ${bytes.length} of ${upload.totalSize} bytes` });
    if (createHash('md5').update(bytes).digest('hex') !== upload.md5) return refuse(invalid('md5 does not match the data'));
    const verdict = checkAppUpload(upload.type, bytes);
    // The bytes are complete and as announced: the upload is over, whether its content passes or not.
    this.#uploads.delete(uploadId as string);
    if (verdict.errcode !== 0) return refuse(verdict);
    const mediaId = this.media.issue(botId, now);
    return { verdict, body: { media_id: mediaId, type: upload.type, created_at: String(Math.floor(now / 1000)) } };
  }

  clear(): void {
    this.#uploads.clear();
    this.media.clear();
  }

  /** Another bot's upload_id is as unknown as a made-up one. */
  #find(botId: string, uploadId: unknown): Upload | undefined {
    const upload = typeof uploadId === 'string' ? this.#uploads.get(uploadId) : undefined;
    return upload?.botId === botId ? upload : undefined;
  }
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

function refuse(verdict: Verdict): UploadAnswer {
  return { verdict };
}
