// Collapses the stages of one request (RequestReceived, ResponseStarted, ResponseComplete, Panic)
// into a single record, in bounded memory. The completing stage is kept. Requests whose completion
// never arrives (open watches at the end of a log) are emitted with their latest stage.
//
// Request identity. The API server writes every stage of a request from one audit Event
// (filters/audit.go WithAudit: only stage, stageTimestamp and responseStatus change; the
// requestReceivedTimestamp is set once, audit/request.go LogRequestMetadata). Its auditID comes
// from the client's Audit-ID header when one is sent (filters/with_auditid.go), so an ID alone does
// not identify a request. Logs re-stamped by a pipeline exist too (each stage with its own
// requestReceivedTimestamp). The rule (README "Request identity"):
//   - an event can only join a request of its *family*: the same auditID (scoped by cluster),
//     verb, requestURI, user and impersonated user;
//   - it joins a request still waiting for its completion when their requestReceivedTimestamps
//     are equal, or when it is a later stage (RequestReceived → ResponseStarted → ResponseComplete
//     or Panic) and the waiting request's requestReceivedTimestamp is not later than its own;
//   - a completed request absorbs a repeated or late stage only when the timestamps are equal, or
//     when the event is an earlier stage whose requestReceivedTimestamp is not later than the
//     completion's (a request emitted without its completion, because the window was full, also
//     absorbs a later stage as a waiting request would);
//   - anything else under the same auditID is a request of its own: a reuse, which AuditIDReuse
//     flags and counts among the requests a run selects.
// Timestamps are compared as instants to the microsecond (timeMs); GKE entries carry no
// requestReceivedTimestamp, so their time always agrees (and a GKE entry never joins a native one).
// When several waiting requests of one family could take an event, an equal timestamp wins, then
// the earliest requestReceivedTimestamp (then the oldest): deterministic, and the same in every
// run whatever --jobs (src/parallel/run.ts Reconciler falls back to one pass when a border makes
// this ambiguous).
//
// Costs: one waiting request per auditID (nearly every log) is compared field by field, with no
// key built and nothing hashed per event. A reused ID with several waiting requests (an attacker
// can open many) keeps them in a Family index: a map by time and a min-heap per stage, so that
// every event and every removal is O(log k), never a scan of the ID's other requests. The
// family is hashed once per request, when it completes. Both windows evict first-in-first-out in
// O(1). (Evicting with `set.values().next()` is not O(1) in V8: iteration walks over deleted
// entries until the table is rehashed, which made a 1 GB log ten times slower.)
import { getRandomValues } from 'node:crypto';
import { F64List } from '../util/f64list.js';
import type { AuditRecord } from '../types.js';
import { RecentKeys, stringHash } from '../util/recentkeys.js';

/** Stage → its order in a request (a Map: the stage is audit data, and may be any string). */
/** The rank of a completing stage. */
const FINAL = 3;

/**
 * The order of a stage in a request: 1 RequestReceived, 2 ResponseStarted, 3 ResponseComplete and
 * Panic (and '', an event that carries no stage: it is complete as it is); 0 for any other string
 * (not a stage the API server writes: it waits like an early stage).
 */
export function stageRank(stage: string): number {
  // Compared, not looked up in a Map: the stage is a fresh string per event, which a Map would hash.
  switch (stage) {
    case 'ResponseComplete':
    case 'Panic':
    case '':
      return FINAL;
    case 'RequestReceived':
      return 1;
    case 'ResponseStarted':
      return 2;
    default:
      return 0;
  }
}

/** requestReceivedTimestamp as compared for identity: epoch ms (µs kept); NaN when none; 0 for GKE (see the file comment). */
export function receivedKey(r: AuditRecord): number {
  return r.provider === 'gke' ? 0 : r.timeMs;
}

/** Equal receive times (two events without one are equal too). */
export function sameTime(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** `a` was received not later than `b` (false when only one of them has a time). */
export function notLater(a: number, b: number): boolean {
  return a <= b || sameTime(a, b);
}

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
  /**
   * Called once when MANY_WAITING requests wait at once, and once more at FLOOD_WAITING, with that
   * count. Records that wait that long outlive V8's young generation and die in the old one, which
   * V8 lets grow to several times what is live before it collects: the CLI makes it collect sooner
   * then (src/util/v8heap.ts collectSooner; a million requests that never complete peaked at
   * 0.84 GB without, see bench/RESULTS.md), and sooner still in a flood (commandCollapse).
   */
  onManyWaiting?: (waiting: number) => void;
}

/** StageCollapser's count of waiting auditIDs by hash: 4096 counters. */
const WAITING_MASK = 4095;

