import type { TransportFault } from './types.js';

// Injected failures. `add` makes the next N WeCom requests answer a fixed errcode; `addTransport`
// makes them fail below WeCom's JSON, as a network or a gateway in front of WeCom would (stall,
// reset, an HTTP 5xx page, a 200 HTML page). Both kinds share one queue, so failNext(2) then
// failNext(1, 45009) answers -1, -1, 45009, and failNext(1) then faultNext(1, {kind: 'stall'})
// answers -1 then stalls. A fault bound to a path is taken only by requests to that path, so a test
// can fail message/send without failing the gettoken call a client makes before it.

type Injected = { kind: 'errcode'; errcode: number } | TransportFault;

interface Fault {
  remaining: number;
  fault: Injected;
  path: string | undefined;
}

const TRANSPORT_KINDS = new Set(['stall', 'reset', 'html', 'http']);

export class FaultQueue {
  #faults: Fault[] = [];

  add(count: number, errcode: number, path?: string): void {
    if (!Number.isInteger(errcode)) throw new RangeError(`failNext errcode must be an integer, got ${errcode}`);
    this.#push(count, { kind: 'errcode', errcode }, path, 'failNext');
  }

  addTransport(count: number, fault: TransportFault, path?: string): void {
    if (!TRANSPORT_KINDS.has(fault?.kind)) throw new RangeError(`faultNext kind must be one of stall, reset, html, http; got ${String(fault?.kind)}`);
    if (fault.kind === 'http' && !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) {
      throw new RangeError(`faultNext http status must be an integer from 400 to 599, got ${fault.status}`);
    }
    this.#push(count, fault.kind === 'http' ? { kind: 'http', status: fault.status } : { kind: fault.kind }, path, 'faultNext');
  }

  #push(count: number, fault: Injected, path: string | undefined, name: string): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`${name} count must be a non-negative integer, got ${count}`);
    if (path !== undefined && !path.startsWith('/')) throw new RangeError(`${name} path must start with "/", got ${path}`);
    if (count > 0) this.#faults.push({ remaining: count, fault, path });
  }

  /** The errcode to answer instead of handling a request to `path`, if an errcode fault is next for it. */
  take(path: string): number | undefined {
    const fault = this.#next(path, 'errcode');
    return fault?.kind === 'errcode' ? fault.errcode : undefined;
  }

  /** The transport fault a request to `path` meets, if one is next for it (checked before the handler). */
  takeTransport(path: string): TransportFault | undefined {
    const fault = this.#next(path, 'transport');
    return fault && fault.kind !== 'errcode' ? fault : undefined;
  }

  /** Consumes the first fault for `path` if it is of the wanted family; a fault of the other family stays queued. */
  #next(path: string, family: 'errcode' | 'transport'): Injected | undefined {
    const index = this.#faults.findIndex((fault) => fault.path === undefined || fault.path === path);
    const fault = this.#faults[index];
    if (!fault || (fault.fault.kind === 'errcode') !== (family === 'errcode')) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.splice(index, 1);
    return fault.fault;
  }

  clear(): void {
    this.#faults = [];
  }
}
