// Lists and objects whose items come from disk (an external sort, a merge of spilled runs): read
// once, in order, with their length known up front (LazyList) or counted as they are read
// (LazyEntries). A reducer returns a plain array when everything fit in memory and a LazyList when
// it spilled (Rows<T> is either), so small reports stay plain data and large ones stream; the
// stream writers (src/render/stream.ts) treat both alike.
import type { ExternalSorter } from './extsort.js';

/**
 * A list whose items are produced on demand (from spilled runs): `length` is known up front, the
 * items are read once, in order. JSON.stringify materialises it (toJSON), which is fine for small
 * lists and tests; writeJson streams it.
 */
export class LazyList<T> {
  private used = false;
  constructor(
    readonly length: number,
    private readonly source: () => Iterable<T>,
    /** Called by release() when the items were never read (removes the runs they would be read from). */
    private readonly onRelease?: () => void,
  ) {}

  /** Lets go of items nobody will read (their spill files go now, not at exit); nothing once they were read. */
  release(): void {
    if (this.used) return;
    this.used = true;
    this.onRelease?.();
  }

  /** The items, once. */
  *[Symbol.iterator](): Generator<T> {
    if (this.used) throw new Error('LazyList: its items were already read');
    this.used = true;
    yield* this.source();
  }

  /** The first `n` items as an array (reads the list). */
  head(n: number): T[] {
    const out: T[] = [];
    if (n <= 0) return out;
    for (const x of this) {
      out.push(x);
      if (out.length >= n) break;
    }
    return out;
  }

  toJSON(): T[] {
    return [...this];
  }
}

/**
 * Rows a terminal table or a Markdown view holds at most for a list of any length; the view's note
 * says how many there are in all (exact), and -o json has every one.
 */
export const VIEW_ROWS = 1000;

/**
 * An object whose members are produced on demand (a baseline's subjects, from spilled runs): the
 * [key, value] pairs are read once, in order, keys distinct. `size` is the number of members read
 * so far (all of them once the object was written). writeJson writes it as the JSON object it
 * stands for; JSON.stringify materialises it (toJSON).
 */
export class LazyEntries<T> {
  private used = false;
  private read = 0;
  constructor(
    private readonly source: () => Iterable<[string, T]>,
    /** Called by release() when the members were never read (removes the runs they would be read from). */
    private readonly onRelease?: () => void,
  ) {}

  /** Lets go of members nobody will read (their spill files go now, not at exit); nothing once they were read. */
  release(): void {
    if (this.used) return;
    this.used = true;
    this.onRelease?.();
  }

  get size(): number {
    return this.read;
  }

  *[Symbol.iterator](): Generator<[string, T]> {
    if (this.used) throw new Error('LazyEntries: its members were already read');
    this.used = true;
    for (const e of this.source()) {
      this.read++;
      yield e;
    }
  }

  toJSON(): Record<string, T> {
    // fromEntries defines own members: a key `__proto__` stays a key.
    return Object.fromEntries(this);
  }
}

/** The number of members of an object or a LazyEntries. */
export function memberCount(o: Record<string, unknown> | LazyEntries<unknown>): number {
  return o instanceof LazyEntries ? o.size : Object.keys(o).length;
}

/** Releases rows that are a LazyList nobody read (see LazyList.release), or members of a LazyEntries nobody read; arrays and objects need nothing. */
export function releaseRows(rows: Rows<unknown> | LazyEntries<unknown> | object): void {
  if (rows instanceof LazyList || rows instanceof LazyEntries) rows.release();
}

/** An array, or a LazyList of the same items. */
export type Rows<T> = readonly T[] | LazyList<T>;

/** The first `n` rows of an array or a LazyList. */
export function headOf<T>(rows: Rows<T>, n: number): T[] {
  return rows instanceof LazyList ? rows.head(n) : rows.slice(0, n);
}

/** `rows` with `f` applied to each: a LazyList stays lazy (read once), an array is mapped. */
export function mapRows<T, U>(rows: Rows<T>, f: (x: T) => U): Rows<U> {
  if (rows instanceof LazyList) {
    return new LazyList(rows.length, function* () {
      for (const x of rows) yield f(x);
    });
  }
  return rows.map(f);
}

/** An array of rows as a LazyList over the same items (the stream writer treats both alike). */
export function lazyOf<T>(rows: readonly T[]): LazyList<T> {
  return new LazyList(rows.length, () => rows);
}


/** A sorter's result: an array when nothing spilled (re-readable plain data), else a LazyList over its runs. */
export function rowsOf<T>(sorter: ExternalSorter<T>): Rows<T> {
  return sorter.runCount === 0 ? [...sorter.sorted()] : new LazyList(sorter.count, () => sorter.sorted(), () => sorter.dispose());
}
