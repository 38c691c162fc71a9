// Batches and their delivery. Items collect in an open batch, sealed by size, count or age together
// with a snapshot of the read positions at that line boundary. Every sink delivers the batches in
// order, retrying what failed (backoff with jitter, Retry-After); a batch is done when every sink has
// it (delivered or dead-lettered), and only then is its snapshot handed to the checkpoint (Vector's
// end-to-end acknowledgements). At most `maxQueued` sealed batches wait: then reading stops, so a
// sink that is down costs no memory; the log file on disk is the buffer.
import type { Item, Sink } from './types.js';
import { SinkError } from './types.js';
import { backoffMs, sleep, type RetryPolicy } from './retry.js';
import type { DeadLetter } from './deadletter.js';

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  /** A batch with something in it is sealed this long after it opened. */
  waitMs: number;
  /** Sealed batches not yet done by every sink, at most. */
  maxQueued: number;
}

export interface SinkStats {
  name: string;
  delivered: number;
  /** Items sent again after a failure (each re-send counts). */
  retried: number;
  deadLettered: number;
  /** Items lost without a dead-letter entry: always 0 (nothing is dropped; a failing sink is retried). */
  dropped: number;
  /** Items the sink already had (Elasticsearch 409 on create). */
  duplicates: number;
  batches: number;
  /** Retrying since (ISO 8601), null when the last attempt succeeded. */
  retryingSince: string | null;
  lastError: string | null;
  /** The last wait before a retry, ms: from Retry-After when the sink sent one, else the backoff. */
  lastRetryWaitMs: number | null;
  deadLetterFile: string | null;
}

interface Batch<S> {
  seq: number;
  items: Item[];
  snapshot: S;
  /** Sinks that have not finished this batch. */
  remaining: number;
}

class Runner<S> {
  private queue: Batch<S>[] = [];
  private busy = false;
  readonly stats: SinkStats;

  constructor(
    readonly sink: Sink,
    private readonly dl: DeadLetter,
    private readonly policy: RetryPolicy,
    private readonly stop: AbortSignal,
    private readonly now: () => number,
    private readonly done: (b: Batch<S>) => void,
    private readonly warn: (msg: string) => void,
  ) {
    this.stats = { name: sink.name, delivered: 0, retried: 0, deadLettered: 0, dropped: 0, duplicates: 0, batches: 0, retryingSince: null, lastError: null, lastRetryWaitMs: null, deadLetterFile: null };
  }

  enqueue(b: Batch<S>): void {
    this.queue.push(b);
    if (!this.busy) void this.run();
  }

  private async run(): Promise<void> {
    this.busy = true;
    while (this.queue.length && !this.stop.aborted) {
      const b = this.queue[0]!;
      const finished = await this.deliver(b.items);
      if (!finished) break;
      this.queue.shift();
      this.stats.batches++;
      this.done(b);
    }
    this.busy = false;
  }

  /** Delivers every item (or dead-letters it); false when stopped before that. */
  private async deliver(items: Item[]): Promise<boolean> {
    let todo = items;
    let attempt = 0;
    while (todo.length) {
      if (this.stop.aborted) return false;
      let retry: Item[] = [];
      let retryAfter: number | undefined;
      try {
        const out = await this.sink.send(todo, this.stop);
        const rejected: { item: Item; reason: string }[] = [];
        let problem = out.error;
        out.results.forEach((r, i) => {
          const it = todo[i]!;
          if (r === 'ok') this.stats.delivered++;
          else if (r === 'retry') retry.push(it);
          else rejected.push({ item: it, reason: r.rejected });
        });
        this.stats.duplicates += out.duplicates ?? 0;
        if (rejected.length) {
          try {
            await this.dl.write(rejected, this.now());
            this.stats.deadLettered += rejected.length;
            this.stats.deadLetterFile = this.dl.path;
            this.warn(`${this.sink.name}: ${rejected.length} item${rejected.length === 1 ? '' : 's'} refused for good (${rejected[0]!.reason.slice(0, 200)}); written to ${this.dl.path}`);
          } catch (e) {
            // Not written down: they are not done. Send them again (they will be refused again, and written then).
            for (const r of rejected) retry.push(r.item);
            problem = `cannot write the dead-letter file ${this.dl.path}: ${(e as Error).message}`;
          }
        }
        if (retry.length) this.failing(problem ?? 'some items were refused for now');
        retryAfter = out.retryAfterMs;
      } catch (e) {
        if (this.stop.aborted) return false;
        retry = todo;
        if (e instanceof SinkError) {
          retryAfter = e.retryAfterMs;
          this.failing(e.message);
        } else this.failing(`internal error (please report it): ${(e as Error)?.stack ?? String(e)}`);
      }
      if (retry.length === 0) break;
      attempt++;
      this.stats.retried += retry.length;
      const wait = retryAfter ?? backoffMs(this.policy, attempt);
      this.stats.lastRetryWaitMs = wait;
      await sleep(wait, this.stop);
      todo = retry;
    }
    if (this.stats.retryingSince) this.warn(`${this.sink.name}: delivering again`);
    this.stats.retryingSince = null;
    return true;
  }

