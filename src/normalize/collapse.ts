// Collapses the stages of one request (RequestReceived, ResponseStarted, ResponseComplete, Panic)
// into a single record, in bounded memory. The completing stage is kept. Requests whose completion
// never arrives (open watches at the end of a log) are emitted with their latest stage.
//
// Request identity: the API server writes every stage of a request from one audit Event
// (filters/audit.go WithAudit: only stage, stageTimestamp and responseStatus change; the
// requestReceivedTimestamp is set once, audit/request.go LogRequestMetadata). Its auditID comes
// from the client's Audit-ID header when one is sent (filters/with_auditid.go), so an ID alone
// does not identify a request: stages are one request only when auditID,
// requestReceivedTimestamp, verb, requestURI and user (and impersonated user) agree. A request
// that shares an auditID with an earlier, different one is kept as a request of its own; the
// AuditIDReuse tracker flags and counts it.
//
// Both windows evict first-in-first-out in O(1). (Evicting with `set.values().next()` is not O(1)
// in V8: iteration walks over deleted entries until the table is rehashed, which made a 1 GB log
// ten times slower.)
import type { AuditRecord } from '../types.js';

const FINAL_STAGES = new Set(['ResponseComplete', 'Panic']);
/** Stage → its order in a request (a Map: the stage is audit data, and may be any string). */
const STAGE_RANK: ReadonlyMap<string, number> = new Map([
  ['RequestReceived', 1],
  ['ResponseStarted', 2],
  ['ResponseComplete', 3],
  ['Panic', 3],
]);

export interface CollapseOptions {
  /** At most this many requests wait for their completing stage; the oldest is emitted beyond it. */
  maxPending: number;
  /** auditIDs of completed requests remembered to absorb late stages (out-of-order files). */
  maxDone: number;
  /**
   * Keep the request and response bodies of waiting stages. The completing stage repeats them, so
   * a waiting request needs them only if it never completes and the command reads bodies of
   * requests that never completed (detection rules); otherwise they are dropped while waiting.
   */
  keepWaitingBodies?: boolean;
}

/**
 * True when the record's kept stage completed the request (ResponseComplete, Panic), or the
 * provider writes no stages (''). A request that never completed has no known latency: it is
 * counted apart (InputAccounting.notCompleted) and left out of every latency statistic.
 */
export function isCompleted(r: { stage: string }): boolean {
  return r.stage === 'ResponseComplete' || r.stage === 'Panic' || r.stage === '';
}

/** What a partial run (a worker's task) hands back for the main thread to finish stage collapsing across tasks. */
export interface PartialResult {
  leftovers: AuditRecord[];
  /** Hashes of the request keys first seen in this part, in order. */
  firstSeen: Float64Array;
  /** Hashes of the request keys completed in this part, in order. */
  completed: Float64Array;
  /**
   * For each auditID this part's selected requests used for the first time (in order): the hash
   * of the ID and of the identity of the request, as pairs (AuditIDReuse.firstIds). The main thread
   * finds with them an ID reused across a task border, which one pass would flag.
   */
  firstIds: Float64Array;
}

export const DEFAULT_COLLAPSE: CollapseOptions = { maxPending: 100_000, maxDone: 200_000 };

