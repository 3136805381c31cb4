import { createHash } from 'node:crypto';
import type { Ajv, KeywordDefinition } from 'ajv';
import { parsePointer } from '../yaml-source.js';

// Custom JSON-Schema keywords for what plain JSON Schema cannot say about WeCom payloads.
// Each is named for what it checks, so a reviewer can read a policy without this file.

// Canonical base64: whole 4-character groups, "=" only as the last one or two characters. Checked
// as one character run plus the length, not as a repeated group: a regex loop over groups
// overflows V8's stack on the 13 MiB base64 of a 10 MiB image.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (s: string) => s.length % 4 === 0 && BASE64.test(s);

// One decoded image is checked by up to three keywords; decode it once.
let lastBase64 = '';
let lastBytes: Buffer | null = null;
function decodeBase64(s: string): Buffer | null {
  if (s === lastBase64) return lastBytes;
  lastBase64 = s;
  lastBytes = isBase64(s) ? Buffer.from(s, 'base64') : null;
  return lastBytes;
}

const MAGIC: Record<string, (b: Buffer) => boolean> = {
  png: (b) => b.length > 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a,
  jpeg: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  amr: (b) => b.subarray(0, 6).toString('latin1') === '#!AMR\n',
};

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Non-empty items of a delimited list: "a||b|" has 2. */
const countItems = (s: string, sep: string) => s.split(sep).filter((x) => x.trim() !== '').length;

// Every default-ignorable code point (zero-width, soft hyphen, variation selectors, tag characters,
// Hangul fillers, ...) plus U+180E: invisible in chat, but they split a token for a regex.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u180E]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

// A JSON pointer as segments, each "*" matching any one key or index: "/stream/msg_item/*/image/base64".
type PointerPattern = string[];

/** Is the value at `path` one of the `except` places (so it is not scanned)? */
const excepted = (path: string[], except: PointerPattern[]) => except.some((p) => p.length === path.length && p.every((s, i) => s === '*' || s === path[i]));

/**
 * Every string inside a value: values and object keys alike (a secret can be written as a key),
 * except the values at the `except` places (their keys are still collected).
 */
function collectStrings(value: unknown, out: string[], except: PointerPattern[], path: string[] = []): void {
  if (path.length > 32 || (except.length && excepted(path, except))) return;
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v, i) => collectStrings(v, out, except, [...path, String(i)]));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      collectStrings(v, out, except, [...path, k]);
    }
  }
}

/** anyStringMatches: a pattern, or a pattern and the places not to scan. */
type StringScan = string | { pattern: string; except?: string[] };
const patternOf = (scan: StringScan) => (typeof scan === 'string' ? scan : scan.pattern);

