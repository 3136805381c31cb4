// Injected failures: the next N webhook requests answer a fixed errcode. Calls queue up, so
// failNext(2) then failNext(1, 45009) answers -1, -1, 45009.

interface Fault {
  remaining: number;
  errcode: number;
}

export class FaultQueue {
  #faults: Fault[] = [];

  add(count: number, errcode: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`failNext count must be a non-negative integer, got ${count}`);
    if (!Number.isInteger(errcode)) throw new RangeError(`failNext errcode must be an integer, got ${errcode}`);
    if (count > 0) this.#faults.push({ remaining: count, errcode });
  }

  /** The errcode to answer instead of handling the request, if a fault is pending. */
  take(): number | undefined {
    const fault = this.#faults[0];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.shift();
    return fault.errcode;
  }

  clear(): void {
    this.#faults = [];
  }
}
