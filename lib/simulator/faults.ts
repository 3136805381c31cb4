// Injected failures: the next N WeCom requests answer a fixed errcode. Calls queue up, so
// failNext(2) then failNext(1, 45009) answers -1, -1, 45009. A fault bound to a path is taken
// only by requests to that path, so a test can fail message/send without failing the gettoken
// call a client makes before it.

interface Fault {
  remaining: number;
  errcode: number;
  path: string | undefined;
}

export class FaultQueue {
  #faults: Fault[] = [];

  add(count: number, errcode: number, path?: string): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`failNext count must be a non-negative integer, got ${count}`);
    if (!Number.isInteger(errcode)) throw new RangeError(`failNext errcode must be an integer, got ${errcode}`);
    if (path !== undefined && !path.startsWith('/')) throw new RangeError(`failNext path must start with "/", got ${path}`);
    if (count > 0) this.#faults.push({ remaining: count, errcode, path });
  }

  /** The errcode to answer instead of handling a request to `path`, if a fault for it is pending. */
  take(path: string): number | undefined {
    const index = this.#faults.findIndex((fault) => fault.path === undefined || fault.path === path);
    const fault = this.#faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.splice(index, 1);
    return fault.errcode;
  }

  clear(): void {
    this.#faults = [];
  }
}
