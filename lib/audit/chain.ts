import { createHash } from 'node:crypto';

/**
 * The hash chain of the audit log: every line is sealed with its own hash and carries the hash of
 * the line before it.
 *
 *   {"seq":42,"prev":"<hash of record 41>",<the record's own fields…>,"hash":"<hash of this record>"}
 *
 * - `seq` counts records from 1 for the first record ever written to the directory, across files
 *   and restarts, so a deleted, inserted or moved line shows as a gap or a step back.
 * - `hash` is the SHA-256 (hex) of the line's exact UTF-8 bytes without the `,"hash":"…"` suffix,
 *   i.e. of the JSON object `{"seq":…,"prev":…,…}` as written, after redaction. Sealing each line
 *   with its own hash (rather than only hashing it into the next line's `prev`) lets the verifier
 *   name the edited line itself, not its successor.
 * - `prev` is the previous record's `hash`; the first record ever has GENESIS.
 *
 * The hash is not a secret: anyone who can rewrite the whole directory can recompute the chain.
 * It proves order and completeness between anchors (see README: ship lines or the last hash off-host).
 */
export const GENESIS = '0'.repeat(64);

const SUFFIX_HEAD = ',"hash":"';
/** `,"hash":"` + 64 hex digits + `"}` */
const SUFFIX_LENGTH = SUFFIX_HEAD.length + 64 + 2;
const HEX64 = /^[0-9a-f]{64}$/;

/** Who writes the housekeeping records below. */
export const AUDIT_SYSTEM = 'system:audit';

/**
 * Housekeeping records, written by the audit writer itself (their fields are file names, counts and
 * hashes, so they need no redaction):
 * - `audit_file`: the first record of every file; `previous_file` names the file before it (null for
 *   the first file ever), so a removed or renamed file breaks the chain visibly.
 * - `audit_pruned`: retention deleted `pruned` (oldest first), right after this record was written;
 *   the verifier accepts a chain that starts after a pruned file.
 * - `audit_opened`: a writer started (each start of the firewall), continuing the chain.
 * Any record may carry `torn: {bytes, sha256}`: the bytes just before it are the unreadable tail a
 * crash left (a partial line), kept for forensics rather than truncated.
 */
export type AuditHousekeeping = 'audit_file' | 'audit_pruned' | 'audit_opened';

/** What a sealed line holds that the chain needs; the rest of the record is passed through. */
export interface ChainRecord {
  seq: number;
  prev: string;
  hash: string;
  when?: string;
  decision?: string;
  previous_file?: string | null;
  pruned?: string[];
  torn?: { bytes: number; sha256: string };
  [field: string]: unknown;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Seals `body` (a JSON object's text, as redacted) as record `seq`: the chain fields go first, then
 * `extra` (pre-serialised fields ending with a comma, e.g. the torn tail), then the body's fields,
 * then the hash. One string build and one SHA-256 per line; no I/O.
 */
export function seal(seq: number, prev: string, body: string, extra = ''): { line: string; hash: string } {
  const rest = body.length > 2 ? `,${extra}${body.slice(1)}` : extra ? `,${extra.slice(0, -1)}}` : '}';
  const content = `{"seq":${seq},"prev":"${prev}"${rest}`;
  const hash = sha256(content);
  return { line: `${content.slice(0, -1)}${SUFFIX_HEAD}${hash}"}`, hash };
}

export type LineCheck =
  /** A sealed record whose hash matches its bytes. */
  | { kind: 'record'; record: ChainRecord }
  /** Shaped like a sealed record, but its bytes no longer match its hash: it was edited. */
  | { kind: 'altered'; record: ChainRecord }
  /** Not a sealed record at all: a torn write, garbage, a pre-chain line, or an edit that broke the JSON. */
  | { kind: 'unreadable' };

/** Checks one line (without its newline). */
export function checkLine(line: Buffer): LineCheck {
  const n = line.length;
  if (n < SUFFIX_LENGTH + 2 || line[n - 1] !== 0x7d || line[n - 2] !== 0x22) return { kind: 'unreadable' };
  let record: ChainRecord;
  try {
    record = JSON.parse(line.toString('utf8')) as ChainRecord;
  } catch {
    return { kind: 'unreadable' };
  }
  if (
    typeof record !== 'object' || record === null || !Number.isSafeInteger(record.seq) || record.seq < 1 ||
    typeof record.prev !== 'string' || !HEX64.test(record.prev) || typeof record.hash !== 'string' || !HEX64.test(record.hash) ||
    line.toString('latin1', n - SUFFIX_LENGTH, n - SUFFIX_LENGTH + SUFFIX_HEAD.length) !== SUFFIX_HEAD
  ) {
    return { kind: 'unreadable' };
  }
  const actual = createHash('sha256').update(line.subarray(0, n - SUFFIX_LENGTH)).update('}').digest('hex');
  return actual === record.hash && line.toString('latin1', n - 66, n - 2) === record.hash ? { kind: 'record', record } : { kind: 'altered', record };
}

/** The text of a housekeeping record's body (sealed like any other record). */
export function housekeeping(when: string, decision: AuditHousekeeping, fields: Record<string, unknown>): string {
  return JSON.stringify({ when, decision, who: AUDIT_SYSTEM, ...fields });
}
