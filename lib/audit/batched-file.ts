import { close, closeSync, openSync, renameSync, unlinkSync, write } from 'node:fs';
import { join } from 'node:path';
import TransportStream from 'winston-transport';
import { housekeeping, seal } from './chain.js';
import { LIVE_FILE, rotatedName, rotatedTime } from './files.js';
import { recoverChain, type Recovered } from './recover.js';

const MESSAGE = Symbol.for('message'); // winston's key for the formatted line
const DAY_MS = 86_400_000;
/** An upper bound of what sealing adds to a body (seq, prev, hash), for the size check made before sealing. */
const SEAL_BYTES = 200;

export interface AuditFileOptions {
  dir: string;
  /** Rotate before a line would take the live file past this size (a file holds at least one record). */
  maxFileBytes: number;
  /** At each rotation, rotated files closed more than this many days ago are deleted. */
  retentionDays: number;
  /** The clock (ms since the epoch): the time of housekeeping records and, in tests, of the day boundary. */
  now: () => number;
}

/** What the queue holds, in order: text for the live file, or a file operation between two texts. */
type Step = string | { rotateTo: string } | { prune: string[] };

/**
 * The one writer of an audit directory, as a winston transport. Every line logged in one turn of the
 * event loop goes out in one write, and writes never overlap, so lines stay in order (winston's own
 * File transport costs a stream write per line, which the forward path measurably pays for).
 *
 * The chain, rotation and retention are decided synchronously in log(), as a line is queued:
 * sealing costs a string build and a SHA-256 (about 1–2 µs), and no per-line syscall is added.
 * A rotation or a pruning is queued as a step between lines, and performed (synchronously: rename,
 * open, unlink, once per file) by the flush when the texts before it are written, so the order on
 * disk is exactly the order of the chain:
 *
 *   …last line of the old file | rename audit.log → audit-<time>.log, open a new audit.log |
 *   audit_file header (previous_file) | audit_pruned (if any) | the line that triggered it |
 *   delete the pruned files | …
 *
 * A file is deleted only after the record announcing it is written. Any write, rename or open
 * error stops the writer for good and is emitted as 'error' (the firewall then refuses: fail
 * closed); a failed deletion of an expired file is only a 'warn'.
 */
export class BatchedFileTransport extends TransportStream {
  private readonly live: string;
  private fd: number;
  private queue: Step[] = [];
  private steps = 0; // file operations in the queue
  private writing = false;
  private failed = false;
  private idle: Array<() => void> = [];

  private seq: number;
  private hash: string;
  private readonly rotated: string[];
  private lastRotatedMs: number;
  private liveBytes: number;
  /** UTC day of the live file's header; undefined until the file has one. */
  private liveDay: string | undefined;
  private liveHasRecords: boolean;
  private readonly rotates: boolean;
  private repair: Recovered['repair'];

  constructor(private readonly options: AuditFileOptions) {
    super();
    this.live = join(options.dir, LIVE_FILE);
    const state = recoverChain(options.dir, options.now());
    this.seq = state.seq;
    this.hash = state.hash;
    this.rotated = state.rotated;
    this.lastRotatedMs = rotatedTime(state.rotated.at(-1) ?? '') ?? 0;
    this.liveBytes = state.live.bytes;
    this.liveDay = state.live.day;
    this.liveHasRecords = state.live.day !== undefined;
    this.rotates = state.live.regular;
    this.repair = state.repair;
    this.fd = openSync(this.live, 'a', 0o600);
    // Every start leaves a record: restarts are visible in the chain, and a torn tail is described
    // by the first line this writer appends (see Recovered.repair).
    const when = new Date(options.now()).toISOString();
    this.append(housekeeping(when, 'audit_opened', { pid: process.pid, ...(state.movedAside ? { moved_aside: state.movedAside } : {}) }), when);
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    if (!this.failed) this.append(String(info[MESSAGE]), typeof info.when === 'string' ? info.when : new Date(this.options.now()).toISOString());
    callback();
  }

  /** Queues one record (a redacted JSON object's text), rotating first if its day or the size says so. */
  private append(body: string, when: string): void {
    if (this.liveDay === undefined) this.startFile(when, this.rotated.at(-1) ?? null);
    else if (this.rotates && !this.repair && this.liveHasRecords && (when.slice(0, 10) !== this.liveDay || this.liveBytes + Buffer.byteLength(body) + SEAL_BYTES > this.options.maxFileBytes)) {
      this.rotate(when);
    }
    this.push(body);
    this.liveHasRecords = true;
  }

