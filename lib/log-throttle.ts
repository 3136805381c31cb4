// A log line per event is a flood when the events come in thousands (an outage, a scan from an
// unknown network). A throttle lets `burst` lines through per window and counts the rest; when a
// window that suppressed lines ends, one summary line says how many (so the count is never lost,
// even if nothing follows). Every event is still audited: only the operational log is thinned.

export type Throttled = (write: () => void) => void;

export function throttle(windowMs: number, burst: number, summarize: (suppressed: number) => void, now: () => number = Date.now): Throttled {
  let windowStart = -Infinity;
  let written = 0;
  let suppressed = 0;
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    timer = undefined;
    const n = suppressed;
    suppressed = 0;
    if (n) summarize(n);
  };
  return (write) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      written = 0;
    }
    if (written < burst) {
      written++;
      return write();
    }
    suppressed++;
    timer ??= setTimeout(report, Math.max(0, windowStart + windowMs - t)).unref();
  };
}
