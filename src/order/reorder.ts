// A bounded reorder stage: records go in roughly in time order and come out in time order.
//
// The API server writes an event when a request reaches a stage, so a log is ordered by stage time,
// not by requestReceivedTimestamp: a watch or an exec session is written when it ends, minutes after
// the calls that followed it; two API servers' logs, or a file given before an older one, interleave
// further. Commands that fold requests by time (`audit commands`) need them by receipt. This stage
// holds records in a min-heap keyed by time and releases one once a record `windowMs` later has been
// seen, or once more than `maxHeld` are held (memory stays bounded whatever the input). A record
// older than one already released is "late": it is released at once, out of order, and counted, so
// the caller can say so. Ties keep input order, so the output is deterministic.
import type { AuditRecord } from '../types.js';
import { MinHeap } from '../util/heap.js';

export interface ReorderOptions {
  /** A record is held until one this many milliseconds later has been seen. */
  windowMs: number;
  /** At most this many records are held; beyond it the oldest is released early. */
  maxHeld: number;
}

/**
 * Thirty minutes covers client-go watches (the reflector asks for 5 to 10 minutes), the API
 * server's own watch timeouts (--min-request-timeout, 30 min by default) and most exec sessions;
 * 150 000 held records stay within a few hundred MB (a busy cluster fills them before 30 minutes:
 * the count bounds memory, the window bounds the wait).
 */
export const DEFAULT_REORDER: ReorderOptions = { windowMs: 1_800_000, maxHeld: 150_000 };

export interface ReorderStats {
  /** Records that arrived after a later one had been released: passed on out of order. */
  late: number;
  /** How far behind the released time the latest of them was, in ms (0 when none). */
  maxLateMs: number;
}

interface Held<T> {
  item: T;
  t: number;
  seq: number;
}

/**
 * Reorders items by a numeric time key within a bounded window. `key` returns epoch ms (NaN when
 * the item has no time: it is kept beside the latest time seen, i.e. where it stood in the input).
 */
export class TimeReorder<T> {
  private readonly heap = new MinHeap<Held<T>>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq));
  private seq = 0;
  private maxSeen = -Infinity;
  /** The time of the last item released; later arrivals older than this are late. */
  private released = -Infinity;
  readonly stats: ReorderStats = { late: 0, maxLateMs: 0 };

  constructor(
    private readonly emit: (item: T) => void,
    private readonly key: (item: T) => number,
    private readonly o: ReorderOptions = DEFAULT_REORDER,
  ) {}

  /** Items held now (for tests of the memory bound). */
  get held(): number {
    return this.heap.size;
  }

  add(item: T): void {
    let t = this.key(item);
    if (!Number.isFinite(t)) t = Number.isFinite(this.maxSeen) ? this.maxSeen : this.released;
    if (t < this.released) {
      this.stats.late++;
      if (this.released - t > this.stats.maxLateMs) this.stats.maxLateMs = this.released - t;
      this.emit(item);
      return;
    }
    if (t > this.maxSeen) this.maxSeen = t;
    this.heap.push({ item, t, seq: this.seq++ });
    const horizon = this.maxSeen - this.o.windowMs;
    while (this.heap.size > 0 && (this.heap.size > this.o.maxHeld || this.heap.peek()!.t <= horizon)) this.release();
  }

  /** Releases everything still held, in time order. */
  flush(): void {
    while (this.heap.size > 0) this.release();
  }

  private release(): void {
    const top = this.heap.pop()!;
    if (top.t > this.released) this.released = top.t;
    this.emit(top.item);
  }
}

/** A TimeReorder of audit records by requestReceivedTimestamp (`timeMs`). */
export function recordReorder(emit: (r: AuditRecord) => void, o: ReorderOptions = DEFAULT_REORDER): TimeReorder<AuditRecord> {
  return new TimeReorder<AuditRecord>(emit, (r) => r.timeMs, o);
}
