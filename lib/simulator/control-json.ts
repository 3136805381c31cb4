import { decodeUtf8 } from './body.js';
import type { SimulatorState } from './state.js';

// The pieces every /__sim endpoint shares: its answer, its route entry, and JSON in and out.

export interface ControlAnswer {
  status: number;
  json: unknown;
  headers?: Record<string, string>;
  /** Run once the answer has been written (e.g. closing the listener it came through). */
  after?: () => void;
}

export type ControlRoute = { method: string; handle: (query: URLSearchParams, body: Buffer | undefined, state: SimulatorState) => ControlAnswer };

/** The body as JSON; undefined when absent, not UTF-8 or not JSON. */
export function parseJson(body: Buffer | undefined): unknown {
  const text = body ? decodeUtf8(body) : undefined;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function badRequest(error: string): ControlAnswer {
  return { status: 400, json: { ok: false, error } };
}