/** Waiting requests at which CollapseOptions.onManyWaiting is called. */
export const MANY_WAITING = 10_000;
/** Waiting requests at which CollapseOptions.onManyWaiting is called again: a flood of requests that never complete. */
export const FLOOD_WAITING = 50_000;

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
  /**
   * For each leftover, the index in `idFirst` of the event that opened it, or -1 (it opened under
   * an ID this part had seen): when that event joined a request carried from an earlier part, the
   * leftover is that request, and takes its place in the order of requests emitted at the end.
   */
  origins: Int32Array;
  /**
   * For every event that found nothing under its auditID in this part (no waiting request and no
   * completed one remembered), in order, four numbers: the hash of the auditID (idHash), of the
   * family (familyHash), the stage rank (stageRank) and the receive time (receivedKey). The main
   * thread decides with them what one pass would have done with a request carried over the border.
   */
  idFirst: Float64Array;
  /**
   * This part's window of completed requests (StageCollapser `done`) at its end, oldest first, four
   * numbers per auditID: its idHash, and the familyHash, stage rank (stageRank) and receive time
   * (receivedKey) of the last request completed (or emitted from a full window) under it
   * (COMPLETED_STRIDE). At most maxDone entries, whatever the part's size: the main thread replays
   * them after one pass's window as it was before the part, which gives one pass's window after it
   * (see Reconciler in src/parallel/run.ts for why).
   */
  completed: Float64Array;
  /** How many auditIDs entered this part's window of completed requests (an ID forgotten and seen again counts again). */
  doneAdded: number;
  /**
   * The first `idFirst` entry (by index, not number) whose event came after maxDone auditIDs had
   * entered this part's window of completed requests, or the number of entries when none did. One
   * pass's window then holds nothing of the parts before: an entry from here on cannot meet their
   * completions (only requests they left waiting), and the main thread does not look it up there.
   */
  doneCut: number;
  /**
   * This part's window of requests displaced by an Audit-ID reuse (StageCollapser `reused`) at its
   * end, oldest first, two numbers per entry: the idHash and the familyHash of the request
   * (REUSED_STRIDE).
   */
  reusedKeys: Float64Array;
  /** The most requests that waited at once in this part (counted before an eviction). */
  peakPending: number;
  /**
   * For each auditID this part's selected requests used for the first time (in order): the hash
   * of the ID and of the identity of the request, as pairs (AuditIDReuse.firstIds). The main thread
   * finds with them an ID reused across a task border, which one pass would flag.
   */
  firstIds: Float64Array;
}

/** Numbers per event in PartialResult.idFirst. */
export const ID_FIRST_STRIDE = 4;
/** Numbers per auditID in PartialResult.completed. */
export const COMPLETED_STRIDE = 4;
/** Numbers per entry in PartialResult.reusedKeys. */
export const REUSED_STRIDE = 2;

/**
 * One pass's windows (and so --jobs's and audit merge's). KAUDIT_COLLAPSE_WINDOWS=PENDING,DONE sets
 * maxPending and maxDone instead: tests make them a few requests, so that a small log reaches them
 * (test/parallel/identity.test.ts); worker threads read the same environment.
 */
export const DEFAULT_COLLAPSE: CollapseOptions = collapseWindows(process.env.KAUDIT_COLLAPSE_WINDOWS);

function collapseWindows(env: string | undefined): CollapseOptions {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(env ?? '');
  if (m && Number(m[1]) > 0 && Number(m[2]) > 0) return { maxPending: Number(m[1]), maxDone: Number(m[2]) };
  return { maxPending: 100_000, maxDone: 200_000 };
}

/** A map that forgets its oldest key beyond a capacity: a ring of keys beside a Map. */
export class RecentMap<V, K = string> {
  private readonly map = new Map<K, V>();
  private readonly ring: (K | undefined)[];
  private next = 0;
  constructor(capacity: number) {
    this.ring = new Array<K | undefined>(Math.max(1, capacity));
  }
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  has(k: K): boolean {
    return this.map.has(k);
  }
  /** Sets a key: an existing one keeps its place in the ring. */
  set(k: K, v: V): void {
    if (this.map.has(k)) this.map.set(k, v);
    else this.addNew(k, v);
  }
  /** Sets a key known to be absent. */
  addNew(k: K, v: V): void {
    const old = this.ring[this.next];
    if (old !== undefined) this.map.delete(old);
    this.ring[this.next] = k;
    this.map.set(k, v);
    this.next = (this.next + 1) % this.ring.length;
  }
}

