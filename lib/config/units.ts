// Human units used in the config: rates ("20/min"), durations ("30m", "6s") and sizes ("4mb").

export interface Rate { points: number; durationSec: number; text: string }

const PER: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86400, day: 86400 };
export const RATE_PATTERN = '^\\s*[1-9][0-9]*\\s*/\\s*(s|sec|second|m|min|minute|h|hour|d|day)\\s*$';

export function parseRate(text: string): Rate {
  const m = /^\s*([1-9][0-9]*)\s*\/\s*([a-z]+)\s*$/.exec(text);
  const per = m && PER[m[2]!];
  if (!m || !per) throw new Error(`invalid rate "${text}": write it as N/s, N/min, N/hour or N/day, e.g. 20/min`);
  return { points: Number(m[1]), durationSec: per, text: `${m[1]}/${m[2]}` };
}

const MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DURATION_PATTERN = '^\\s*[0-9]+\\s*(ms|s|m|h|d)\\s*$';

export function parseDuration(text: string): number {
  const m = /^\s*([0-9]+)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}": write it as a number and ms, s, m, h or d, e.g. 30m`);
  return Number(m[1]) * MS[m[2]!]!;
}

const BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2 };
export const SIZE_PATTERN = '^\\s*[0-9]+\\s*(b|kb|mb)\\s*$';

export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*([0-9]+)\s*(b|kb|mb)\s*$/i.exec(value);
  if (!m) throw new Error(`invalid size "${value}": write it as bytes or with kb/mb, e.g. 4mb`);
  return Number(m[1]) * BYTES[m[2]!.toLowerCase()]!;
}
