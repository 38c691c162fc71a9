// Lists a report reads more than once (issue 15): drift's and compliance's per-subject results,
// which their checks, gates and renderers each go through. A SpilledList is a LazyList (the stream
// writers, headOf and mapRows treat it alike) whose items may be read any number of times: they
// live in files of the spill folder (src/scale/runs.ts), decoded again on each read, so a report of
// a million subjects is held on disk, not in the heap. Small lists stay plain arrays: ListWriter
// and ExternalSorter.keepSorted return an array when nothing had to spill.
//
// Whoever finishes with a report releases its lists (releaseLists): their files go then, not at exit.
import { LazyList, type Rows } from './lazy.js';
import { charge, enroll, keepable, retire, settle, type Spiller } from './ledger.js';
import { RunWriter, removeRuns } from './runs.js';
import { JSON_LINES, type LineCodec } from './codec.js';
import { readRun } from './merge.js';

/**
 * A list of `length` items read from disk on each iteration (`read()` gives a fresh sequence each
 * time). `fix(f)` adds an in-place correction applied to every item as it is read (it must be
 * idempotent: items of an in-memory segment are the same objects on every read). `release()`
 * removes the files (`drop`); reading after that is an error.
 */
export class SpilledList<T> extends LazyList<T> {
  private gone = false;
  private readonly fixers: ((x: T) => void)[] = [];
  /**
   * The range-relative locations its items cite (file → range start offsets: Loc.offset under
   * --jobs), when whoever made the list gathered them: resolveLines (src/ingest/locate.ts) then
   * need not read the list to find them. Absent: unknown.
   */
  cites?: Map<string, Set<number>>;

  constructor(
    length: number,
    private readonly read: () => Iterable<T>,
    private readonly drop: () => void,
  ) {
    super(length, read, drop);
  }

  /** The items, in order; may be called again. */
  override *[Symbol.iterator](): Generator<T> {
    if (this.gone) throw new Error('SpilledList: read after release');
    const fixers = this.fixers;
    for (const x of this.read()) {
      for (const f of fixers) f(x);
      yield x;
    }
  }

  /** Applies `f` to every item as it is read from now on (an idempotent, in-place correction). */
  fix(f: (x: T) => void): void {
    this.fixers.push(f);
  }

  /** Removes its files; the list cannot be read after this. */
  override release(): void {
    if (this.gone) return;
    this.gone = true;
    this.drop();
  }
}

/** Whether `rows` is a SpilledList (re-readable, held on disk). */
export function isSpilled<T>(rows: Rows<T> | Iterable<T>): rows is SpilledList<T> {
  return rows instanceof SpilledList;
}

/** An array, or a SpilledList: rows that may be read any number of times. */
export type Rereadable<T> = readonly T[] | SpilledList<T>;

/** `rows` with `f` applied to each item, still re-readable (an array is mapped now; a SpilledList on each read). Releasing the result releases `rows`. */
export function remap<T, U>(rows: Rereadable<T>, f: (x: T) => U): Rereadable<U> {
  if (!(rows instanceof SpilledList)) return rows.map(f);
  return new SpilledList<U>(
    rows.length,
    function* () {
      for (const x of rows) yield f(x);
    },
    () => rows.release(),
  );
}

/** The items of `a` then of `b`, re-readable; releasing the result releases both. */
export function concatRows<T>(a: Rereadable<T>, b: Rereadable<T>): Rereadable<T> {
  if (!(a instanceof SpilledList) && !(b instanceof SpilledList)) return [...a, ...b];
  return new SpilledList<T>(
    a.length + b.length,
    function* () {
      yield* a;
      yield* b;
    },
    () => {
      releaseLists(a);
      releaseLists(b);
    },
  );
}

/**
 * Collects items in order, in memory until the memory ledger (src/scale/ledger.ts) says the budget
 * is spent, then appended to files of the spill folder. finish() gives the list: an array when
 * nothing spilled and it is small (ledger.ts KEEP_SHARE), else a SpilledList over the files and the
 * in-memory tail.
 */
export class ListWriter<T> implements Spiller {
  private buf: T[] = [];
  private files: string[] = [];
  held = 0;
  /** Items pushed. */
  count = 0;
  private done = false;

  /**
   * `size`: estimated heap bytes of one item (src/scale/budget.ts roughBytes…). `codec`: how items
   * are written to the files and read back (default encodeLine's JSON, any plain data); a list of
   * one known shape may bring a faster one (decode(encode(x)) must deep-equal x, key order included).
   */
  constructor(
    private readonly size: (item: T) => number,
    private readonly tag = 'list',
    private readonly codec: LineCodec<T> = JSON_LINES as LineCodec<T>,
  ) {
    enroll(this);
  }

  /** Appends an item; it must not be changed afterwards (a spill may write it out at once). */
  push(item: T): void {
    if (this.done) throw new Error('ListWriter: push after finish');
    this.count++;
    this.buf.push(item);
    const n = this.size(item);
    this.held += n;
    charge(n);
    settle();
  }

  /** Writes the buffer out as the next file (called by the ledger). */
  spill(): void {
    if (this.buf.length === 0) return;
    const w = new RunWriter(this.tag);
    try {
      const codec = this.codec;
      for (const x of this.buf) w.line(codec.encode(x));
      this.files.push(w.close());
    } catch (e) {
      w.discard();
      throw e;
    }
    this.buf = [];
    this.held = 0;
  }

  /**
   * The list: an array when nothing spilled and it is small (ledger.ts keepable: the array leaves
   * the ledger), else a SpilledList (its in-memory tail written out too).
   */
  finish(): Rereadable<T> {
    if (this.done) throw new Error('ListWriter: finished twice');
    this.done = true;
    if (this.files.length === 0 && keepable(this.held)) {
      retire(this, this.held);
      this.held = 0;
      const out = this.buf;
      this.buf = [];
      return out;
    }
    const before = this.held;
    this.spill();
    retire(this, before);
    const files = this.files;
    const codec = this.codec;
    this.files = [];
    return new SpilledList<T>(
      this.count,
      function* () {
        for (const f of files) yield* readRun<T>(f, codec);
      },
      () => removeRuns(files),
    );
  }

  /** Removes what was written and forgets the rest (after an error). */
  dispose(): void {
    removeRuns(this.files);
    this.files = [];
    retire(this, this.held);
    this.buf = [];
    this.held = 0;
    this.done = true;
  }
}

/**
 * Releases every SpilledList in `value` (a report: plain objects and arrays, walked to a small
 * depth): their files are removed. Plain data needs nothing. Call when a report has been rendered.
 */
export function releaseLists(value: unknown, depth = 0): void {
  if (value instanceof SpilledList) {
    value.release();
    return;
  }
  if (typeof value !== 'object' || value === null || depth > 6 || value instanceof LazyList) return;
  for (const x of Array.isArray(value) ? value : Object.values(value)) if (typeof x === 'object' && x !== null) releaseLists(x, depth + 1);
}
