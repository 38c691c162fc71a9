// A spilling map: the per-key partial aggregates of a reducer (a profile per subject, a count per
// key…) held in a Map until the budget is spent, then written out as a run sorted by key and
// forgotten; later records for the same key start a new partial aggregate. At the end the runs
// and what is left in memory are merged by key, and the partial aggregates of each key are folded
// with the reducer's own merge, in arrival order: the answer is exactly the one an unbounded Map
// would give (the reducer's merge is the one that already joins worker threads' states).
//
// The state is plain data ({map, held, runs}), so it crosses worker threads and state files like
// any reducer state; the functions take the spec (merge, size, order) that the state cannot carry.
import { charge, enroll, retire, settle, type Spiller } from './ledger.js';
import { budgetBytes } from './budget.js';
import { RunWriter, removeRuns } from './runs.js';
import { JSON_LINES, decodeLine, encodeLine, type LineCodec } from './codec.js';
import { mergeSorted, readRun, reduceRuns } from './merge.js';
import { cmp } from '../util/counter.js';

/** A spilling map's state: plain data. */
export interface SpillMap<V> {
  /** Partial aggregates in memory, by key. */
  map: Map<string, V>;
  /** Estimated heap bytes of `map`. */
  held: number;
  /** Run files (sorted by key), oldest first. */
  runs: string[];
}

/** What a spilling map needs to know about its values. */
export interface SpillSpec<V> {
  /** A name for its run files. */
  tag: string;
  /** Folds `b` (later records) into `a` (earlier ones); returns the result (may be `a`). */
  merge(a: V, b: V): V;
  /** Estimated heap bytes of a key and its value (used when absorbing another map's entries). */
  size(key: string, value: V): number;
  /** Key order of the merged result; default: code-unit order. */
  compare?(a: string, b: string): number;
  /**
   * How [key, value] entries are written in runs; default: encodeLine's JSON (any plain data).
   * valueCodec() makes one from a compact form of the values.
   */
  codec?: LineCodec<[string, V]>;
}

/**
 * The spill specs of one kind of value whose merge depends on a reducer option (a cap on names or
 * examples): one spec per value of the option, made at its first use and reused after, since
 * grow() asks for the spec on every record. `merge(a, b, n)` folds as SpillSpec.merge with option `n`.
 */
export function specsByOption<V>(tag: string, merge: (a: V, b: V, n: number) => V, size: (key: string, value: V) => number, codec?: LineCodec<[string, V]>): (n: number) => SpillSpec<V> {
  const specs = new Map<number, SpillSpec<V>>();
  return (n) => {
    let spec = specs.get(n);
    if (!spec) {
      spec = { tag, merge: (a, b) => merge(a, b, n), size, ...(codec ? { codec } : {}) };
      specs.set(n, spec);
    }
    return spec;
  };
}

export function newSpillMap<V>(): SpillMap<V> {
  return { map: new Map(), held: 0, runs: [] };
}

const spillers = new WeakMap<SpillMap<unknown>, Spiller>();

function spillerOf<V>(s: SpillMap<V>, spec: SpillSpec<V>): Spiller {
  let sp = spillers.get(s as SpillMap<unknown>);
  if (!sp) {
    sp = {
      get held() {
        return s.held;
      },
      spill: () => spillNow(s, spec),
    };
    spillers.set(s as SpillMap<unknown>, sp);
    enroll(sp);
  }
  return sp;
}

/**
 * Records that the map grew by `bytes` (a new key, or a value that grew). Spilling waits for the
 * next safe point (ledger.ts settle: the pipeline's, after each record), so the caller may go on
 * updating the value it holds.
 */
export function grow<V>(s: SpillMap<V>, spec: SpillSpec<V>, bytes: number): void {
  spillerOf(s, spec);
  s.held += bytes;
  charge(bytes);
}

type Entry<V> = [string, V];

/**
 * Entries written as `[key, encode(value)]` JSON lines: for values with a compact plain-data form
 * (`decode(encode(v))` must equal `v` in every way a reducer or report can see, key order of
 * objects included).
 */
export function valueCodec<V>(encode: (value: V) => unknown, decode: (data: unknown) => V): LineCodec<Entry<V>> {
  return {
    encode: (e) => encodeLine([e[0], encode(e[1])]),
    decode: (line) => {
      const [k, x] = decodeLine(line) as [string, unknown];
      return [k, decode(x)];
    },
  };
}

/** How a spec's entries are written to run files: its codec, else JSON_LINES. */
function codecOf<V>(spec: SpillSpec<V>): LineCodec<Entry<V>> {
  return spec.codec ?? (JSON_LINES as LineCodec<Entry<V>>);
}

function entryOrder<V>(spec: SpillSpec<V>): (a: Entry<V>, b: Entry<V>) => number {
  const c = spec.compare ?? cmp;
  return (a, b) => c(a[0], b[0]);
}

