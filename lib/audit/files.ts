import { readdirSync } from 'node:fs';

/**
 * The audit directory's layout:
 *
 *   audit.log                              the live file, appended to by the one writer
 *   audit-2026-11-24T20-15-00.123Z.log     rotated files, named for the UTC time they were closed
 *
 * Rotated names sort lexicographically in time order, and the writer keeps them strictly increasing
 * (a rotation in the same millisecond as the last one, or after the clock stepped back, takes the
 * last name's time + 1 ms), so the verifier orders the files by name alone: rotated oldest first,
 * then the live file. Any other file in the directory is ignored (e.g. a pre-chain `audit.log` the
 * writer moved aside on upgrade).
 */
export const LIVE_FILE = 'audit.log';

const ROTATED = /^audit-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z\.log$/;

export function rotatedName(ms: number): string {
  return `audit-${new Date(ms).toISOString().replace(/:/g, '-')}.log`;
}

/** The close time (ms) of a rotated file from its name, or undefined for any other name. */
export function rotatedTime(name: string): number | undefined {
  const m = ROTATED.exec(name);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The chain's files in order: rotated oldest first, then the live file if it exists. */
export function listChainFiles(dir: string): { rotated: string[]; live: boolean } {
  const names = readdirSync(dir);
  return { rotated: names.filter((n) => rotatedTime(n) !== undefined).sort(), live: names.includes(LIVE_FILE) };
}

/** A pre-chain audit.log moved aside on upgrade: `audit-pre-chain-<time>.log` (not a rotated name). */
export function preChainName(ms: number): string {
  return `audit-pre-chain-${new Date(ms).toISOString().replace(/:/g, '-')}.log`;
}