/** A map that forgets its oldest key beyond a capacity: a ring of keys beside a Map. */
export class RecentMap<V> {
  private readonly map = new Map<string, V>();
  private readonly ring: (string | undefined)[];
  private next = 0;
  constructor(capacity: number) {
    this.ring = new Array<string | undefined>(Math.max(1, capacity));
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  /** Sets a key: an existing one keeps its place in the ring. */
  set(k: string, v: V): void {
    if (this.map.has(k)) this.map.set(k, v);
    else this.addNew(k, v);
  }
  /** Sets a key known to be absent. */
  addNew(k: string, v: V): void {
    const old = this.ring[this.next];
    if (old !== undefined) this.map.delete(old);
    this.ring[this.next] = k;
    this.map.set(k, v);
    this.next = (this.next + 1) % this.ring.length;
  }
}

interface Pending {
  rec: AuditRecord;
  seq: number;
  /** Other requests are open under the same auditID (under extended keys). */
  shared: boolean;
}

/** Forgets a waiting stage's bodies (the completing stage repeats them). */
function dropBodies(r: AuditRecord): void {
  if (r.requestObject !== undefined) r.requestObject = undefined;
  if (r.responseObject !== undefined) r.responseObject = undefined;
}

/**
 * What a request's completing record keeps from an earlier stage of it: the ResponseStarted stage
 * told when a long-running response began to stream. (The collapser, and the merge of sharded
 * states for a request whose stages two shards read, both apply it.)
 */
export function takeFromEarlierStage(r: AuditRecord, earlier: AuditRecord): void {
  if (r.responseStartedMs === null && earlier.responseStartedMs !== null) r.responseStartedMs = earlier.responseStartedMs;
}

/** A request's auditID, scoped by cluster. */
export function idOf(r: AuditRecord): string {
  return r.cluster === '' ? r.auditID : `${r.cluster}\u0000${r.auditID}`;
}

/** True when two events are stages of one request (the auditID aside: see the file comment). */
export function sameRequest(a: AuditRecord, b: AuditRecord): boolean {
  return a.verb === b.verb && a.requestURI === b.requestURI && a.subject === b.subject && a.impersonator === b.impersonator && (a.time === b.time || (a.provider === 'gke' && b.provider === 'gke'));
}

/**
 * Hash of what every stage of one request shares besides the auditID (see the file comment). GKE
 * entries carry no requestReceivedTimestamp (their `timestamp` is the entry's, which may differ
 * between the entries of one operation): their time is left out.
 */
export function identityHash(r: AuditRecord): number {
  return hashKey(`${r.provider === 'gke' ? '' : r.time}\u0000${r.verb}\u0000${r.requestURI}\u0000${r.subject}\u0000${r.impersonator}`);
}

/** The hash partial runs hand back for a request: its auditID and identity together. */
export function requestHash(id: string, identity: number): number {
  return hashKey(`${id}\u0000${identity}`);
}

/** requestHash of a record (the main thread's side of PartialResult.firstSeen and .completed). */
export function requestHashOf(r: AuditRecord): number {
  return requestHash(idOf(r), identityHash(r));
}

/**
 * Flags and counts the requests whose auditID an earlier, different request used (see
 * AuditRecord.auditIDReused), among the requests a run selects: it sees each request once, after
 * collapsing and the filters, so that the pre-filter (which skips lines the filters reject) and
 * --jobs never change the answer. Remembers the IDs of the last `capacity` requests.
 */
export class AuditIDReuse {
  count = 0;
  private readonly ids: RecentMap<number>;
  /** Partial runs only: (auditID hash, identity hash) of each auditID first used here, in order. */
  private readonly first: number[] | null;

  constructor(capacity: number = DEFAULT_COLLAPSE.maxDone, partial = false) {
    this.ids = new RecentMap(capacity);
    this.first = partial ? [] : null;
  }

  /** `identity`: identityHash(r), which the collapser already took. */
  check(r: AuditRecord, identity: number = identityHash(r)): void {
    if (r.auditID === '') return;
    const id = idOf(r);
    const ih = identity;
    const known = this.ids.get(id);
    if (known === undefined) {
      this.ids.addNew(id, ih);
      this.first?.push(hashKey(id), ih);
    } else if (known !== ih) {
      r.auditIDReused = true;
      this.count++;
    }
  }

  /** The pairs a partial run hands back (PartialResult.firstIds). */
  firstIds(): Float64Array {
    return Float64Array.from(this.first ?? []);
  }
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
  /**
   * Requests waiting for their completing stage, by auditID; a second request open under the same
   * ID (a reuse) waits under `ID NUL identity-hash` (found through `shared`).
   */
  private readonly pending = new Map<string, Pending>();
  /** Insertion order of pending keys; stale entries (completed since) are skipped lazily. */
  private order: { key: string; seq: number }[] = [];
  private head = 0;
  private seq = 0;
  /** auditID → identity hash of the last request completed with it. */
  private readonly done: RecentMap<number>;
  /** Events absorbed into another event of the same request. */
  duplicates = 0;
  /** Requests let go before their completion could arrive, because the window was full. */
  evicted = 0;
  /** Most requests waiting at once. */
  peak = 0;
  /** Partial runs only: hashes of the keys first seen here, and of those completed here, in order (see `leftovers`). */
  private readonly track: { firstSeen: number[]; completed: number[] } | null;

  constructor(
    /** Receives each request once, with its identity hash (identityHash). */
    private readonly emit: (r: AuditRecord, identity: number) => void,
    private readonly opts: CollapseOptions = DEFAULT_COLLAPSE,
    partial = false,
  ) {
    this.done = new RecentMap(opts.maxDone);
    this.track = partial ? { firstSeen: [], completed: [] } : null;
  }