/** Writes the map as a run sorted by key and empties it. */
export function spillNow<V>(s: SpillMap<V>, spec: SpillSpec<V>): void {
  if (s.map.size === 0) return;
  // The keys are sorted, not [key, value] pairs: one pointer a key while spilling, not a pair each.
  const map = s.map;
  const keys = [...map.keys()];
  // Without a compare of its own, code-unit order (cmp): the default sort of strings gives the same
  // order without a call into JavaScript per comparison.
  if (spec.compare) keys.sort(spec.compare);
  else keys.sort();
  const w = new RunWriter(spec.tag);
  const codec = codecOf(spec);
  try {
    for (const k of keys) w.line(codec.encode([k, map.get(k) as V]));
    s.runs.push(w.close());
  } catch (e) {
    w.discard();
    throw e;
  }
  s.map = new Map();
  s.held = 0;
}

/** spillNow outside the ledger's settle(): the ledger forgets what the map held. */
function spillOut<V>(s: SpillMap<V>, spec: SpillSpec<V>): void {
  const before = s.held;
  spillNow(s, spec);
  if (spillers.has(s as SpillMap<unknown>)) charge(s.held - before);
}

/**
 * Writes out everything the map holds in memory now (the ledger forgets it), as the ledger would
 * when the budget is spent: for a finish() that is about to build something as large from it, so
 * that the two do not share the budget.
 */
export function spillAll<V>(s: SpillMap<V>, spec: SpillSpec<V>): void {
  spillOut(s, spec);
}

/**
 * Folds `value` (later records) into the in-memory entry of `key` with spec.merge, or adds it, and
 * charges what the entry grew by (spec.size). Spilling waits for the next safe point, as grow().
 */
export function mergeEntry<V>(s: SpillMap<V>, spec: SpillSpec<V>, key: string, value: V): void {
  const mine = s.map.get(key);
  if (mine === undefined) {
    s.map.set(key, value);
    grow(s, spec, spec.size(key, value));
  } else {
    const before = spec.size(key, mine);
    const merged = spec.merge(mine, value);
    s.map.set(key, merged);
    grow(s, spec, Math.max(0, spec.size(key, merged) - before));
  }
}

/**
 * Folds `from` (later records: a worker's later share, another baseline) into `into`: its
 * in-memory entries are merged into `into`'s map, its runs join `into`'s runs. `from` is used up.
 */
export function absorb<V>(into: SpillMap<V>, from: SpillMap<V>, spec: SpillSpec<V>): SpillMap<V> {
  const sp = spillers.get(from as SpillMap<unknown>);
  if (sp) retire(sp, from.held);
  // Runs of `from` hold later records than `into`'s in-memory entries, which are not on disk yet:
  // write those out first so that the merge keeps arrival order.
  if (from.runs.length && into.map.size) spillOut(into, spec);
  for (const r of from.runs) into.runs.push(r);
  from.runs = [];
  for (const [k, v] of from.map) mergeEntry(into, spec, k, v);
  from.map = new Map();
  from.held = 0;
  settle();
  return into;
}

/**
 * Lets a map leave this thread (a worker's partial state, posted to the main thread): the ledger
 * stops counting it (the object posted is a copy; this one is garbage once posted), and unless it
 * is small (no runs, under a quarter of the budget) what it holds in memory is written as a run
 * first, so that the thread that merges the partial states receives run paths instead of every
 * worker's map in memory at once. The map stays readable by drain() wherever it is received.
 */
export function handOff<V>(s: SpillMap<V>, spec: SpillSpec<V>): void {
  if (s.runs.length > 0 || s.held > budgetBytes() / 4) spillOut(s, spec);
  const sp = spillers.get(s as SpillMap<unknown>);
  if (sp) retire(sp, s.held);
  spillers.delete(s as SpillMap<unknown>);
}

/** Number of distinct keys in memory now (not counting runs); for tests. */
export function inMemory<V>(s: SpillMap<V>): number {
  return s.map.size;
}

/**
 * Every key once, in key order, with its partial aggregates folded by `spec.merge` in arrival
 * order. Consumes the map: its runs are removed when the iteration ends, is abandoned, or fails.
 */
