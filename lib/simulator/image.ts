import { createHash } from 'node:crypto';
import { invalid, isNonEmptyString, OK, type Verdict } from './shape.js';

const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// Every image fault answers 40058. WeCom's media-upload APIs have 40005/40009 for bad type/size,
// but which code the robot's inline image uses is unconfirmed; 40058 is its generic
// "invalid parameter" and what clients already treat as a non-retryable payload error.
export function checkImage(image: Record<string, unknown>): Verdict {
  const { base64, md5 } = image;
  if (!isNonEmptyString(base64)) return invalid('image.base64 missing');
  if (!isNonEmptyString(md5)) return invalid('image.md5 missing');
  const bytes = decodeBase64(base64);
  if (!bytes) return invalid('image.base64 is not valid base64');
  if (bytes.length > MAX_IMAGE_BYTES) return invalid(`image size exceed max ${MAX_IMAGE_BYTES}`);
  if (!isJpegOrPng(bytes)) return invalid('image must be jpg or png');
  const actual = createHash('md5').update(bytes).digest('hex');
  if (md5.toLowerCase() !== actual) return invalid('image.md5 does not match image data');
  return OK;
}

/** Strict: Node's decoder skips junk silently, so only canonical, padded base64 round-trips. */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function isJpegOrPng(bytes: Buffer): boolean {
  return startsWith(bytes, JPEG_MAGIC) || startsWith(bytes, PNG_MAGIC);
}

function startsWith(bytes: Buffer, magic: Buffer): boolean {
  return bytes.length >= magic.length && bytes.subarray(0, magic.length).equals(magic);
}