export const keywords: KeywordDefinition[] = [
  {
    // JSON Schema's maxLength counts characters; WeCom counts UTF-8 bytes (a CJK character is 3).
    keyword: 'maxBytes',
    type: 'string',
    metaSchema: { type: 'integer', minimum: 0 },
    error: { message: (cxt) => `must NOT have more than ${cxt.schemaCode} UTF-8 bytes` },
    validate: (max: number, data: string) => utf8Bytes(data) <= max,
  },
  {
    keyword: 'minBytes',
    type: 'string',
    metaSchema: { type: 'integer', minimum: 0 },
    error: { message: (cxt) => `must NOT have fewer than ${cxt.schemaCode} UTF-8 bytes` },
    validate: (min: number, data: string) => utf8Bytes(data) >= min,
  },
  {
    // WeCom joins app recipients with "|" ("u1|u2|u3"): at most this many items.
    keyword: 'maxDelimitedItems',
    type: 'string',
    metaSchema: { type: 'object', required: ['separator', 'max'], additionalProperties: false, properties: { separator: { type: 'string', minLength: 1 }, max: { type: 'integer', minimum: 0 } } },
    error: { message: (cxt) => `must NOT have more than ${(cxt.schema as { max: number }).max} items` },
    validate: (s: { separator: string; max: number }, data: string) => countItems(data, s.separator) <= s.max,
  },
  {
    keyword: 'minDelimitedItems',
    type: 'string',
    metaSchema: { type: 'object', required: ['separator', 'min'], additionalProperties: false, properties: { separator: { type: 'string', minLength: 1 }, min: { type: 'integer', minimum: 0 } } },
    error: { message: (cxt) => `must NOT have fewer than ${(cxt.schema as { min: number }).min} items` },
    validate: (s: { separator: string; min: number }, data: string) => countItems(data, s.separator) >= s.min,
  },
  {
    // A base64 string whose decoded bytes are at most this many (WeCom: image ≤ 2 MB before base64).
    keyword: 'base64MaxBytes',
    type: 'string',
    metaSchema: { type: 'integer', minimum: 0 },
    error: { message: (cxt) => `must be base64 of at most ${cxt.schemaCode} bytes` },
    validate: (max: number, data: string) => {
      const bytes = decodeBase64(data);
      return bytes !== null && bytes.length <= max;
    },
  },
  {
    // A base64 string whose decoded bytes are one of these formats, told by their magic numbers.
    keyword: 'base64Format',
    type: 'string',
    schemaType: 'array',
    error: { message: (cxt) => `must be base64 of one of these formats: ${String(cxt.schema)}` },
    validate: (formats: string[], data: string) => {
      const bytes = decodeBase64(data);
      return bytes !== null && formats.some((f) => MAGIC[f]?.(bytes));
    },
    metaSchema: { type: 'array', items: { enum: Object.keys(MAGIC) }, minItems: 1 },
  },
  {
    // On an object: the md5 (hex) in property `digest` is the md5 of the base64-decoded property `data`.
    keyword: 'md5Matches',
    type: 'object',
    schemaType: 'object',
    error: { message: 'md5 must be the md5 of the decoded base64 bytes' },
    validate: (s: { data: string; digest: string }, obj: Record<string, unknown>) => {
      const data = obj[s.data];
      const digest = obj[s.digest];
      if (typeof data !== 'string' || typeof digest !== 'string') return false;
      const bytes = decodeBase64(data);
      return bytes !== null && createHash('md5').update(bytes).digest('hex') === digest.toLowerCase();
    },
    metaSchema: {
      type: 'object',
      required: ['data', 'digest'],
      additionalProperties: false,
      properties: { data: { type: 'string' }, digest: { type: 'string' } },
    },
  },
  {
    // True when any string anywhere in the value matches the regular expression: for content
    // scanning (credentials) without listing every field of every msgtype. The object form names
    // places not to scan, as JSON pointers relative to the value ("*" is any one key or index):
    // {pattern: ..., except: [/image/base64]} skips an image's base64 bytes, where a pattern could
    // match by chance. Only the value there is skipped; everything beside it is scanned.
    keyword: 'anyStringMatches',
    schemaType: ['string', 'object'],
    metaSchema: {
      anyOf: [
        { type: 'string' },
        {
          type: 'object',
          required: ['pattern'],
          additionalProperties: false,
          properties: { pattern: { type: 'string' }, except: { type: 'array', items: { type: 'string', pattern: '^(/[^/]*)+$' } } },
        },
      ],
    },
    error: { message: (cxt) => `must contain a string matching ${patternOf(cxt.schema as StringScan)}` },
    compile: (scan: StringScan) => {
      const re = new RegExp(patternOf(scan), 'u');
      const except = typeof scan === 'string' ? [] : (scan.except ?? []).map(parsePointer);
      return (data: unknown) => {
        const strings: string[] = [];
        collectStrings(data, strings, except);
        // Invisible characters inside a secret must not hide it from the pattern.
        return strings.some((s) => re.test(s) || (INVISIBLE.test(s) && re.test(s.replace(INVISIBLE_ALL, ''))));
      };
    },
  },
];

export function addKeywords(ajv: Ajv): Ajv {
  for (const k of keywords) ajv.addKeyword(k);
  return ajv;
}