export function* drain<V>(s: SpillMap<V>, spec: SpillSpec<V>): Generator<[string, V]> {
  const sp = spillers.get(s as SpillMap<unknown>);
  // With runs to merge anyway, more than half the budget in memory joins them first: the consumer
  // (an external sort of the entries, a report written as they come) then has the budget to itself.
  if (sp && s.runs.length > 0 && s.held > budgetBytes() / 2) spillOut(s, spec);
  // What stays in memory is no longer spillable, but it counts in the ledger until it is handed on
  // (entry by entry), so that what the consumer builds meanwhile spills in time: the entries and
  // the consumer's copies of them never take twice the budget.
  let counted = sp ? s.held : 0;
  if (sp) retire(sp, 0);
  spillers.delete(s as SpillMap<unknown>);
  const release = (k: string, v: V): void => {
    if (counted <= 0) return;
    const b = Math.min(counted, spec.size(k, v));
    counted -= b;
    charge(-b);
  };
  const order = entryOrder(spec);
  const map = s.map;
  const keys = [...map.keys()];
  // Without a compare of its own, code-unit order (cmp): the default sort of strings gives the same
  // order without a call into JavaScript per comparison.
  if (spec.compare) keys.sort(spec.compare);
  else keys.sort();
  s.map = new Map();
  s.held = 0;
  let runs = s.runs;
  s.runs = [];
  try {
    if (runs.length === 0) {
      yield* consume(keys, map, release);
      return;
    }
    const codec = codecOf(spec);
    runs = reduceRuns<Entry<V>>(runs, order, spec.tag, (g) => fold(g, spec, order), codec);
    yield* fold(mergeSorted<Entry<V>>([...runs.map((p) => readRun(p, codec)), consume(keys, map, release)], order), spec, order);
  } finally {
    removeRuns(runs);
    charge(-counted);
    counted = 0;
  }
}

/**
 * Every key once, in key order, folded like drain(), but the map stays readable: what is in memory
 * is written out first, and the runs are kept (merged down to at most FAN_IN) for a later drain()
 * or discard(). For a finish() that must read its entries twice (a first pass for the totals a
 * report gives before its rows) without holding them. Only for a map no longer added to.
 */
export function* reread<V>(s: SpillMap<V>, spec: SpillSpec<V>): Generator<[string, V]> {
  spillOut(s, spec);
  const order = entryOrder(spec);
  const codec = codecOf(spec);
  s.runs = reduceRuns<Entry<V>>(s.runs, order, spec.tag, (g) => fold(g, spec, order), codec);
  yield* fold(mergeSorted<Entry<V>>(s.runs.map((p) => readRun(p, codec)), order), spec, order);
}

/** Two readings of a map, in key order (see readTwice). */
export interface TwoPasses<V> {
  /** Every key once, folded; the map stays readable. */
  first(): Generator<[string, V]>;
  /** Every key once again; consumes the map (as drain()). */
  second(): Generator<[string, V]>;
  /** Drops the map without a second reading (its runs are removed). */
  release(): void;
}

/**
 * A map read twice, in key order: a finish() that gives totals before its rows (rbac-gen's header,
 * counts and self-check) reads every key once for the totals and once more for the rows. A map
 * that never spilled is read from memory both times (sorted for each reading): it already fits the budget,
 * and writing it out only to read it back twice would cost an encoding and two decodings of every
 * value (issue 15). A map with runs is read as reread() then drain() read it. If the ledger spills
 * the map during the first reading (another structure grew past the budget), the second reads the
 * run it wrote. Only for a map no longer added to; the values are not copied, so the caller must
 * not change them in the first reading.
 */
export function readTwice<V>(s: SpillMap<V>, spec: SpillSpec<V>): TwoPasses<V> {
  if (s.runs.length > 0) {
    return { first: () => reread(s, spec), second: () => drain(s, spec), release: () => discard(s) };
  }
  const order = entryOrder(spec);
  return {
    *first() {
      const sorted = [...s.map];
      sorted.sort(order);
      yield* sorted;
    },
    // drain() takes the entries from memory (or from the run a spill during the first reading wrote),
    // letting the ledger count them until each is handed on.
    second: () => drain(s, spec),
    release: () => discard(s),
  };
}

/** The entries of `map` in the order of `keys`, each let go as it is handed on (what the consumer keeps is its own business). */
function* consume<V>(keys: (string | undefined)[], map: Map<string, V>, release: (k: string, v: V) => void): Generator<Entry<V>> {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    keys[i] = undefined;
    const v = map.get(k) as V;
    map.delete(k);
    release(k, v);
    yield [k, v];
  }
}

/** Folds consecutive entries with equal keys. */
function* fold<V>(sorted: Iterable<Entry<V>>, spec: SpillSpec<V>, order: (a: Entry<V>, b: Entry<V>) => number): Generator<Entry<V>> {
  let cur: Entry<V> | null = null;
  for (const e of sorted) {
    if (cur !== null && order(cur, e) === 0) cur = [cur[0], spec.merge(cur[1], e[1])];
    else {
      if (cur !== null) yield cur;
      cur = e;
    }
  }
  if (cur !== null) yield cur;
}

/** Drops the map without reading it (its runs are removed). */
export function discard<V>(s: SpillMap<V>): void {
  const sp = spillers.get(s as SpillMap<unknown>);
  if (sp) retire(sp, s.held);
  spillers.delete(s as SpillMap<unknown>);
  removeRuns(s.runs);
  s.runs = [];
  s.map = new Map();
  s.held = 0;
}
