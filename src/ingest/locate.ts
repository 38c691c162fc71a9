// Locations read in byte ranges (--jobs) count lines from the range's start: this makes them
// absolute, so a report cites the same line whatever the number of workers. It reads each cited
// file once more, up to the last range start cited, counting newlines (no parsing).
import { createReadStream } from 'node:fs';
import type { Loc } from '../types.js';
import { SpilledList } from '../scale/spilled.js';

function isRangeLoc(v: unknown): v is Loc & { offset: number } {
  const o = v as Loc;
  return typeof o === 'object' && o !== null && typeof o.file === 'string' && typeof o.line === 'number' && typeof o.offset === 'number' && o.offset > 0;
}

/** Every range-relative location in `value` (a report: plain objects, arrays, Maps), each once. */
function collect(value: unknown, out: Set<Loc & { offset: number }>, seen: Set<object>, lists: SpilledList<unknown>[]): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof SpilledList) {
    lists.push(value);
    return;
  }
  if (isRangeLoc(value)) {
    out.add(value);
    return;
  }
  const children = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  for (const c of children) collect(c, out, seen, lists);
}

function countNewlines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(10, from); i >= 0 && i < to; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Newlines in `file` before each of `offsets` (bytes). */
async function newlinesBefore(file: string, offsets: number[]): Promise<Map<number, number>> {
  const sorted = [...new Set(offsets)].sort((a, b) => a - b);
  const counts = new Map<number, number>();
  let pos = 0;
  let lines = 0;
  let next = 0;
  for await (const chunk of createReadStream(file, { start: 0, end: sorted[sorted.length - 1]! - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let from = 0;
    const end = pos + chunk.length;
    while (next < sorted.length && sorted[next]! <= end) {
      const upto = sorted[next]! - pos;
      lines += countNewlines(chunk, from, upto);
      from = upto;
      counts.set(sorted[next]!, lines);
      next++;
    }
    lines += countNewlines(chunk, from, chunk.length);
    pos = end;
  }
  for (; next < sorted.length; next++) counts.set(sorted[next]!, lines);
  return counts;
}

/**
 * Makes every location in `value` that counts lines from a byte range (Loc.offset, set under
 * --jobs) count from the start of its file, in place; `offset` is removed. Locations without an
 * offset are left as they are.
 */
export async function resolveLines(value: unknown): Promise<void> {
  const locs = new Set<Loc & { offset: number }>();
  const lists: SpilledList<unknown>[] = [];
  collect(value, locs, new Set(), lists);
  // A list read from disk (src/scale/spilled.ts) is scanned for the ranges its items cite; its items
  // are corrected as they are read, later.
  const offsets = new Map<string, Set<number>>();
  for (const l of locs) offsets.set(l.file, (offsets.get(l.file) ?? new Set()).add(l.offset));
  for (const list of lists) {
    if (list.cites) {
      for (const [file, set] of list.cites) for (const o of set) offsets.set(file, (offsets.get(file) ?? new Set()).add(o));
      continue;
    }
    for (const item of list) {
      const mine = new Set<Loc & { offset: number }>();
      collect(item, mine, new Set(), []);
      for (const l of mine) offsets.set(l.file, (offsets.get(l.file) ?? new Set()).add(l.offset));
    }
  }
  if (offsets.size === 0) return;
  const counts = new Map<string, Map<number, number>>();
  for (const [file, set] of offsets) counts.set(file, await newlinesBefore(file, [...set]));
  for (const l of locs) {
    l.line += counts.get(l.file)!.get(l.offset)!;
    delete (l as Loc).offset;
  }
  for (const list of lists) list.fix((item) => relocate(item, (file, offset) => counts.get(file)?.get(offset)));
}

/** Adds the range-relative locations in `value` (file → range start offsets) to `into`; for lists that gather them as they are made (SpilledList.cites). */
export function rangeOffsets(value: unknown, into: Map<string, Set<number>>): void {
  const locs = new Set<Loc & { offset: number }>();
  collect(value, locs, new Set(), []);
  for (const l of locs) into.set(l.file, (into.get(l.file) ?? new Set()).add(l.offset));
}

/**
 * Like resolveLines, with the newline counts given instead of read: `linesBefore(file, offset)` is
 * the number of newlines in `file` before byte `offset` (undefined leaves that location as it is).
 * Merged shard states use it: each shard counted the newlines of its byte range.
 */
export function relocate(value: unknown, linesBefore: (file: string, offset: number) => number | undefined): void {
  const locs = new Set<Loc & { offset: number }>();
  collect(value, locs, new Set(), []);
  for (const l of locs) {
    const n = linesBefore(l.file, l.offset);
    if (n === undefined) continue;
    l.line += n;
    delete (l as Loc).offset;
  }
}
