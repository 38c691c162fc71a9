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
  /** The remembered keys, oldest first. */
  keys(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const k = this.ring[(this.next + i) % this.ring.length];
      if (k !== undefined) out.push(k);
    }
    return out;
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

export { STAGE_RANK, FINAL_STAGES };

/** Partial runs: see `headKeys`. */
export const HEAD_EVENTS = 10_000;
export const HEAD_SLACK_MS = 60_000;
/** Partial runs hand back this many of their most recently completed keys (late stages in the next range). */
export const DONE_TAIL = 50_000;

export class StageCollapser {
  private readonly pending = new Map<string, Pending>();
  /** Insertion order of pending keys; stale entries (completed since) are skipped lazily. */
  private order: { key: string; seq: number }[] = [];
  private head = 0;
  private seq = 0;
  private readonly done: RecentSet;
  /** Events absorbed into another event of the same request. */
  duplicates = 0;
  /**
   * Partial runs (a byte range of a file): keys of requests first seen here that may have begun in
   * an earlier range, so they absorb its leftovers: those first seen among the first HEAD_EVENTS
   * events, and those received before (or up to HEAD_SLACK_MS after) the range's first event was
   * written: long-running requests, and writes reordered by the API server's audit buffering.
   */
  readonly headKeys = new Set<string>();
  private seen = 0;
  private firstStageMs = NaN;

  constructor(
    private readonly emit: (r: AuditRecord) => void,
    private readonly opts: CollapseOptions = DEFAULT_COLLAPSE,
    private readonly trackHead = false,
  ) {
    this.done = new RecentSet(opts.maxDone);
  }

  add(r: AuditRecord): void {
    if (r.auditID === '') {
      this.emit(r);
      return;
    }
    const key = keyOf(r);
    if (this.trackHead) this.track(r, key);
    if (this.done.has(key)) {
      this.duplicates++;
      return;
    }
    const prev = this.pending.get(key);
    if (FINAL_STAGES.has(r.stage) || r.stage === '') {
      if (prev !== undefined) {
        this.pending.delete(key);
        this.duplicates++;
      }
      this.done.addNew(key);
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

  private track(r: AuditRecord, key: string): void {
    if (this.seen++ === 0) this.firstStageMs = r.timeMs + (r.durationMs ?? 0);
    if (this.done.has(key) || this.pending.has(key)) return;
    if (this.seen <= HEAD_EVENTS || !(r.timeMs >= this.firstStageMs + HEAD_SLACK_MS)) this.headKeys.add(key);
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
      this.emit(p.rec);
      return;
    }
  }

  /** Partial runs: hands back the requests still waiting (not emitted), oldest first, and the completed keys remembered. */
  leftovers(): { pending: AuditRecord[]; done: string[] } {
    const pending = [...this.pending.values()].sort((a, b) => a.seq - b.seq).map((p) => p.rec);
    this.pending.clear();
    this.order = [];
    this.head = 0;
    return { pending, done: this.done.keys().slice(-DONE_TAIL) };
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
