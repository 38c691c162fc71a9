// K-way merge of sorted sources (run files and an in-memory tail) with a min-heap: O(n log k).
// Ties go to the earlier source, so a merge of runs written in arrival order is stable. Runs are
// merged at most FAN_IN at a time: beyond that, groups of FAN_IN runs are first merged into one
// (each pass reads and writes every item once), so open files and read buffers stay bounded.
import { MinHeap } from '../util/heap.js';
import { RunReader, RunWriter, removeRuns } from './runs.js';
import { JSON_LINES, type LineCodec } from './codec.js';

/** Runs merged at once (open files, 256 KiB buffer each). */
export const FAN_IN = 64;

interface Head<T> {
  item: T;
  src: number;
}

/** Items of a run file, decoded (by `codec`, default encodeLine's JSON); closes the file when done or abandoned. */
export function* readRun<T>(path: string, codec: LineCodec<T> = JSON_LINES as LineCodec<T>): Generator<T> {
  const r = new RunReader(path);
  try {
    for (let line = r.next(); line !== null; line = r.next()) yield codec.decode(line);
  } finally {
    r.close();
  }
}

/**
 * Merges sorted iterables into one sorted sequence. `compare` orders items; equal items come out
 * in source order. Every source iterator is closed (return()) when the merge ends or is abandoned.
 */
export function* mergeSorted<T>(sources: Iterable<T>[], compare: (a: T, b: T) => number): Generator<T> {
  const its = sources.map((s) => s[Symbol.iterator]());
  const heap = new MinHeap<Head<T>>((a, b) => {
    const c = compare(a.item, b.item);
    return c < 0 || (c === 0 && a.src < b.src);
  });
  try {
    its.forEach((it, src) => {
      const r = it.next();
      if (!r.done) heap.push({ item: r.value, src });
    });
    while (heap.size > 0) {
      const top = heap.pop()!;
      const it = its[top.src]!;
      const r = it.next();
      if (!r.done) heap.push({ item: r.value, src: top.src });
      yield top.item;
    }
  } finally {
    for (const it of its) it.return?.();
  }
}

/**
 * Reduces run files to at most FAN_IN by merging the oldest FAN_IN into one, repeatedly. `combine`
 * (optional) folds each maximal group of equal items into one before it is written. Returns the
 * remaining run paths, in order (the merged run takes the place of the runs it replaced). `codec`
 * reads and writes the items (default encodeLine's JSON).
 */
export function reduceRuns<T>(runs: string[], compare: (a: T, b: T) => number, tag: string, combine?: (group: Iterable<T>) => Iterable<T>, codec: LineCodec<T> = JSON_LINES as LineCodec<T>): string[] {
  let rest = runs.slice();
  try {
    while (rest.length > FAN_IN) {
      const group = rest.slice(0, FAN_IN);
      const w = new RunWriter(tag);
      try {
        const merged = mergeSorted(group.map((p) => readRun<T>(p, codec)), compare);
        for (const item of combine ? combine(merged) : merged) w.line(codec.encode(item));
        w.close();
      } catch (e) {
        w.discard();
        throw e;
      }
      removeRuns(group);
      rest = [w.path, ...rest.slice(FAN_IN)];
    }
  } catch (e) {
    // Every run is gone after a failure: the caller cannot use part of them.
    removeRuns(rest);
    removeRuns(runs);
    throw e;
  }
  return rest;
}

/**
 * Joins two sequences of [key, value] sorted by key (distinct keys in each): yields every key once
 * with the value of each side, or undefined for a side without it. O(n + m).
 */
export function* mergeJoin<A, B>(a: Iterable<[string, A]>, b: Iterable<[string, B]>, compare: (x: string, y: string) => number = (x, y) => (x < y ? -1 : x > y ? 1 : 0)): Generator<[string, A | undefined, B | undefined]> {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  try {
    let ra = ia.next();
    let rb = ib.next();
    while (!ra.done || !rb.done) {
      const c = ra.done ? 1 : rb.done ? -1 : compare(ra.value[0], rb.value[0]);
      if (c < 0) {
        yield [ra.value![0], ra.value![1], undefined];
        ra = ia.next();
      } else if (c > 0) {
        yield [rb.value![0], undefined, rb.value![1]];
        rb = ib.next();
      } else {
        yield [ra.value![0], ra.value![1], rb.value![1]];
        ra = ia.next();
        rb = ib.next();
      }
    }
  } finally {
    ia.return?.();
    ib.return?.();
  }
}
