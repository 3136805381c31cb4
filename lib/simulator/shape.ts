// Small helpers shared by the payload checks. A check answers a Verdict: errcode 0 means the
// request passes; `detail` becomes the front of WeCom's errmsg.

export interface Verdict {
  errcode: number;
  detail?: string;
}

export const OK: Verdict = { errcode: 0 };

/** 40058 is WeCom's catch-all for bad JSON, over-long values, too many items and missing fields. */
export function invalid(detail: string): Verdict {
  return { errcode: 40058, detail };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** WeCom's limits count UTF-8 bytes, not characters (a CJK character is 3 bytes). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