  /**
   * Stages meet by auditID, then are compared field by field (sameRequest): no key is built and
   * nothing is hashed per event. A hash of the identity is taken once per request, when it
   * completes (and for an event whose ID completed before: a late or repeated stage, or a reuse).
   */
  add(r: AuditRecord): void {
    if (r.auditID === '') {
      this.emit(r, 0);
      return;
    }
    const id = idOf(r);
    let key = id;
    let prev = this.pending.get(id);
    if (prev !== undefined && !sameRequest(prev.rec, r)) {
      // Another request is open under this auditID: this event's own entry, if any, is apart.
      key = `${id}\u0000${identityHash(r).toString(36)}`;
      prev = prev.shared ? this.pending.get(key) : undefined;
    }
    let ih = -1;
    if (prev === undefined) {
      const doneAs = this.done.get(id);
      if (doneAs !== undefined && doneAs === (ih = identityHash(r))) {
        this.duplicates++;
        return;
      }
      this.track?.firstSeen.push(requestHash(id, ih >= 0 ? ih : (ih = identityHash(r))));
    }
    if (FINAL_STAGES.has(r.stage) || r.stage === '') {
      if (prev !== undefined) {
        takeFromEarlierStage(r, prev.rec);
        this.drop(key, id);
      }
      if (ih < 0) ih = identityHash(r);
      this.complete(id, ih);
      this.emit(r, ih);
      return;
    }
    if (prev !== undefined) {
      this.duplicates++;
      if ((STAGE_RANK.get(r.stage) ?? 0) >= (STAGE_RANK.get(prev.rec.stage) ?? 0)) {
        if (!this.opts.keepWaitingBodies) dropBodies(r);
        prev.rec = r;
      }
      return;
    }
    const seq = this.seq++;
    if (key !== id) this.pending.get(id)!.shared = true;
    if (!this.opts.keepWaitingBodies) dropBodies(r);
    this.pending.set(key, { rec: r, seq, shared: false });
    this.order.push({ key, seq });
    if (this.pending.size > this.peak) this.peak = this.pending.size;
    if (this.pending.size > this.opts.maxPending) this.evictOldest();
    // Entries of requests that completed since are stale: drop them once they outnumber the live
    // ones, so the queue stays proportional to the pending window (amortised O(1)).
    if (this.order.length - this.head > 2 * this.pending.size + 1024) this.compact();
  }

  /** A pending request completed (or evicted): counted as a duplicate stage and forgotten. */
  private drop(key: string, id: string): void {
    const p = this.pending.get(key)!;
    this.pending.delete(key);
    this.duplicates++;
    // The ID's main entry carried the others: the first of them takes its place.
    if (key === id && p.shared) this.promote(id);
  }

  /** After the main entry of a shared auditID left, moves another request open under it to the main key. */
  private promote(id: string): void {
    const prefix = `${id}\u0000`;
    for (const [k, q] of this.pending) {
      if (k.startsWith(prefix)) {
        this.pending.delete(k);
        q.shared = [...this.pending.keys()].some((x) => x.startsWith(prefix));
        this.pending.set(id, q);
        this.order.push({ key: id, seq: q.seq });
        return;
      }
    }
  }

  private complete(id: string, ih: number): void {
    this.done.set(id, ih);
    this.track?.completed.push(requestHash(id, ih));
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
      this.evicted++;
      const id = idOf(p.rec);
      if (key === id && p.shared) this.promote(id);
      const ih = identityHash(p.rec);
      this.complete(id, ih);
      this.emit(p.rec, ih);
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
    return {
      leftovers,
      firstSeen: Float64Array.from(this.track?.firstSeen ?? []),
      completed: Float64Array.from(this.track?.completed ?? []),
      firstIds: new Float64Array(0),
    };
  }

  /**
   * The requests still waiting for their completing stage, oldest first, left in place: what a
   * checkpoint of `audit follow` saves so that a restart can `add` them back before reading on.
   */
  waiting(): AuditRecord[] {
    return [...this.pending.values()].sort((a, b) => a.seq - b.seq).map((p) => p.rec);
  }

  /** Emits every request still waiting for its completion, oldest first. */
  flush(): void {
    for (const p of [...this.pending.values()].sort((a, b) => a.seq - b.seq)) {
      const ih = identityHash(p.rec);
      this.done.set(idOf(p.rec), ih);
      this.emit(p.rec, ih);
    }
    this.pending.clear();
    this.order = [];
    this.head = 0;
  }
}