/** Forgets a waiting stage's bodies (the completing stage repeats them). */
function dropBodies(r: AuditRecord): void {
  if (r.requestObject !== undefined) r.requestObject = undefined;
  if (r.responseObject !== undefined) r.responseObject = undefined;
}

/**
 * What a request's completing record keeps from an earlier stage of it: the ResponseStarted stage
 * told when a long-running response began to stream. (The collapser, wherever an earlier stage
 * joins the record that replaces it, and the merge of sharded states for a request whose stages
 * two shards read, both apply it.)
 */
export function takeFromEarlierStage(r: AuditRecord, earlier: AuditRecord): void {
  if (r.responseStartedMs === null && earlier.responseStartedMs !== null) r.responseStartedMs = earlier.responseStartedMs;
}

/** A request's auditID, scoped by cluster. */
export function idOf(r: AuditRecord): string {
  return r.cluster === '' ? r.auditID : `${r.cluster}\u0000${r.auditID}`;
}

/** True when two events are of one family: everything but the time and the stage agrees (the auditID aside). */
export function sameFamily(a: AuditRecord, b: AuditRecord): boolean {
  return a.verb === b.verb && a.requestURI === b.requestURI && a.subject === b.subject && a.impersonator === b.impersonator && (a.provider === 'gke') === (b.provider === 'gke');
}

// --- hashes (partial runs hand these back instead of keys; `done` keeps them instead of records) ---

const seed = new Uint32Array(2);
getRandomValues(seed);

/**
 * The hashes are keyed with a random seed per run (the main thread hands it to its workers), so
 * that audit data cannot be crafted to collide: a collision could join two different requests.
 * Outputs never depend on the seed.
 */
export function hashSeed(): [number, number] {
  return [seed[0]!, seed[1]!];
}

/** Sets the seed (a worker thread: the main thread's; tests: a fixed one). */
export function setHashSeed(s: readonly [number, number]): void {
  seed[0] = s[0];
  seed[1] = s[1];
}

/**
 * A 52-bit hash of a string (two 32-bit FNV-1a-style passes from the seed). With a few thousand
 * requests open across range borders and millions of keys, the odds that a collision joins two
 * different requests are about one in a million.
 */
export function hashKey(k: string): number {
  return hashParts([k]);
}

/** hashKey of a tuple of strings: each part's length goes in first, so distinct tuples are distinct inputs. */
export function hashParts(parts: readonly string[]): number {
  hashStart();
  for (const k of parts) hashIn(k);
  return hashEnd();
}

// The two lanes of the hash being computed (module state: no array or object per hash).
let laneA = 0;
let laneB = 0;

function hashStart(): void {
  laneA = 0x811c9dc5 ^ seed[0]!;
  laneB = 0x01000193 ^ seed[1]!;
}

function hashIn(k: string): void {
  let a = Math.imul(laneA ^ k.length, 0x01000193);
  let b = Math.imul(laneB ^ k.length, 0x5bd1e995);
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  laneA = a;
  laneB = b;
}

function hashEnd(): number {
  return (laneA >>> 0) * 0x100000 + ((laneB >>> 0) & 0xfffff);
}

/** Hash of a request's family (sameFamily) without its auditID: hashParts of its provider class, verb, requestURI, subject and impersonator. */
export function familyHash(r: AuditRecord): number {
  hashStart();
  hashIn(r.provider === 'gke' ? 'g' : '');
  hashIn(r.verb);
  hashIn(r.requestURI);
  hashIn(r.subject);
  hashIn(r.impersonator);
  return hashEnd();
}

const timeBits = new Float64Array(1);
const timeWords = new Uint32Array(timeBits.buffer);

/** Hash of a request's identity: its family and its receive time (what AuditIDReuse compares). No string is built. */
export function identityOf(family: number, received: number): number {
  timeBits[0] = received === received ? received : Infinity; // one NaN, whatever its bits
  laneA = 0x811c9dc5 ^ seed[0]!;
  laneB = 0x01000193 ^ seed[1]!;
  identityWord(family % 0x100000000);
  identityWord(Math.floor(family / 0x100000000));
  identityWord(timeWords[0]!);
  identityWord(timeWords[1]!);
  return hashEnd();
}

function identityWord(w: number): void {
  let a = Math.imul(laneA ^ (w & 0xffff), 0x01000193);
  let b = Math.imul(laneB ^ (w & 0xffff), 0x5bd1e995);
  a = Math.imul(a ^ (w >>> 16), 0x01000193);
  b = Math.imul(b ^ (w >>> 16), 0x5bd1e995);
  laneA = a;
  laneB = b;
}

/** identityOf a record. */
export function identityHash(r: AuditRecord): number {
  return identityOf(familyHash(r), receivedKey(r));
}

