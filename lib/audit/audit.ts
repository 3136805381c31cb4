import { mkdirSync } from 'node:fs';
import winston from 'winston';

const MESSAGE = Symbol.for('message'); // winston's key for the formatted line
import type { Redactor } from '../config/secrets.js';
import { BatchedFileTransport } from './batched-file.js';

// One JSON line per decision. Records are built from aliases, rule names and digests, never from
// keys or tokens; the redactor runs over every line anyway, as a second guard.

export type AuditDecision = 'token_issued' | 'forwarded' | 'rejected' | 'parked' | 'rate_limited' | 'approval_vote' | 'approved' | 'approval_rejected' | 'sent' | 'send_failed' | 'upstream_error' | 'notified' | 'notify_failed' | 'payloads_purged';

export interface AuditRecord {
  decision: AuditDecision;
  request_id: string;
  /** The caller's identity. For approval events: the approver. */
  who: string;
  what: { route?: string; robot?: string; msgtype?: string; size?: number; sha256?: string; approval_id?: string };
  why?: { rule?: string; pack?: string; reason?: string };
  errcode?: number;
  upstream_errcode?: number;
  upstream_status?: number;
  latency_ms?: number;
}

export interface AuditLog {
  record(entry: AuditRecord): void;
  /** false once a write failed: the firewall then refuses rather than act unaudited. */
  healthy(): boolean;
  close(): Promise<void>;
}

export function createAuditLog(options: { enabled: boolean; dir: string; redactor: Redactor; onError?: (err: Error) => void }): AuditLog {
  if (!options.enabled) return { record() {}, healthy: () => true, close: async () => {} };
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  // The line is serialised once, by us: records are plain data, so JSON.stringify is enough, and
  // redaction runs over the final text.
  const line = winston.format((info) => {
    (info as Record<symbol, unknown>)[MESSAGE] = options.redactor.redact(JSON.stringify((info as unknown as { record: AuditRecord & { when: string } }).record));
    return info;
  });
  const file = new BatchedFileTransport(`${options.dir}/audit.log`);
  const logger = winston.createLogger({ level: 'info', format: line(), transports: [file] });
  let failure: Error | undefined;
  logger.on('error', (err: Error) => {
    failure ??= err;
    options.onError?.(err);
  });
  return {
    record(entry) {
      logger.log({ level: 'info', message: '', record: { when: new Date().toISOString(), ...entry } });
    },
    healthy: () => !failure,
    close: async () => {
      await new Promise((resolve) => setImmediate(resolve)); // let winston hand over the last lines
      await file.drain();
      logger.close();
    },
  };
}
