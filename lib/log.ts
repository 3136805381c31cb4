import winston from 'winston';
import type { Redactor } from './config/secrets.js';

/** The operational log (stderr, JSON lines): starts, stops, failures. Decisions go to the audit log. */
export function createLogger(level: string, redactor?: Redactor): winston.Logger {
  const redact = winston.format((info) => {
    if (!redactor) return info;
    const redacted = JSON.parse(redactor.redact(JSON.stringify(info))) as typeof info;
    // winston routes by symbol-keyed fields (level, splat), which JSON drops: carry them over.
    for (const sym of Object.getOwnPropertySymbols(info)) (redacted as unknown as Record<symbol, unknown>)[sym] = (info as unknown as Record<symbol, unknown>)[sym];
    return redacted;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), redact(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