/** Hash of a request's auditID (idOf) as partial runs hand it back. */
export function idHashOf(r: AuditRecord): number {
  return hashKey(idOf(r));
}

/**
 * Flags and counts the requests whose auditID an earlier, different request used (see
 * AuditRecord.auditIDReused), among the requests a run selects: it sees each request once, after
 * collapsing and the filters, so that the pre-filter (which skips lines the filters reject) and
 * --jobs never change the answer. Remembers the IDs of the last `capacity` requests.
 */
export class AuditIDReuse {
  count = 0;
  /** The auditIDs remembered, and by slot the identity hash of the first request that used each. */
  private ids_: RecentKeys | null = null;
  private readonly capacity: number;
  private readonly identities: Float64Array;
  /** Partial runs only: (auditID hash, identity hash) of each auditID first used here, in order. */
  private readonly first: F64List | null;

  constructor(capacity: number = DEFAULT_COLLAPSE.maxDone, partial = false) {
    this.capacity = capacity;
    this.identities = new Float64Array(Math.max(1, capacity));
    this.first = partial ? new F64List() : null;
  }

  /** The window of check() (made on its first use: checkSlot needs none). */
  private get ids(): RecentKeys {
    return (this.ids_ ??= new RecentKeys(this.capacity));
  }

  /** `identity`: identityHash(r), which the collapser already took; `idHash`: hashKey(idOf(r)) when the collapser took it. */
  check(r: AuditRecord, identity: number = identityHash(r), idHash?: number): void {
    if (r.auditID === '') return;
    const id = idOf(r);
    const ih = identity;
    const h = stringHash(id);
    const s = this.ids.slot(id, h);
    if (s < 0) {
      this.identities[this.ids.add(id, h)] = ih;
      this.first?.push2(idHash ?? hashKey(id), ih);
    } else if (this.identities[s] !== ih) {
      r.auditIDReused = true;
      this.count++;
    }
  }

  /**
   * check() for a run whose AuditIDReuse sees every request the collapser emits (no filter), in the
   * same order: its window of auditIDs would then be the collapser's window of completed requests
   * slot for slot (both remember the last `capacity` distinct IDs, each ring taking a new ID into
   * its oldest slot), so the collapser's slot and freshness (StageCollapser.doneSlot, doneFresh,
   * read right after it emitted `r`) stand for the lookup, and this keeps no window of its own.
   * A run must use either check() or checkSlot(), never both.
   */
  checkSlot(r: AuditRecord, identity: number, slot: number, fresh: boolean, idHash?: number): void {
    if (r.auditID === '') return;
    if (fresh) {
      this.identities[slot] = identity;
      this.first?.push2(idHash ?? hashKey(idOf(r)), identity);
    } else if (this.identities[slot] !== identity) {
      r.auditIDReused = true;
      this.count++;
    }
  }

  /** The pairs a partial run hands back (PartialResult.firstIds). */
  firstIds(): Float64Array {
    return this.first?.take() ?? new Float64Array(0);
  }
}

// --- the window of waiting requests ---

/** A request waiting for its completion. */
interface Open {
  rec: AuditRecord;
  /** Arrival order (the eviction order). */
  readonly seq: number;
  readonly id: string;
  /** stageRank and receivedKey of `rec`. */
  rank: number;
  t: number;
  /** Its family's index when other requests wait under the same auditID; null otherwise. */
  fam: Family | null;
  /** Position in its family's heap (fam !== null). */
  hpos: number;
  /** False once completed or evicted (the eviction queue skips it). */
  live: boolean;
  /** Partial runs: the index of the PartialResult.idFirst entry that opened it, else -1. */
  origin: number;
  /**
   * Partial runs: familyHash and hashKey(id) of the request when its first event computed them
   * (PartialResult.idFirst), else NaN; its completion reuses them (the family of every stage that
   * joins it is the same).
   */
  family: number;
  idHash: number;
}

/** Orders waiting requests of one family: earliest receive time (none last), then oldest. */
function earlier(x: Open, y: Open): boolean {
  const a = x.t === x.t ? x.t : Infinity;
  const b = y.t === y.t ? y.t : Infinity;
  return a < b || (a === b && x.seq < y.seq);
}

/**
 * Work done on auditIDs shared by several waiting requests (Family and OpenHeap steps), for the
 * test that proves it O(log k) per event however many requests an attacker opens under one ID.
 */
export const sharedIdWork = { steps: 0 };