  private startFile(when: string, previous: string | null): void {
    this.liveDay = when.slice(0, 10);
    this.liveHasRecords = false;
    this.push(housekeeping(when, 'audit_file', { previous_file: previous }));
  }

  private rotate(when: string): void {
    const ms = Math.max(Date.parse(when) || this.options.now(), this.lastRotatedMs + 1);
    const name = rotatedName(ms);
    this.enqueue({ rotateTo: name });
    this.rotated.push(name);
    this.lastRotatedMs = ms;
    this.liveBytes = 0;
    this.startFile(when, name);
    const cutoff = ms - this.options.retentionDays * DAY_MS;
    let expired = 0;
    while (expired < this.rotated.length && rotatedTime(this.rotated[expired]!)! < cutoff) expired++;
    if (expired) {
      const pruned = this.rotated.splice(0, expired);
      this.push(housekeeping(when, 'audit_pruned', { pruned, retention_days: this.options.retentionDays }));
      this.enqueue({ prune: pruned });
    }
  }

  private push(body: string): void {
    let prefix = '';
    let extra = '';
    if (this.repair) {
      prefix = this.repair.prefix;
      if (this.repair.torn) extra = `"torn":${JSON.stringify(this.repair.torn)},`;
      this.repair = undefined;
    }
    const sealed = seal(++this.seq, this.hash, body, extra);
    this.hash = sealed.hash;
    const text = `${prefix}${sealed.line}\n`;
    this.liveBytes += Buffer.byteLength(text);
    this.enqueue(text);
  }

  private enqueue(step: Step): void {
    this.queue.push(step);
    if (typeof step !== 'string') this.steps++;
    if (this.queue.length === 1 && !this.writing) setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.writing) return;
    while (this.queue.length && typeof this.queue[0] !== 'string') {
      this.steps--;
      if (!this.perform(this.queue.shift() as Exclude<Step, string>)) return;
    }
    if (!this.queue.length) {
      for (const done of this.idle.splice(0)) done();
      return;
    }
    let texts: Step[];
    if (!this.steps) [texts, this.queue] = [this.queue, []];
    else texts = this.queue.splice(0, this.queue.findIndex((s) => typeof s !== 'string'));
    const data = Buffer.from(texts.join(''), 'utf8');
    this.writing = true;
    this.writeAll(data, 0);
  }

  private perform(step: Exclude<Step, string>): boolean {
    if ('rotateTo' in step) {
      try {
        renameSync(this.live, join(this.options.dir, step.rotateTo));
        const fd = openSync(this.live, 'a', 0o600);
        closeSync(this.fd);
        this.fd = fd;
      } catch (err) {
        this.fail(err as Error);
        return false;
      }
    } else {
      for (const name of step.prune) {
        try {
          unlinkSync(join(this.options.dir, name));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.emit('warn', err);
        }
      }
    }
    return true;
  }

  private writeAll(data: Buffer, offset: number): void {
    write(this.fd, data, offset, data.length - offset, null, (err, written) => {
      if (err) return this.fail(err);
      if (offset + written < data.length) return this.writeAll(data, offset + written);
      this.writing = false;
      this.flush();
    });
  }

  /**
   * The firewall refuses everything from here on (audit unhealthy). Nothing more is written: lines
   * queued or logged later are dropped (so closing does not wait for them forever), and the chain on
   * disk ends at the last complete write; the next start continues it from there.
   */
  private fail(err: Error): void {
    this.failed = true;
    this.writing = false;
    this.queue = [];
    this.steps = 0;
    this.emit('error', err);
    for (const done of this.idle.splice(0)) done();
  }

  /** Resolves once every line logged so far is written (or the writer failed); the file stays open. */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      this.idle.push(resolve);
      if (!this.writing) this.flush();
    });
  }

  /** Resolves once every line logged so far is written (or the writer failed), then closes the file. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.idle.push(() => {
        const fd = this.fd;
        this.fd = -1;
        if (fd < 0) resolve();
        else close(fd, () => resolve());
      });
      if (!this.writing) this.flush();
    });
  }
}
