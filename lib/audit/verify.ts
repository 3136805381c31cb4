import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS, checkLine, sha256, type ChainRecord } from './chain.js';
import { LIVE_FILE, listChainFiles } from './files.js';

/**
 * Stable codes for what broke the chain (assert on these, not on the wording):
 * - NO_FILES: the directory holds no audit file.
 * - ALTERED: the line's bytes do not match its own hash (edited).
 * - UNREADABLE: not a sealed record (a broken edit, an inserted line, garbage) and no record after
 *   it describes it as a crash's torn tail.
 * - UNTERMINATED: the file ends in the middle of a line (a crash not yet recovered by a restart, a
 *   write in progress, or a truncation).
 * - SEQ: seq is not the previous record's + 1 (a line or file deleted, inserted, duplicated, moved).
 * - PREV: prev is not the previous record's hash although seq follows on (a record rewritten with a
 *   recomputed hash).
 * - HEADER: a file does not start with its audit_file record naming the file before it (files
 *   renamed, reordered or concatenated).
 * - START: the oldest file does not begin the chain and its predecessor was not pruned by
 *   retention (the oldest files were deleted by hand).
 * - TORN: a record claims a torn tail before it that is not there, or does not match it.
 * - EMPTY: a rotated file is empty.
 * - ANCHOR: the record at the anchored seq has another hash, or the chain ends before it (lines or
 *   files were removed from the end).
 */
export type ChainProblem = 'NO_FILES' | 'ALTERED' | 'UNREADABLE' | 'UNTERMINATED' | 'SEQ' | 'PREV' | 'HEADER' | 'START' | 'TORN' | 'EMPTY' | 'ANCHOR';

/** A record's seq and hash noted earlier, out of the firewall's reach: the chain must still hold it. */
export interface Anchor {
  seq: number;
  hash: string;
}

export interface Position {
  file: string;
  /** 1-based line number in the file (0: the file as a whole). */
  line: number;
}

export interface VerifyResult {
  ok: boolean;
  /** The files checked, in chain order. */
  files: string[];
  records: number;
  first?: Position & { seq: number; when?: string };
  last?: Position & { seq: number; when?: string; hash: string };
  /** The first bad record. */
  problem?: Position & { code: ChainProblem; reason: string };
  /** Not failures, but worth a reader's eye: a torn tail a restart recovered, a start after retention. */
  notes: Array<Position & { note: string }>;
}

interface Walk {
  result: VerifyResult;
  expectSeq?: number;
  prevHash: string;
  /** The chain's oldest record starts after a file that a retention record must have pruned. */
  startAfter?: Position & { previous: string; seq: number };
  pruned: Set<string>;
  anchor?: Anchor;
}

class Broken extends Error {
  constructor(readonly at: Position & { code: ChainProblem; reason: string }) {
    super(at.reason);
  }
}

/**
 * Checks the whole chain in `dir`: files in name order (rotated oldest first, then audit.log), every
 * line sealed and unaltered, seq consecutive and prev linked across lines, files and restarts, every
 * file starting with a header naming its predecessor, and the oldest file either starting the chain
 * (seq 1, genesis prev) or following a file that a later audit_pruned record names. Stops at the
 * first problem. Reads one file at a time.
 */
export function verifyAuditDir(dir: string, options: { anchor?: Anchor } = {}): VerifyResult {
  const result: VerifyResult = { ok: false, files: [], records: 0, notes: [] };
  if (!existsSync(dir)) return { ...result, problem: { code: 'NO_FILES', file: dir, line: 0, reason: 'the audit directory does not exist' } };
  const walk: Walk = { result, prevHash: GENESIS, pruned: new Set(), anchor: options.anchor };
  try {
    // The firewall may rotate while we read. A rotation only ever adds a rotated file newer than
    // all others, so: check the listed rotated files in order; when they run out, list again for
    // newer ones; read the live file last, and keep that read only if no rotation happened
    // meanwhile (the listing after the read would show its new rotated file), else loop.
    let pending: string[] = [];
    let live = false;
    for (;;) {
      const before = result.files.at(-1);
      if (!pending.length) {
        const listing = listChainFiles(dir);
        pending = listing.rotated.filter((n) => before === undefined || n > before);
        live = listing.live;
      }
      const next = pending.shift();
      if (next) {
        const buf = readFileSync(join(dir, next));
        result.files.push(next);
        verifyFile(walk, next, buf, before, false);
        continue;
      }
      if (!live) break;
      const buf = readFileSync(join(dir, LIVE_FILE));
      pending = listChainFiles(dir).rotated.filter((n) => before === undefined || n > before);
      if (pending.length) continue;
      result.files.push(LIVE_FILE);
      verifyFile(walk, LIVE_FILE, buf, before, true);
      break;
    }
    if (!result.files.length) return { ...result, problem: { code: 'NO_FILES', file: dir, line: 0, reason: 'no audit files (audit.log or audit-*.log)' } };
    const start = walk.startAfter;
    if (start && !walk.pruned.has(start.previous)) {
      throw new Broken({
        ...start,
        code: 'START',
        reason: `the chain starts at seq ${start.seq}, after ${start.previous}, which no audit_pruned record names: older audit files were removed by hand`,
      });
    }
    const { anchor } = options;
    const last = result.last;
    if (anchor && last && anchor.seq > last.seq) {
      throw new Broken({ file: last.file, line: last.line, code: 'ANCHOR', reason: `the chain ends at seq ${last.seq}, before the anchored seq ${anchor.seq}: records were removed from its end` });
    }
    if (anchor && result.first && anchor.seq < result.first.seq) {
      result.notes.push({ file: result.first.file, line: result.first.line, note: `the anchored seq ${anchor.seq} was pruned by retention: not checked` });
    }
    if (start) result.notes.push({ file: start.file, line: start.line, note: `the chain starts at seq ${start.seq}: earlier files were pruned by retention (${start.previous} the last of them)` });
    result.ok = true;
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
    result.problem = err.at;
  }
  return result;
}

