import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS, checkLine, type ChainRecord } from './chain.js';
import { LIVE_FILE, listChainFiles, preChainName } from './files.js';

/** Where the chain stands when a writer starts: read once, synchronously, before the first record. */
export interface Recovered {
  /** The last record on disk (seq 0 and GENESIS when the directory holds none). */
  seq: number;
  hash: string;
  /** Rotated files, oldest first. */
  rotated: string[];
  live: {
    /** false for a device or pipe (e.g. a symlink to /dev/full): never read back, never rotated. */
    regular: boolean;
    bytes: number;
    /** UTC day (YYYY-MM-DD) of the live file's first record; undefined while it has none (it needs a header). */
    day?: string;
  };
  /**
   * What the next line written must start with after a crash (kill -9 mid-write): a newline if the
   * file ends without one, and, if the file ends in bytes that are not a sealed record (a partial
   * line), their length and hash for the next record's `torn` field. The torn bytes stay in the file
   * as evidence; the verifier accepts them only when the record right after them describes them.
   */
  repair?: { prefix: string; torn?: { bytes: number; sha256: string } };
  /** The name a pre-chain audit.log (an upgrade from the unchained format) was moved to. */
  movedAside?: string;
}

const CHUNK = 64 * 1024;

export function recoverChain(dir: string, nowMs: number): Recovered {
  const files = listChainFiles(dir);
  const out: Recovered = { seq: 0, hash: GENESIS, rotated: files.rotated, live: { regular: true, bytes: 0 } };
  const path = join(dir, LIVE_FILE);
  const stat = files.live ? statSync(path) : undefined;
  out.live.regular = stat?.isFile() ?? true;
  if (!stat || !out.live.regular || stat.size === 0) return continueFromRotated(dir, out);
  const fd = openSync(path, 'r');
  let tail: { record: ChainRecord; end: number } | undefined;
  try {
    const first = firstRecord(fd, stat.size);
    if (first === 'pre-chain') {
      out.movedAside = preChainName(nowMs);
    } else {
      out.live.bytes = stat.size;
      if (first) out.live.day = typeof first.when === 'string' ? first.when.slice(0, 10) : '';
      tail = lastRecord(fd, stat.size);
      if (tail?.end === stat.size) out.repair = { prefix: '\n' }; // the last record lacks its newline
      else {
        const span = read(fd, tail ? tail.end + 1 : 0, stat.size);
        if (span.length) {
          const prefix = span[span.length - 1] === 0x0a ? '' : '\n';
          out.repair = { prefix, torn: { bytes: span.length + prefix.length, sha256: createHash('sha256').update(span).update(prefix).digest('hex') } };
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  if (out.movedAside) {
    renameSync(path, join(dir, out.movedAside));
    return continueFromRotated(dir, out);
  }
  return tail ? { ...out, seq: tail.record.seq, hash: tail.record.hash } : continueFromRotated(dir, out);
}

/** The live file holds no record: the chain continues from the newest rotated file's last one. */
function continueFromRotated(dir: string, out: Recovered): Recovered {
  for (let i = out.rotated.length - 1; i >= 0; i--) {
    const path = join(dir, out.rotated[i]!);
    const fd = openSync(path, 'r');
    try {
      const tail = lastRecord(fd, statSync(path).size);
      if (tail) return { ...out, seq: tail.record.seq, hash: tail.record.hash };
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

function read(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** The first sealed record near the start of the file; 'pre-chain' when the first line is an unchained JSON record. */
function firstRecord(fd: number, size: number): ChainRecord | 'pre-chain' | undefined {
  const head = read(fd, 0, Math.min(size, CHUNK));
  let pos = 0;
  while (pos < head.length) {
    const nl = head.indexOf(0x0a, pos);
    if (nl < 0 && head.length < size) return undefined; // a first line over 64 KiB: not ours
    const line = head.subarray(pos, nl < 0 ? head.length : nl);
    const check = checkLine(line);
    if (check.kind !== 'unreadable') return check.record;
    if (pos === 0 && isUnchainedRecord(line)) return 'pre-chain';
    if (nl < 0) return undefined;
    pos = nl + 1;
  }
  return undefined;
}

function isUnchainedRecord(line: Buffer): boolean {
  try {
    const v = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    return typeof v === 'object' && v !== null && !('seq' in v) && 'decision' in v;
  } catch {
    return false;
  }
}

/** The last sealed (or altered) record and the offset just past its bytes (before its newline), reading back from the end. */
export function lastRecord(fd: number, size: number): { record: ChainRecord; end: number } | undefined {
  for (let window = CHUNK; ; window *= 2) {
    const start = Math.max(0, size - window);
    const buf = read(fd, start, size);
    let lineEnd = buf.length && buf[buf.length - 1] === 0x0a ? buf.length - 1 : buf.length;
    for (;;) {
      const nl = lineEnd > 0 ? buf.lastIndexOf(0x0a, lineEnd - 1) : -1;
      if (nl < 0 && start > 0) break; // the line may begin before the window: widen it
      const check = checkLine(buf.subarray(nl + 1, lineEnd));
      // An altered record counts as the last record, not as a torn tail: the chain continues from its
      // stated hash and the verifier names it, rather than the edit passing as crash damage.
      if (check.kind !== 'unreadable') return { record: check.record, end: start + lineEnd };
      if (nl < 0) return undefined;
      lineEnd = nl;
    }
  }
}