/** A binary min-heap (`earlier`) whose members know their position, so that any of them is removed in O(log n). */
class OpenHeap {
  readonly a: Open[] = [];
  private swap(i: number, j: number): void {
    sharedIdWork.steps++;
    const x = this.a[i]!;
    const y = this.a[j]!;
    this.a[i] = y;
    this.a[j] = x;
    y.hpos = i;
    x.hpos = j;
  }
  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(this.a[i]!, this.a[p]!)) return;
      this.swap(i, p);
      i = p;
    }
  }
  private down(i: number): void {
    const a = this.a;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && earlier(a[l]!, a[m]!)) m = l;
      if (r < a.length && earlier(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
  push(o: Open): void {
    o.hpos = this.a.length;
    this.a.push(o);
    this.up(o.hpos);
  }
  remove(o: Open): void {
    const i = o.hpos;
    const last = this.a.length - 1;
    if (i !== last) this.swap(i, last);
    this.a.pop();
    if (i < this.a.length) {
      this.up(i);
      this.down(i);
    }
  }
}

/** The waiting requests of one family under a shared auditID. */
class Family {
  /** By receive time: an event with an equal time joins that one (at most one per time). */
  readonly byTime = new Map<number, Open>();
  /** By stage rank (0, 1, 2): the earliest-received first. */
  readonly heaps: [OpenHeap, OpenHeap, OpenHeap] = [new OpenHeap(), new OpenHeap(), new OpenHeap()];
  constructor(readonly key: string) {}
  add(o: Open): void {
    sharedIdWork.steps++;
    o.fam = this;
    this.byTime.set(o.t, o);
    this.heaps[o.rank]!.push(o);
  }
  remove(o: Open): void {
    this.byTime.delete(o.t);
    this.heaps[o.rank]!.remove(o);
  }
  /** The request an event of rank `rank` received at `t` joins, if any (see the file comment). */
  find(rank: number, t: number): Open | undefined {
    sharedIdWork.steps++;
    const same = this.byTime.get(t);
    if (same !== undefined) return same;
    let best: Open | undefined;
    for (let k = 0; k < rank && k < FINAL; k++) {
      const top = this.heaps[k]!.a[0];
      if (top !== undefined && (best === undefined || earlier(top, best))) best = top;
    }
    return best !== undefined && notLater(best.t, t) ? best : undefined;
  }
}

/** Two or more requests waiting under one auditID (a reuse), by family. */
class Group {
  readonly families = new Map<string, Family>();
  size = 0;
}

function familyKey(r: AuditRecord): string {
  return `${r.provider === 'gke' ? 'g' : ''}\u0000${r.verb.length}\u0000${r.requestURI.length}\u0000${r.subject.length}\u0000${r.verb}\u0000${r.requestURI}\u0000${r.subject}\u0000${r.impersonator}`;
}

/**
 * The last request completed under each of the last `capacity` auditIDs: its family hash, receive
 * time and stage rank, in flat typed arrays by ring slot (no object, no boxed number per entry).
 * An ID seen again keeps its slot; a new one takes the oldest slot (RecentKeys).
 */
class DoneWindow {
  private readonly keys: RecentKeys;
  readonly family: Float64Array;
  readonly t: Float64Array;
  readonly rank: Uint8Array;
  /** Partial runs: the idHash of each slot's auditID (PartialResult.completed, reusedKeys); else null. */
  readonly idHash: Float64Array | null;
  /** Keys that entered the window. */
  added = 0;
  /** The key last looked up and its hash (a lookup is mostly followed by a set of the same key). */
  private lastKey = '';
  private lastHash = 0;
  constructor(capacity: number, partial = false) {
    const n = Math.max(1, capacity);
    this.keys = new RecentKeys(n);
    this.family = new Float64Array(n);
    this.t = new Float64Array(n);
    this.rank = new Uint8Array(n);
    this.idHash = partial ? new Float64Array(n) : null;
  }
  private hash(id: string): number {
    if (id !== this.lastKey) {
      this.lastKey = id;
      this.lastHash = stringHash(id);
    }
    return this.lastHash;
  }
  /** stringHash(id) (the last key's is remembered). */
  keyHash(id: string): number {
    return this.hash(id);
  }
  /** The slot of `id`, or -1. */
  slot(id: string): number {
    return this.keys.slot(id, this.hash(id));
  }
  /**
   * `at`: slot(id) when the caller already looked it up (-1: absent), so that it is not looked up
   * again. Returns the key's slot; `fresh` tells whether the key entered the window now.
   */
  set(id: string, family: number, t: number, rank: number, at?: number, idHash = NaN): number {
    let i = at === undefined ? this.slot(id) : at;
    this.fresh = i < 0;
    if (i < 0) {
      i = this.keys.add(id, this.hash(id));
      this.added++;
      if (this.idHash !== null) this.idHash[i] = idHash;
    }
    this.family[i] = family;
    this.t[i] = t;
    this.rank[i] = rank;
    return i;
  }
  /** Whether the key of the last set() entered the window then. */
  fresh = false;
  /** Partial runs: the entries oldest first, as PartialResult.completed (`full`) or reusedKeys lays them out. */
  entries(full: boolean): Float64Array {
    const n = this.keys.size;
    const w = full ? COMPLETED_STRIDE : REUSED_STRIDE;
    const out = new Float64Array(n * w);
    for (let k = 0; k < n; k++) {
      const i = this.keys.slotByAge(k);
      out[k * w] = this.idHash![i]!;
      out[k * w + 1] = this.family[i]!;
      if (full) {
        out[k * w + 2] = this.rank[i]!;
        out[k * w + 3] = this.t[i]!;
      }
    }
    return out;
  }
}

export class StageCollapser {
  /** Requests waiting for their completing stage, by auditID: one, or a Group when the ID is shared. */
  private readonly pending = new Map<string, Open | Group>();
  /**
   * How many auditIDs in `pending` have each value of stringHash & WAITING_MASK: an event whose
   * count is 0 has nothing waiting under its ID, which is then not looked up in `pending` (nearly
   * every event of a log whose requests arrive as one ResponseComplete). The hash is the one the
   * window of completed requests looks the ID up with next (DoneWindow remembers it).
   */
  private readonly waitingIds = new Uint32Array(WAITING_MASK + 1);
  /** Waiting requests, counted (pending.size counts IDs). */
  private open = 0;
  /** Arrival order of waiting requests; entries that left (live false) are skipped lazily. */
  private order: Open[] = [];
  private head = 0;
  private seq = 0;
  /** auditID → the last request completed with it. */
  private readonly done: DoneWindow;
  /**
   * auditID and family → a request `done` no longer holds because another request of the same ID
   * completed after it (a reuse): so that a repeat of its stage written after the other request
   * is still absorbed, as it is when the other request is filtered out before (the pre-filter).
   * Made on the first reuse; bounded like `done`.
   */
  private reused: DoneWindow | null = null;
  /** Events absorbed into another event of the same request. */
  duplicates = 0;
  /** Requests let go before their completion could arrive, because the window was full. */
  evicted = 0;
  /** Most requests waiting at once. */
  peak = 0;
  /**
   * The slot in the window of completed requests of the request emitted last (auditID not ''), and
   * whether its auditID entered the window then (was not among the last maxDone IDs emitted). Read
   * by the emit callback: AuditIDReuse.checkSlot shares the window when it sees every request.
   */
  doneSlot = -1;
  doneFresh = false;
  /** Partial runs only: see PartialResult. */
  private readonly track: { idFirst: F64List; peak: number; cut: number } | null;

  constructor(
    /** Receives each request once, with its identity hash (identityHash). */
    /** `idHash`: hashKey(idOf(r)) in partial runs (AuditIDReuse.check takes it), else undefined. */
    private readonly emit: (r: AuditRecord, identity: number, idHash?: number) => void,
    private readonly opts: CollapseOptions = DEFAULT_COLLAPSE,
    partial = false,
  ) {
    this.done = new DoneWindow(opts.maxDone, partial);
    this.track = partial ? { idFirst: new F64List(), peak: 0, cut: -1 } : null;
  }

  add(r: AuditRecord): void {
    if (r.auditID === '') {
      this.emit(r, 0);
      return;
    }
    const id = idOf(r);
    const rank = stageRank(r.stage);
    const t = receivedKey(r);
    const p = this.waitingIds[this.done.keyHash(id) & WAITING_MASK] === 0 ? undefined : this.pending.get(id);
    // A waiting request this event belongs to.
    let o: Open | undefined;
    if (p instanceof Group) o = p.families.get(familyKey(r))?.find(rank, t);
    else if (p !== undefined && sameFamily(p.rec, r) && (sameTime(p.t, t) || (rank > p.rank && notLater(p.t, t)))) o = p;
    if (o !== undefined) {
      this.duplicates++;
      if (rank === FINAL) {
        takeFromEarlierStage(r, o.rec);
        this.remove(o);
        this.complete(r, id, rank, t, undefined, o.family, o.idHash);
      } else if (rank >= o.rank) this.update(o, r, rank, t);
      return;
    }
    // A completed request this event repeats.
    const d = this.done.slot(id);
    if (d >= 0) {
      if (this.absorbs(this.done, d, r, rank, t)) {
        this.duplicates++;
        return;
      }
      if (this.reused !== null) {
        const family = familyHash(r);
        const e = family !== this.done.family[d] ? this.reused.slot(`${id}\u0000${family}`) : -1;
        if (e >= 0 && this.absorbs(this.reused, e, r, rank, t)) {
          this.duplicates++;
          return;
        }
      }
    }
    let origin = -1;
    // Partial runs: the hashes this request's first event hands back, reused when it completes.
    let family = NaN;
    let idHash = NaN;
    if (d < 0 && p === undefined && this.track) {
      origin = this.track.idFirst.length / ID_FIRST_STRIDE;
      if (this.track.cut < 0 && this.done.added >= Math.max(1, this.opts.maxDone)) this.track.cut = origin;
      idHash = hashKey(id);
      family = familyHash(r);
      this.track.idFirst.push4(idHash, family, rank, t);
    }
    // A request of its own.
    if (rank === FINAL) this.complete(r, id, rank, t, d, family, idHash);
    else this.wait(r, id, rank, t, p, origin, family, idHash);
  }

  /** True when the last request completed under the event's auditID absorbs it (see the file comment). */
  private absorbs(done: DoneWindow, d: number, r: AuditRecord, rank: number, t: number): boolean {
    const dRank = done.rank[d]!;
    const dt = done.t[d]!;
    const repeat = sameTime(dt, t) || (rank < dRank && notLater(t, dt));
    // A request emitted from a full window, not completed: a later stage is still its own, as it
    // would have been had the request still waited.
    const later = dRank < FINAL && rank > dRank && notLater(dt, t);
    if (!(repeat || later) || done.family[d] !== familyHash(r)) return false;
    if (rank > dRank) {
      done.rank[d] = rank;
      done.t[d] = t;
    }
    return true;
  }

  /**
   * The last request completed under `id`; one of another family that it displaces is kept in
   * `reused`. `idHash`: hashKey(id) in partial runs (PartialResult.completed).
   */
  private remember(id: string, family: number, t: number, rank: number, prev: number = this.done.slot(id), idHash = NaN): void {
    if (prev >= 0 && this.done.family[prev] !== family) {
      const f = this.done.family[prev]!;
      (this.reused ??= new DoneWindow(this.opts.maxDone, this.track !== null)).set(`${id}\u0000${f}`, f, this.done.t[prev]!, this.done.rank[prev]!, undefined, this.done.idHash?.[prev] ?? NaN);
    }
    this.doneSlot = this.done.set(id, family, t, rank, prev, idHash);
    this.doneFresh = this.done.fresh;
  }

  /** Emits a request and remembers it as the last completed under its auditID. */
  /** `family`, `idHash`: familyHash(r) and hashKey(id) when known (partial runs), else NaN. */
  private complete(r: AuditRecord, id: string, rank: number, t: number, prev?: number, family = NaN, idHash = NaN): void {
    if (family !== family) family = familyHash(r);
    if (this.track) {
      if (idHash !== idHash) idHash = hashKey(id);
      this.remember(id, family, t, rank, prev, idHash);
      this.emit(r, identityOf(family, t), idHash);
    } else {
      this.remember(id, family, t, rank, prev);
      this.emit(r, identityOf(family, t));
    }
  }

  /** A new request waiting under `id` (`p`: what already waits under it). */
  private wait(r: AuditRecord, id: string, rank: number, t: number, p: Open | Group | undefined, origin: number, family: number, idHash: number): void {
    const o: Open = { rec: r, seq: this.seq++, id, rank, t, fam: null, hpos: -1, live: true, origin, family, idHash };
    if (p === undefined) {
      this.pending.set(id, o);
      this.waitingIds[this.done.keyHash(id) & WAITING_MASK]++;
    } else {
      let g: Group;
      if (p instanceof Group) g = p;
      else {
        g = new Group();
        this.join(g, p);
        this.pending.set(id, g);
      }
      this.join(g, o);
    }
    // A waiting stage holds no bodies unless asked (CollapseOptions.keepWaitingBodies): the completing stage repeats them.
    if (!this.opts.keepWaitingBodies) dropBodies(r);
    this.open++;
    this.order.push(o);
    if (this.open > this.peak) {
      this.peak = this.open;
      if (this.peak === MANY_WAITING || this.peak === FLOOD_WAITING) this.opts.onManyWaiting?.(this.peak);
    }
    if (this.track && this.open > this.track.peak) this.track.peak = this.open;
    if (this.open > this.opts.maxPending) this.evictOldest();
    // Entries of requests that left since are stale: drop them once they outnumber the live
    // ones, so the queue stays proportional to the pending window (amortised O(1)). The entries
    // before `head` (evicted: each still holds its record) count too: with requests that never
    // complete, every new one evicts the oldest and the queue only moves on (a million such
    // requests used to keep every record they evicted, 0.9 GB).
    if (this.order.length - this.head > 2 * this.open + 1024 || (this.head > 1024 && 2 * this.head > this.order.length)) this.compact();
  }

  private join(g: Group, o: Open): void {
    const key = familyKey(o.rec);
    let f = g.families.get(key);
    if (f === undefined) g.families.set(key, (f = new Family(key)));
    f.add(o);
    g.size++;
  }

  /** A later stage (or a repeat) replaces the waiting request's record. */
  private update(o: Open, r: AuditRecord, rank: number, t: number): void {
    const f = o.fam;
    if (f !== null) f.remove(o);
    takeFromEarlierStage(r, o.rec);
    if (!this.opts.keepWaitingBodies) dropBodies(r);
    o.rec = r;
    o.rank = rank;
    o.t = t;
    if (f !== null) f.add(o);
  }

  /** A waiting request leaves (completed or evicted): O(1), or O(log k) in a shared ID's family. */
  private remove(o: Open): void {
    o.live = false;
    this.open--;
    const f = o.fam;
    if (f === null) {
      this.pending.delete(o.id);
      this.waitingIds[this.done.keyHash(o.id) & WAITING_MASK]--;
      return;
    }
    const g = this.pending.get(o.id) as Group;
    f.remove(o);
    o.fam = null;
    if (f.byTime.size === 0) g.families.delete(f.key);
    if (--g.size === 1) {
      // The one left waits alone again (found without a scan: one family, one entry).
      const last = g.families.values().next().value!.byTime.values().next().value!;
      last.fam = null;
      this.pending.set(o.id, last);
    }
  }

  private compact(): void {
    const live: Open[] = [];
    for (let i = this.head; i < this.order.length; i++) if (this.order[i]!.live) live.push(this.order[i]!);
    this.order = live;
    this.head = 0;
  }

  /** Requests waiting for their completing stage now (a split run's worker reports it: src/parallel/run.ts stops early on it). */
  get waitingNow(): number {
    return this.open;
  }

  /** Entries the queue holds (those before `head` included: they still hold their records), for tests of the memory bound. */
  get queued(): number {
    return this.order.length;
  }

  private evictOldest(): void {
    while (this.head < this.order.length) {
      const o = this.order[this.head++]!;
      if (!o.live) continue;
      this.remove(o);
      this.evicted++;
      this.complete(o.rec, o.id, o.rank, o.t, undefined, o.family, o.idHash);
      return;
    }
  }

  /** Waiting requests, oldest first, and empties the window. */
  private drain(): Open[] {
    const out: Open[] = [];
    for (let i = this.head; i < this.order.length; i++) if (this.order[i]!.live) out.push(this.order[i]!);
    this.pending.clear();
    this.waitingIds.fill(0);
    this.order = [];
    this.head = 0;
    this.open = 0;
    return out;
  }

  /**
   * Ends a partial run: hands back the requests still waiting (not emitted), oldest first, and
   * what the main thread needs to join the stages of requests that a range border cut, and to see
   * requests repeated across tasks (see PartialResult).
   */
  leftovers(): PartialResult {
    const left = this.drain();
    return {
      leftovers: left.map((o) => o.rec),
      origins: Int32Array.from(left, (o) => o.origin),
      doneCut: this.track === null ? 0 : this.track.cut >= 0 ? this.track.cut : this.track.idFirst.length / ID_FIRST_STRIDE,
      idFirst: this.track?.idFirst.take() ?? new Float64Array(0),
      completed: this.track ? this.done.entries(true) : new Float64Array(0),
      doneAdded: this.done.added,
      reusedKeys: this.track && this.reused ? this.reused.entries(false) : new Float64Array(0),
      peakPending: this.track?.peak ?? 0,
      firstIds: new Float64Array(0),
    };
  }

  /**
   * The requests still waiting for their completing stage, oldest first, left in place: what a
   * checkpoint of `audit follow` saves so that a restart can `add` them back before reading on.
   */
  waiting(): AuditRecord[] {
    // `order` is in arrival order (seq), whatever Group or Family a request waits in.
    const out: AuditRecord[] = [];
    for (let i = this.head; i < this.order.length; i++) if (this.order[i]!.live) out.push(this.order[i]!.rec);
    return out;
  }

  /** Emits every request still waiting for its completion, oldest first. */
  flush(): void {
    for (const o of this.drain()) {
      const family = familyHash(o.rec);
      this.remember(o.id, family, o.t, o.rank);
      this.emit(o.rec, identityOf(family, o.t));
    }
  }
}