function verifyFile(walk: Walk, name: string, buf: Buffer, before: string | undefined, isLive: boolean): void {
  const broken = (line: number, code: ChainProblem, reason: string) => new Broken({ file: name, line, code, reason });
  if (!buf.length) {
    if (isLive) return; // a crash between rotation and the new file's first write: harmless
    throw broken(0, 'EMPTY', 'the rotated file is empty');
  }
  let pos = 0;
  let line = 0;
  let torn: { line: number; start: number } | undefined;
  let headerSeen = false;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    line++;
    if (nl < 0) {
      throw broken(line, 'UNTERMINATED', isLive
        ? 'the file ends inside a line: a crash the firewall has not restarted from yet, a write in progress, or a truncation'
        : 'the rotated file ends inside a line');
    }
    const check = checkLine(buf.subarray(pos, nl));
    if (check.kind === 'unreadable') {
      torn ??= { line, start: pos };
      pos = nl + 1;
      continue;
    }
    if (check.kind === 'altered' && torn) throw broken(torn.line, 'UNREADABLE', 'not an audit record, and no record after it describes it as a torn write');
    if (check.kind === 'altered') throw broken(line, 'ALTERED', `record seq ${check.record.seq}: its content does not match its hash: the line was edited`);
    const rec = check.record;
    if (torn) {
      const span = buf.subarray(torn.start, pos);
      if (rec.torn?.bytes !== span.length || rec.torn.sha256 !== sha256(span)) {
        throw new Broken({ file: name, line: torn.line, code: 'UNREADABLE', reason: 'not an audit record, and no record after it describes it as a torn write' });
      }
      walk.result.notes.push({ file: name, line: torn.line, note: `${line - torn.line} unreadable line(s) (${span.length} bytes) left by a crash, recovered by the restart at line ${line}` });
      torn = undefined;
    } else if (rec.torn) {
      throw broken(line, 'TORN', 'the record describes a torn tail before it, but there is none');
    }
    link(walk, rec, name, line);
    if (!headerSeen) {
      if (rec.decision !== 'audit_file') throw broken(line, 'HEADER', `the file's first record is "${String(rec.decision)}", not its audit_file header`);
      if (before !== undefined && rec.previous_file !== before) {
        throw broken(line, 'HEADER', `the header names ${JSON.stringify(rec.previous_file)} as the previous file, but the file before it is ${before}`);
      }
      headerSeen = true;
    } else if (rec.decision === 'audit_file') {
      throw broken(line, 'HEADER', 'an audit_file header in the middle of a file');
    }
    if (rec.decision === 'audit_pruned' && Array.isArray(rec.pruned)) for (const p of rec.pruned) walk.pruned.add(String(p));
    pos = nl + 1;
  }
  if (torn) {
    throw broken(torn.line, 'UNREADABLE', isLive
      ? 'not an audit record, at the end of the live file: a crash the firewall has not restarted from yet, or an edit'
      : 'not an audit record, and no record after it describes it as a torn write');
  }
  if (!headerSeen) throw broken(0, 'HEADER', 'the file holds no record');
}

/** seq and prev against the record before (or the chain's start). */
function link(walk: Walk, rec: ChainRecord, file: string, line: number): void {
  const r = walk.result;
  if (walk.expectSeq === undefined) {
    if (rec.seq === 1 && rec.prev === GENESIS && rec.previous_file == null) {
      // the first record ever written
    } else if (rec.decision === 'audit_file' && typeof rec.previous_file === 'string') {
      walk.startAfter = { file, line, previous: rec.previous_file, seq: rec.seq };
    } else {
      throw new Broken({ file, line, code: 'START', reason: `the chain's oldest record is seq ${rec.seq}, which neither begins the chain nor follows a pruned file` });
    }
  } else if (rec.seq !== walk.expectSeq) {
    const what = rec.seq > walk.expectSeq ? `${rec.seq - walk.expectSeq} record(s) before it are missing` : 'it is out of order or duplicated';
    throw new Broken({ file, line, code: 'SEQ', reason: `seq ${rec.seq} where ${walk.expectSeq} was expected: ${what}` });
  } else if (rec.prev !== walk.prevHash) {
    throw new Broken({ file, line, code: 'PREV', reason: `seq ${rec.seq}: prev does not match the hash of the record before it: one of the two was rewritten with a recomputed hash` });
  }
  if (walk.anchor?.seq === rec.seq && walk.anchor.hash !== rec.hash) {
    throw new Broken({ file, line, code: 'ANCHOR', reason: `seq ${rec.seq} has hash ${rec.hash}, not the anchored ${walk.anchor.hash}: the chain was rewritten from here or before` });
  }
  walk.expectSeq = rec.seq + 1;
  walk.prevHash = rec.hash;
  r.records++;
  const when = typeof rec.when === 'string' ? rec.when : undefined;
  r.first ??= { file, line, seq: rec.seq, when };
  r.last = { file, line, seq: rec.seq, when, hash: rec.hash };
}
