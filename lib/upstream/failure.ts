// What went wrong on one attempt to reach WeCom, and above all: could WeCom have received it?
//
// Only an error that happens before a connection exists proves WeCom never saw the request:
// refused, DNS, no route, a connect that timed out, a TLS handshake that failed. Anything after the
// connection is up (a reset, a hang-up, no answer in time) is ambiguous: the bytes may have reached
// WeCom and been acted on, so such a request is never sent again (one message must not become two).
// A reset on a reused keep-alive socket is ambiguous too, however likely it is that the server had
// just closed the idle socket: we cannot prove it.

export type FailureKind =
  /** No connection: WeCom certainly did not get the request. */
  | 'unreachable'
  /** Sent, then no answer within upstreamTimeout. */
  | 'timeout'
  /** Sent, then the connection broke (reset, hang-up, an answer cut short). */
  | 'lost'
  /** An answer we refuse to buffer (over the size cap). */
  | 'bad_answer';

/** Errors raised by connect() or DNS: there was never a connection to write the request to. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL']);
/** Certificate and handshake failures: the request was never written, but trying again will not help. */
const TLS = /CERT|^ERR_TLS_|^ERR_SSL_|^ERR_OSSL_/;

export class UpstreamFailure extends Error {
  readonly code: string;
  constructor(
    readonly kind: FailureKind,
    /** false only when WeCom certainly did not receive the request. */
    readonly mayHaveArrived: boolean,
    /** Worth another attempt (only ever with mayHaveArrived false, or for idempotent calls). */
    readonly transient: boolean,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'UpstreamFailure';
    this.code = `UPSTREAM_${kind.toUpperCase()}`;
  }
}

/** Classifies a socket or request error. `connecting`: the socket had not connected yet. */
export function failureOf(err: unknown, connecting = false): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  if (NOT_CONNECTED.has(code) || connecting) return new UpstreamFailure('unreachable', false, true, `WeCom could not be reached (${code || 'connect failed'})`, err);
  if (TLS.test(code)) return new UpstreamFailure('unreachable', false, false, `TLS to WeCom failed (${code})`, err);
  return new UpstreamFailure('lost', true, true, `the connection to WeCom broke after the request was sent (${code || String((err as Error)?.message ?? err)})`, err);
}

/** A timeout: before the connection was up it is a connect failure (never sent), after it ambiguous. */
export function timeoutFailure(connecting: boolean, timeoutMs: number): UpstreamFailure {
  return connecting
    ? new UpstreamFailure('unreachable', false, true, `no connection to WeCom within ${timeoutMs} ms`)
    : new UpstreamFailure('timeout', true, true, `WeCom did not answer within ${timeoutMs} ms`);
}
