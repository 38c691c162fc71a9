// External sort: items are held in memory until the ledger (src/scale/ledger.ts) says the budget
// is spent, then sorted and written as a run; the result merges the runs and the in-memory tail
// (src/scale/merge.ts). Stable: equal items keep the order they were added in (runs are written in
// arrival order, Array.prototype.sort is stable, and the merge gives ties to the earlier run). With
// `keep`, only the first `keep` items of the result are wanted: each run holds at most that many,
// and the buffer is trimmed as it goes, so a top-N needs memory for N items whatever the input.
// Runs are removed when the result has been read, when it is abandoned, or after an error
// (dispose); the spill folder itself goes at exit or on a signal (src/scale/tempdir.ts).
import { charge, enroll, keepable, retire, settle, type Spiller } from './ledger.js';
import { RunWriter, removeRuns } from './runs.js';
import { JSON_LINES, type LineCodec } from './codec.js';
import { mergeSorted, readRun, reduceRuns } from './merge.js';
import { SpilledList, type Rereadable } from './spilled.js';

export interface SortOptions<T> {
  /** The order (ties keep arrival order). Must be a total preorder, and consistent. */
  compare(a: T, b: T): number;
  /** Estimated heap bytes of one item (src/scale/budget.ts strBytes…). */
  size(item: T): number;
  /** Only the first `keep` items of the result are wanted (top-N); default all. */
  keep?: number;
  /** A name for the run files. */
  tag?: string;
  /** How items are written in runs and read back; default: encodeLine's JSON (any plain data). */
  codec?: LineCodec<T>;
  /**
   * The items mostly come in order already (drift's entries arrive in user-name order, which is
   * nearly their report order; compliance's names in the order of those entries): an item that
   * sorts after every item added before it joins a run of its own that is written out as it grows,
   * once it outgrows what a finished list may keep in memory (ledger.ts keepable), instead of being
   * held until the ledger spills it, sorted again and merged (natural runs; issue 15: at a million
   * subjects the held entries were copied by V8's scavenger and sorted for nothing). Only the other
   * items are held and sorted. The result is the same, ties in arrival order included. Not with `keep`.
   */
  inOrder?: boolean;
  /**
   * With inOrder: hold the in-order items in memory until the ledger spills (they are then written
   * to the in-order run, which takes every later one as it comes), instead of from the moment they
   * outgrow what a finished list may keep. For a result read once with sorted() (investigate
   * --sort): a log that fits the budget is sorted without a file, one that does not is written once.
   */
  holdInOrder?: boolean;
}

export class ExternalSorter<T> implements Spiller {
  private buf: T[] = [];
  private runs: string[] = [];
  held = 0;
  /** Items added. */
  count = 0;
  private done = false;
  private readonly keep: number;
  private readonly tag: string;
  private readonly codec: LineCodec<T>;
  /**
   * inOrder: the items that sorted after every earlier item, in arrival (= sorted) order, held
   * (`orderedHeld` bytes of `held`) until `stream` is opened, then written to it as they come.
   * `top` is the last of them: the greatest item added so far.
   */
  private readonly inOrder: boolean;
  private ordered: T[] = [];
  private orderedHeld = 0;
  private stream: RunWriter | null = null;
  private top: T | undefined = undefined;
  private hasTop = false;

  constructor(private readonly o: SortOptions<T>) {
    this.keep = o.keep ?? Infinity;
    this.tag = o.tag ?? 'sort';
    this.codec = o.codec ?? (JSON_LINES as LineCodec<T>);
    this.inOrder = !!o.inOrder && this.keep === Infinity;
    enroll(this);
  }

  /** Spill runs written so far (for tests and notes). */
  get runCount(): number {
    return this.runs.length;
  }

  add(item: T): void {
    if (this.done) throw new Error('ExternalSorter: add after the result was taken');
    this.count++;
    if (this.inOrder && (!this.hasTop || this.o.compare(item, this.top as T) > 0)) {
      // Every item that came before sorts before it (an item equal to it comes later: see below).
      this.top = item;
      this.hasTop = true;
      if (this.stream !== null) {
        this.stream.line(this.codec.encode(item));
        return;
      }
      this.ordered.push(item);
      const n = this.o.size(item);
      this.orderedHeld += n;
      this.held += n;
      charge(n);
      if (!this.o.holdInOrder && !keepable(this.orderedHeld)) this.openStream(true);
      settle();
      return;
    }
    this.buf.push(item);
    const n = this.o.size(item);
    this.held += n;
    // A top-N buffer is trimmed in memory first (sorting 2N+1024 items to keep N): cheaper than a run.
    if (this.keep !== Infinity && this.buf.length >= 2 * this.keep + 1024) this.trim();
    charge(n);
    // A sorted item is not touched again: this is a safe point (see ledger.ts). Do not add to a
    // sorter from inside a reducer's add() while holding a value of a spilling map.
    settle();
  }

  private trim(): void {
    this.buf.sort(this.o.compare);
    if (this.buf.length > this.keep) {
      let freed = 0;
      for (let i = this.keep; i < this.buf.length; i++) freed += this.o.size(this.buf[i]!);
      this.buf.length = this.keep;
      this.held -= freed;
      charge(-freed);
    }
  }

