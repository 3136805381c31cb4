import { randomBytes } from 'node:crypto';
import { OK, type Verdict } from './shape.js';

// media/upload and media/get for apps: the per-type rules, and the stored media (bytes kept so
// media/get can return them).
//
// WeCom documents that "media_id在同一企业内所有应用之间可以共享": a media_id is usable by every app of the
// corp that uploaded it, for 3 days. So the store is keyed by corp, not by app; another corp's
// media_id answers 40007.

export type AppMediaType = 'image' | 'voice' | 'video' | 'file';

const MEDIA_TTL_MS = 3 * 24 * 60 * 60 * 1000;
const MIN_BYTES = 6; // "所有文件size必须大于5个字节"
const MAX_BYTES: Record<AppMediaType, number> = {
  image: 10 * 1024 * 1024,
  voice: 2 * 1024 * 1024,
  video: 10 * 1024 * 1024,
  file: 20 * 1024 * 1024,
};
export const UPLOAD_MAX_BYTES = MAX_BYTES.file;

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const AMR_MAGIC = Buffer.from('#!AMR');

export function isAppMediaType(type: string | null): type is AppMediaType {
  return type === 'image' || type === 'voice' || type === 'video' || type === 'file';
}

/**
 * Empty 44001; 5 bytes or less 40006; over the type's maximum 45001 ("多媒体文件大小超过限制"); an image
 * that is not JPG/PNG or a voice that is not AMR 40004 (invalid media type). WeCom also lists 40009
 * / 40011 (image / video size) and 40123 (bad image data) for temporary media; which of these
 * media/upload answers is unconfirmed. Video content is not checked (MP4 detection would refuse
 * test fixtures for no gain).
 */
export function checkAppUpload(type: AppMediaType, bytes: Buffer): Verdict {
  if (bytes.length === 0) return { errcode: 44001 };
  if (bytes.length < MIN_BYTES) return { errcode: 40006 };
  if (bytes.length > MAX_BYTES[type]) return { errcode: 45001 };
  if (type === 'image' && !startsWith(bytes, JPEG_MAGIC) && !startsWith(bytes, PNG_MAGIC)) return { errcode: 40004, detail: 'image must be jpg or png' };
  if (type === 'voice' && !startsWith(bytes, AMR_MAGIC)) return { errcode: 40004, detail: 'voice must be amr' };
  return OK;
}

export interface StoredMedia {
  corpId: string;
  type: AppMediaType;
  filename: string;
  bytes: Buffer;
  createdAt: number;
}

export class AppMediaStore {
  readonly #media = new Map<string, StoredMedia>();

  issue(media: StoredMedia): string {
    const mediaId = `3${randomBytes(48).toString('base64url')}`;
    this.#media.set(mediaId, media);
    return mediaId;
  }

  /** The media when it belongs to `corpId` and is under 3 days old. */
  find(corpId: string, mediaId: string, now: number): StoredMedia | undefined {
    const media = this.#media.get(mediaId);
    return media && media.corpId === corpId && now - media.createdAt < MEDIA_TTL_MS ? media : undefined;
  }

  clear(): void {
    this.#media.clear();
  }
}

/** media/get's Content-Type: by magic for images, by type otherwise. */
export function contentTypeOf(media: StoredMedia): string {
  if (media.type === 'image') return startsWith(media.bytes, PNG_MAGIC) ? 'image/png' : 'image/jpeg';
  if (media.type === 'voice') return 'audio/amr';
  if (media.type === 'video') return 'video/mp4';
  return 'application/octet-stream';
}

const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'audio/amr': 'amr', 'video/mp4': 'mp4' };

/**
 * `attachment; filename="..."` with the uploaded name (WeCom's sample shows `"MEDIA_ID.jpg"`, used
 * here when the upload had no name). Header values must be Latin-1 without control characters or
 * Node throws, so the quoted name is an ASCII fallback and the real name goes in RFC 5987 `filename*`.
 */
export function contentDisposition(media: StoredMedia, mediaId: string): string {
  const extension = EXTENSION[contentTypeOf(media)];
  const name = media.filename || (extension ? `${mediaId}.${extension}` : mediaId);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  if (ascii === name) return `attachment; filename="${name}"`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${percentEncode(name)}`;
}

/** RFC 5987 attr-char is letters, digits and !#$&+-.^_`|~; everything else is %XX of its UTF-8 bytes. */
function percentEncode(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

function startsWith(bytes: Buffer, magic: Buffer): boolean {
  return bytes.length >= magic.length && bytes.subarray(0, magic.length).equals(magic);
}
