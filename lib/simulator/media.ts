import { randomBytes } from 'node:crypto';
import { OK, type Verdict } from './shape.js';

// upload_media: the size and format rules, and the media_ids issued per robot.

export type MediaType = 'file' | 'voice';

const MEDIA_TTL_MS = 3 * 24 * 60 * 60 * 1000;
const FILE_MIN_BYTES = 6; // "more than 5 bytes"
const FILE_MAX_BYTES = 20 * 1024 * 1024;
const VOICE_MAX_BYTES = 2 * 1024 * 1024;
const AMR_MAGIC = Buffer.from('#!AMR');

export function isMediaType(type: string | null): type is MediaType {
  return type === 'file' || type === 'voice';
}

/** Empty → 44001, wrong size → 40006, voice that is not AMR → 40004 (invalid media type). */
export function checkUpload(type: MediaType, bytes: Buffer): Verdict {
  if (bytes.length === 0) return { errcode: 44001 };
  if (type === 'file') {
    return bytes.length >= FILE_MIN_BYTES && bytes.length <= FILE_MAX_BYTES ? OK : { errcode: 40006 };
  }
  if (bytes.length > VOICE_MAX_BYTES) return { errcode: 40006 };
  return bytes.subarray(0, AMR_MAGIC.length).equals(AMR_MAGIC) ? OK : { errcode: 40004, detail: 'voice must be amr' };
}

interface IssuedMedia {
  key: string;
  createdAt: number;
}

export class MediaStore {
  readonly #issued = new Map<string, IssuedMedia>();

  /** Real ids are ~64 opaque characters starting with a digit. */
  issue(key: string, now: number): string {
    const mediaId = `3${randomBytes(48).toString('base64url')}`;
    this.#issued.set(mediaId, { key, createdAt: now });
    return mediaId;
  }

  /** Usable only by the robot that uploaded it, for 3 days. */
  isValid(key: string, mediaId: string, now: number): boolean {
    const media = this.#issued.get(mediaId);
    return media !== undefined && media.key === key && now - media.createdAt < MEDIA_TTL_MS;
  }

  clear(): void {
    this.#issued.clear();
  }
}
