import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { createAuditLog, type AuditLog, type AuditLogOptions } from '../../lib/audit/audit.js';
import { listChainFiles, LIVE_FILE } from '../../lib/audit/files.js';
import { Redactor } from '../../lib/config/secrets.js';

/** A settable clock for the audit writer: the day boundary and retention without waiting. */
export interface Clock {
  t: number;
  now: () => number;
}

export function clock(start = '2026-03-01T10:00:00.000Z'): Clock {
  const c: Clock = { t: Date.parse(start), now: () => c.t };
  return c;
}

export const MINUTE = 60_000;
export const DAY = 86_400_000;

/**
 * One writer's life: opens the audit log in `dir`, records `n` decisions (advancing the clock by
 * `stepMs` before each, and yielding to the event loop now and then so batches vary), closes it.
 */
export async function writeRecords(
  dir: string,
  c: Clock,
  n: number,
  options: Partial<AuditLogOptions> & { stepMs?: number; from?: number } = {},
): Promise<AuditLog> {
  const log = createAuditLog({ enabled: true, dir, redactor: new Redactor(), now: c.now, ...options });
  const from = options.from ?? 0;
  for (let i = from; i < from + n; i++) {
    c.t += options.stepMs ?? 1000;
    log.record({ decision: 'forwarded', request_id: `req-${i}`, who: 'agent-a', what: { route: 'webhook/send', robot: 'ops', msgtype: 'text', size: 100 + i }, why: { rule: 'allow-all', pack: 'spec' }, latency_ms: 3 });
    if (i % 7 === 3) await turn();
  }
  await log.close();
  return log;
}

/** The chain's files in verify order. */
export function chainFiles(dir: string): string[] {
  const { rotated, live } = listChainFiles(dir);
  return live ? [...rotated, LIVE_FILE] : rotated;
}

export function readLines(dir: string, file: string): string[] {
  const text = readFileSync(join(dir, file), 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
}

export function writeLines(dir: string, file: string, lines: string[]): void {
  writeFileSync(join(dir, file), lines.map((l) => `${l}\n`).join(''));
}

export function records(dir: string, file: string): Array<Record<string, unknown> & { seq: number; decision: string; when: string }> {
  return readLines(dir, file).map((l) => JSON.parse(l) as Record<string, unknown> & { seq: number; decision: string; when: string });
}
