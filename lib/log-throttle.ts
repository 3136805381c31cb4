// A log line per event is a flood when the events come in thousands (an outage, a scan from an
// unknown network). A throttle lets `burst` lines through per `windowMs` and counts the rest; the
// next line that gets through carries that count. Every event is still audited: only the
// operational log is thinned.

export type Throttled = (write: (suppressedSinceLast: number) => void) => void;

export function throttle(windowMs: number, burst: number, now: () => number = Date.now): Throttled {
  let windowStart = -Infinity;
  let written = 0;
  let suppressed = 0;
  return (write) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      written = 0;
    }
    if (written >= burst) return void suppressed++;
    written++;
    const count = suppressed;
    suppressed = 0;
    write(count);
  };
}