  /**
   * Writes the in-order items held so far to the in-order run, which takes every later one as it
   * comes. `charged`: tell the ledger they are gone (not when it is the ledger, or a retire(), that counts them off).
   */
  private openStream(charged: boolean): void {
    const w = new RunWriter(`${this.tag}-ordered`);
    try {
      for (const x of this.ordered) w.line(this.codec.encode(x));
    } catch (e) {
      w.discard();
      throw e;
    }
    this.stream = w;
    if (charged) charge(-this.orderedHeld);
    this.held -= this.orderedHeld;
    this.ordered = [];
    this.orderedHeld = 0;
  }

  /**
   * The in-order run (closed) first, then the other runs in arrival order: every item of the
   * in-order run that ties with another item came before it, so the merge, which gives ties to the
   * earlier source, keeps arrival order.
   */
  private closeStream(): void {
    if (this.stream === null) return;
    const w = this.stream;
    this.stream = null;
    try {
      this.runs.unshift(w.close());
    } catch (e) {
      w.discard();
      throw e;
    }
  }

  /** Sorts the buffer and writes it as a run (called by the ledger); held in-order items go to the in-order run. */
  spill(): void {
    if (this.ordered.length > 0) this.openStream(false);
    if (this.buf.length === 0) return;
    this.buf.sort(this.o.compare);
    const w = new RunWriter(this.tag);
    try {
      const n = Math.min(this.buf.length, this.keep);
      for (let i = 0; i < n; i++) w.line(this.codec.encode(this.buf[i]!));
      this.runs.push(w.close());
    } catch (e) {
      w.discard();
      throw e;
    }
    this.buf = [];
    this.held = 0;
  }

  /**
   * The items in order (the first `keep` of them). Consumes the sorter: runs are removed once read,
   * or when the iteration is abandoned or fails.
   */
  *sorted(): Generator<T> {
    if (this.done) throw new Error('ExternalSorter: the result was already taken');
    this.done = true;
    const buf = this.takeBuffer();
    retire(this, this.held);
    this.held = 0;
    try {
      this.closeStream();
      buf.sort(this.o.compare);
      this.runs = reduceRuns<T>(this.runs, this.o.compare, this.tag, undefined, this.codec);
      const sources: Iterable<T>[] = this.runs.map((p) => readRun<T>(p, this.codec));
      sources.push(buf);
      let n = 0;
      for (const item of this.runs.length ? mergeSorted(sources, this.o.compare) : buf) {
        if (n++ >= this.keep) break;
        yield item;
      }
    } finally {
      this.dispose();
    }
  }

  /**
   * The items in order as a list that may be read any number of times (a SpilledList,
   * src/scale/spilled.ts): the sorted array itself when nothing spilled, else the runs (the
   * in-memory tail written as one more, merged down to FAN_IN) merged again on each read. Consumes
   * the sorter; the caller releases the list (its runs go then). Not with `keep`. Items held past
   * `maxInMemory` bytes (estimated; default: what ledger.ts keepable allows) are spilled too rather
   * than kept as an array that the ledger would no longer count.
   */
  keepSorted(maxInMemory?: number): Rereadable<T> {
    if (this.done) throw new Error('ExternalSorter: the result was already taken');
    if (this.keep !== Infinity) throw new Error('ExternalSorter: keepSorted with keep');
    if (this.runs.length === 0 && this.stream === null && (maxInMemory === undefined ? keepable(this.held) : this.held <= maxInMemory)) {
      this.done = true;
      const buf = this.takeBuffer();
      retire(this, this.held);
      this.held = 0;
      buf.sort(this.o.compare);
      return buf;
    }
    const before = this.held;
    try {
      this.spill();
      this.closeStream();
    } catch (e) {
      this.dispose();
      throw e;
    }
    retire(this, before);
    this.done = true;
    const runs = reduceRuns<T>(this.runs, this.o.compare, this.tag, undefined, this.codec);
    this.runs = [];
    const compare = this.o.compare;
    const codec = this.codec;
    return new SpilledList<T>(
      this.count,
      () => mergeSorted(runs.map((p) => readRun<T>(p, codec)), compare),
      () => removeRuns(runs),
    );
  }

  /**
   * The items held in memory, the in-order ones first: with ties always later than the in-order
   * item they tie with, a stable sort of this array gives arrival order among equal items.
   */
  private takeBuffer(): T[] {
    const buf = this.ordered.length ? this.ordered.concat(this.buf) : this.buf;
    this.ordered = [];
    this.orderedHeld = 0;
    this.buf = [];
    return buf;
  }

  /** Removes the runs and forgets the items (after an error, or when the result is not wanted). */
  dispose(): void {
    if (this.stream !== null) {
      this.stream.discard();
      this.stream = null;
    }
    this.ordered = [];
    this.orderedHeld = 0;
    removeRuns(this.runs);
    this.runs = [];
    retire(this, this.held);
    this.buf = [];
    this.held = 0;
    this.done = true;
  }
}
