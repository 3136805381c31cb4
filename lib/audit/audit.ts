import { mkdirSync } from 'node:fs';
import winston from 'winston';
import type { Redactor } from '../config/secrets.js';

// One JSON line per decision. Records are built from aliases, rule names and digests, never from
// keys or tokens; the redactor runs over every line anyway, as a second guard.

export type AuditDecision = 'forwarded' | 'rejected' | 'parked' | 'rate_limited' | 'approved' | 'approval_rejected' | 'sent' | 'send_failed' | 'upstream_error';

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
  close(): Promise<void>;
}

export function createAuditLog(options: { enabled: boolean; dir: string; redactor: Redactor }): AuditLog {
  if (!options.enabled) return { record() {}, close: async () => {} };
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const redact = winston.format((info) => {
    const line = options.redactor.redact(JSON.stringify(info));
    return line === JSON.stringify(info) ? info : (JSON.parse(line) as typeof info);
  });
  const transport = new winston.transports.File({ filename: `${options.dir}/audit.log` });
  const logger = winston.createLogger({
    level: 'info',
    format: winston.format.combine(redact(), winston.format.json()),
    transports: [transport],
  });
  return {
    record(entry) {
      logger.info({ when: new Date().toISOString(), ...entry } as unknown as winston.LogEntry);
    },
    close: () =>
      new Promise((resolve) => {
        logger.on('finish', () => resolve());
        logger.end();
      }),
  };
}
