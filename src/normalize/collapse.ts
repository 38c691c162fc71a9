// Collapses the stages of one request (RequestReceived, ResponseStarted, ResponseComplete, Panic)
// into a single record, in bounded memory. The completing stage is kept. Requests whose completion
// never arrives (open watches at the end of a log) are emitted with their latest stage.
//
// Both windows evict first-in-first-out in O(1). (Evicting with `set.values().next()` is not O(1)
// in V8: iteration walks over deleted entries until the table is rehashed, which made a 1 GB log
// ten times slower.)
import type { AuditRecord } from '../types.js';

const FINAL_STAGES = new Set(['ResponseComplete', 'Panic']);
const STAGE_RANK: Record<string, number> = { RequestReceived: 1, ResponseStarted: 2, ResponseComplete: 3, Panic: 3 };

export interface CollapseOptions {
  /** At most this many requests wait for their completing stage; the oldest is emitted beyond it. */
  maxPending: number;
  /** auditIDs of completed requests remembered to absorb late stages (out-of-order files). */
  maxDone: number;
}

/** What a partial run (a worker's task) hands back for the main thread to finish stage collapsing across tasks. */
export interface PartialResult {
  leftovers: AuditRecord[];
  /** Hashes of the request keys first seen in this part, in order. */
  firstSeen: Float64Array;
  /** Hashes of the request keys completed in this part, in order. */
  completed: Float64Array;
}

export const DEFAULT_COLLAPSE: CollapseOptions = { maxPending: 100_000, maxDone: 200_000 };

/** A set that forgets its oldest member beyond a capacity: a ring of keys beside a Set. */
export class RecentSet {
  private readonly set = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;
  constructor(capacity: number) {
    this.ring = new Array<string | undefined>(Math.max(1, capacity));
  }
  has(k: string): boolean {
    return this.set.has(k);
  }
  add(k: string): void {
    if (!this.set.has(k)) this.addNew(k);
  }
  /** `add` for a key known to be absent (saves a lookup on the hot path). */
  addNew(k: string): void {
    const old = this.ring[this.next];
    if (old !== undefined) this.set.delete(old);
    this.ring[this.next] = k;
    this.set.add(k);
    this.next = (this.next + 1) % this.ring.length;
  }
}

interface Pending {
  rec: AuditRecord;
  seq: number;
}

/** The identity of a request across its stages. */
export function keyOf(r: AuditRecord): string {
  return r.cluster === '' ? r.auditID : `${r.cluster}\u0000${r.auditID}`;
}

/**
 * A 52-bit hash of a request key (two 32-bit FNV-1a-style passes): partial runs hand these back
 * instead of the keys, 8 bytes each. With a few thousand requests open across range borders and
 * millions of keys, the odds that a collision joins two different requests are about one in a million.
 */
export function hashKey(k: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

export class StageCollapser {
  private readonly pending = new Map<string, Pending>();
  /** Insertion order of pending keys; stale entries (completed since) are skipped lazily. */
  private order: { key: string; seq: number }[] = [];
  private head = 0;
  private seq = 0;
  private readonly done: RecentSet;
  /** Events absorbed into another event of the same request. */
  duplicates = 0;
  /** Partial runs only: hashes of the keys first seen here, and of those completed here, in order (see `leftovers`). */
  private readonly track: { firstSeen: number[]; completed: number[] } | null;

  constructor(
    private readonly emit: (r: AuditRecord) => void,
    private readonly opts: CollapseOptions = DEFAULT_COLLAPSE,
    partial = false,
  ) {
    this.done = new RecentSet(opts.maxDone);
    this.track = partial ? { firstSeen: [], completed: [] } : null;
  }

  add(r: AuditRecord): void {
    if (r.auditID === '') {
      this.emit(r);
      return;
    }
    const key = keyOf(r);
    if (this.done.has(key)) {
      this.duplicates++;
      return;
    }
    const prev = this.pending.get(key);
    let h = 0;
    if (prev === undefined && this.track !== null) this.track.firstSeen.push((h = hashKey(key)));
    if (FINAL_STAGES.has(r.stage) || r.stage === '') {
      if (prev !== undefined) {
        this.pending.delete(key);
        this.duplicates++;
      }
      this.done.addNew(key);
      this.track?.completed.push(h || hashKey(key));
      this.emit(r);
      return;
    }
    if (prev !== undefined) {
      this.duplicates++;
      if ((STAGE_RANK[r.stage] ?? 0) >= (STAGE_RANK[prev.rec.stage] ?? 0)) prev.rec = r;
      return;
    }
    const seq = this.seq++;
    this.pending.set(key, { rec: r, seq });
    this.order.push({ key, seq });
    if (this.pending.size > this.opts.maxPending) this.evictOldest();
    // Entries of requests that completed since are stale: drop them once they outnumber the live
    // ones, so the queue stays proportional to the pending window (amortised O(1)).
    if (this.order.length - this.head > 2 * this.pending.size + 1024) this.compact();
  }

  private compact(): void {
    const live: { key: string; seq: number }[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const e = this.order[i]!;
      if (this.pending.get(e.key)?.seq === e.seq) live.push(e);
    }
    this.order = live;
    this.head = 0;
  }

  /** Queue length, for tests of the memory bound. */
  get queued(): number {
    return this.order.length - this.head;
  }

  private evictOldest(): void {
    while (this.head < this.order.length) {
      const { key, seq } = this.order[this.head++]!;
      const p = this.pending.get(key);
      if (p === undefined || p.seq !== seq) continue; // completed (or re-added) since
      this.pending.delete(key);
      this.done.add(key);
      this.track?.completed.push(hashKey(key));
      this.emit(p.rec);
      return;
    }
  }

  /**
   * Ends a partial run: hands back the requests still waiting (not emitted), oldest first, the
   * hashes of every key first seen here, and of every key completed here, in order: the main
   * thread needs them to join the stages of requests that a range border cut, and to see requests
   * repeated across tasks.
   */
  leftovers(): PartialResult {
    const leftovers = [...this.pending.values()].sort((a, b) => a.seq - b.seq).map((p) => p.rec);
    this.pending.clear();
    this.order = [];
    this.head = 0;
    return { leftovers, firstSeen: Float64Array.from(this.track?.firstSeen ?? []), completed: Float64Array.from(this.track?.completed ?? []) };
  }

  /**
   * The requests still waiting for their completing stage, oldest first, left in place: what a
   * checkpoint of `audit follow` saves so that a restart can `add` them back before reading on.
   */
  waiting(): AuditRecord[] {
    return Array.from(this.pending.values(), (p) => p.rec);
  }

  /** Emits every request still waiting for its completion, oldest first. */
  flush(): void {
    for (const [key, p] of this.pending) {
      this.done.add(key);
      this.emit(p.rec);
    }
    this.pending.clear();
    this.order = [];
    this.head = 0;
  }
}
