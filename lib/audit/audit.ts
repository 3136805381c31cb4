import { mkdirSync } from 'node:fs';
import winston from 'winston';
import type { Redactor } from '../config/secrets.js';
import { BatchedFileTransport } from './batched-file.js';

const MESSAGE = Symbol.for('message'); // winston's key for the formatted line

// One JSON line per decision, sealed into a hash chain (chain.ts). Records are built from aliases,
// rule names and digests, never from keys or tokens; the redactor runs over every line anyway, as a
// second guard.

export type AuditDecision = 'token_issued' | 'forwarded' | 'rejected' | 'parked' | 'rate_limited' | 'approval_vote' | 'approved' | 'approval_rejected' | 'sent' | 'send_failed' | 'upstream_error' | 'notified' | 'notify_failed' | 'payloads_purged' | 'heartbeat' | 'alert' | 'duplicate' | 'tunnelled' | 'revised' | 'subscribed' | 'received';

export interface AuditRecord {
  decision: AuditDecision;
  request_id: string;
  /** The caller's identity. For approval events: the approver. */
  who: string;
  /**
   * `host`: the egress proxy's CONNECT or request target (egress.* routes). `msgid`, `chat`, `sender`:
   * an inbound bot callback's metadata (never its content).
   */
  what: { route?: string; robot?: string; msgtype?: string; size?: number; sha256?: string; approval_id?: string; host?: string; msgid?: string; chat?: string; sender?: string };
  /**
   * monitor: rules in `mode: monitor` that applied to this request, and what each would have
   * decided (not enforced). Only on the request's own record, and only when one applied.
   */
  why?: { rule?: string; pack?: string; reason?: string; monitor?: Array<{ rule: string; would: 'allow' | 'reject' | 'approve' }> };
  errcode?: number;
  upstream_errcode?: number;
  upstream_status?: number;
  latency_ms?: number;
}

export interface AuditLog {
  record(entry: AuditRecord): void;
  /** false once a write failed: the firewall then refuses rather than act unaudited. */
  healthy(): boolean;
  /** Resolves once every record so far is written (for specs and embedders that read the file). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  enabled: boolean;
  dir: string;
  redactor: Redactor;
  /** Rotate the live file before it would pass this size (default 100 MiB). It also rotates at each UTC day boundary. */
  maxFileBytes?: number;
  /** Rotated files closed more than this many days ago are deleted at the next rotation (default 30). */
  retentionDays?: number;
  /** A write, rename or open failed: the log is unhealthy from now on. */
  onError?: (err: Error) => void;
  /** An expired rotated file could not be deleted (the log stays healthy). */
  onWarning?: (err: Error) => void;
  /** The clock, ms since the epoch (injectable for tests: the day boundary, retention). */
  now?: () => number;
}

/**
 * Opens (or continues) the audit chain in `dir`: reads where the chain stands synchronously, then
 * appends. See batched-file.ts for rotation and retention, chain.ts for the line format.
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  if (!options.enabled) return { record() {}, healthy: () => true, flush: async () => {}, close: async () => {} };
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const now = options.now ?? Date.now;
  // The record is serialised once, by us: records are plain data, so JSON.stringify is enough, and
  // redaction runs over the final text. The transport then seals it into the chain (seq, prev, hash
  // are added after redaction: they are hashes and counters, never secrets).
  const line = winston.format((info) => {
    (info as Record<symbol, unknown>)[MESSAGE] = options.redactor.redact(JSON.stringify((info as unknown as { record: AuditRecord & { when: string } }).record));
    return info;
  });
  const file = new BatchedFileTransport({ dir: options.dir, maxFileBytes: options.maxFileBytes ?? 100 * 1024 * 1024, retentionDays: options.retentionDays ?? 30, now });
  const logger = winston.createLogger({ level: 'info', format: line(), transports: [file] });
  let failure: Error | undefined;
  logger.on('error', (err: Error) => {
    failure ??= err;
    options.onError?.(err);
  });
  logger.on('warn', (err: Error) => options.onWarning?.(err));
  return {
    record(entry) {
      const when = new Date(now()).toISOString();
      logger.log({ level: 'info', message: '', when, record: { when, ...entry } });
    },
    healthy: () => !failure,
    flush: async () => {
      await new Promise((resolve) => setImmediate(resolve)); // let winston hand over the last lines
      await file.flushed();
    },
    close: async () => {
      await new Promise((resolve) => setImmediate(resolve)); // let winston hand over the last lines
      await file.drain();
      logger.close();
    },
  };
}