  private failing(error: string): void {
    if (!this.stats.retryingSince) {
      this.stats.retryingSince = new Date(this.now()).toISOString();
      this.warn(`${this.sink.name}: ${error}; retrying (reading stops while batches wait)`);
    }
    this.stats.lastError = error;
  }

  get queued(): number {
    return this.queue.length;
  }
}

export class Delivery<S> {
  private items: Item[] = [];
  private bytes = 0;
  private openedAt = 0;
  private seq = 0;
  private readonly outstanding: Batch<S>[] = [];
  private readonly runners: Runner<S>[];
  private changedP: Promise<void> | null = null;
  private resolveChanged: (() => void) | null = null;

  constructor(
    sinks: { sink: Sink; deadLetter: DeadLetter }[],
    private readonly limits: BatchLimits,
    policy: RetryPolicy,
    stop: AbortSignal,
    private readonly now: () => number,
    private readonly onDone: (snapshot: S) => void,
    warn: (msg: string) => void,
  ) {
    this.runners = sinks.map((s) => new Runner<S>(s.sink, s.deadLetter, policy, stop, now, (b) => this.finished(b), warn));
  }

  add(item: Item): void {
    if (this.items.length === 0) this.openedAt ||= this.now();
    this.items.push(item);
    this.bytes += item.json.length;
  }

  /** Something was consumed (even without items): the batch is worth sealing for its positions. */
  touch(): void {
    this.openedAt ||= this.now();
  }

  get hasContent(): boolean {
    return this.openedAt !== 0;
  }

  /** The open batch is full, or old enough. */
  get due(): boolean {
    return this.openedAt !== 0 && (this.items.length >= this.limits.maxEvents || this.bytes >= this.limits.maxBytes || this.now() - this.openedAt >= this.limits.waitMs);
  }

  get full(): boolean {
    return this.items.length >= this.limits.maxEvents || this.bytes >= this.limits.maxBytes;
  }

  /** When the open batch becomes due by age (ms from now), or Infinity. */
  get dueIn(): number {
    return this.openedAt === 0 ? Infinity : Math.max(0, this.openedAt + this.limits.waitMs - this.now());
  }

  /** Too many sealed batches wait: stop reading. */
  get blocked(): boolean {
    return this.outstanding.length >= this.limits.maxQueued;
  }

  seal(snapshot: S): void {
    const b: Batch<S> = { seq: ++this.seq, items: this.items, snapshot, remaining: this.runners.length };
    this.items = [];
    this.bytes = 0;
    this.openedAt = 0;
    this.outstanding.push(b);
    for (const r of this.runners) r.enqueue(b);
  }

  private finished(b: Batch<S>): void {
    b.remaining--;
    // Each sink finishes batches in order, so batches finish for all sinks in order too.
    while (this.outstanding.length && this.outstanding[0]!.remaining === 0) this.onDone(this.outstanding.shift()!.snapshot);
    this.wake();
  }

  /** Resolves at the next change (a batch done by a sink); one shared promise, however often it is asked for. */
  changed(): Promise<void> {
    this.changedP ??= new Promise((resolve) => (this.resolveChanged = resolve));
    return this.changedP;
  }

  get pendingBatches(): number {
    return this.outstanding.length;
  }

  get bufferedItems(): number {
    return this.items.length + this.outstanding.reduce((n, b) => n + b.items.length, 0);
  }

  get bufferedBytes(): number {
    return this.bytes + this.outstanding.reduce((n, b) => n + b.items.reduce((m, it) => m + it.json.length, 0), 0);
  }

  stats(): SinkStats[] {
    return this.runners.map((r) => r.stats);
  }

  /** Wakes anyone waiting on `changed` (a batch done, or shutdown). */
  wake(): void {
    const r = this.resolveChanged;
    this.changedP = null;
    this.resolveChanged = null;
    r?.();
  }
}
