// Writing large outputs piece by piece. A report that holds millions of items (findings, subjects,
// policies) must never become one string: V8 caps a string at about 512 MB ("Invalid string
// length"), and holding it costs as much memory again. writeJson writes exactly the bytes of
// `JSON.stringify(value, null, 2) + '\n'`, member by member, and reads a LazyList (items that come
// from an external sort or a merge of spilled runs) one item at a time.
import { LazyEntries, LazyList } from '../scale/lazy.js';

export { LazyEntries, LazyList, headOf, lazyOf, mapRows, memberCount, VIEW_ROWS, type Rows } from '../scale/lazy.js';

/** Where streamed output goes (Out, a file being written, a test buffer). */
export interface Sink {
  write(s: string): void;
}

/** Objects and arrays nested deeper than this are written with one JSON.stringify call each (they are small: one finding, one record). */
const STREAM_DEPTH = 3;
/**
 * Arrays longer than this are written item by item at any depth, and so is an object that holds
 * one: a report's list may sit deep in it (a check's evidence of a million subject names, issue
 * 15), and one JSON.stringify of it would be a string as large as the list, twice over once indented.
 */
export const STREAM_ITEMS = 256;

function isLong(v: unknown): boolean {
  return Array.isArray(v) && v.length > STREAM_ITEMS;
}

function pad(depth: number): string {
  return '  '.repeat(depth);
}

/**
 * JSON.stringify(v, null, 2) placed at `depth` (its line breaks indented). An object or array
 * without toJSON is stringified inside `depth` one-item arrays, which indents it as it stands at
 * `depth`, and the wrappers' brackets are cut off: one pass instead of a stringify and a replace of
 * every line break (issue 15: a million report rows). The wrappers add, before v, `[`, a newline
 * and 2i spaces for each level i = 1…depth, and after it a newline, 2i spaces and `]` for each
 * level i = depth−1…0.
 */
function inline(v: unknown, depth: number): string | undefined {
  if (depth > 0 && typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    let w: unknown = v;
    for (let i = 0; i < depth; i++) w = [w];
    const t = JSON.stringify(w, null, 2);
    return t.slice(2 * depth + depth * (depth + 1), t.length - (2 * depth + depth * (depth - 1)));
  }
  const s = JSON.stringify(v, null, 2);
  if (s === undefined) return undefined;
  return depth === 0 || !s.includes('\n') ? s : s.replace(/\n/g, `\n${pad(depth)}`);
}

/** An object's own enumerable members, one at a time (as JSON.stringify visits them). */
function* ownEntries(o: Record<string, unknown>): Iterable<[string, unknown]> {
  for (const k of Object.keys(o)) yield [k, o[k]];
}

/** Writes members as a JSON object at `depth`, leaving out those JSON.stringify leaves out. */
function writeEntries(sink: Sink, entries: Iterable<[string, unknown]>, depth: number): void {
  let first = true;
  for (const [k, x] of entries) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    sink.write(`${first ? '{' : ','}\n${pad(depth + 1)}${JSON.stringify(k)}: `);
    first = false;
    writeValue(sink, x, depth + 1);
  }
  sink.write(first ? '{}' : `\n${pad(depth)}}`);
}

/** Whether an object has a LazyList member or a long array (written item by item at any depth, not as one string). */
function holdsLazy(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] instanceof LazyList || isLong(o[k])) return true;
  return false;
}

/** Levels mayHoldLazy looks into; an item nested deeper is written member by member, as it may hold one. */
const ITEM_LEVELS = 8;

/**
 * Whether `v` is or holds a LazyList or a long array within `levels` levels of nesting (true past
 * them, or for an object with its own toJSON: it may). An item of a list that holds neither is
 * written with one JSON.stringify (a row of a million-row list: one call, not one per member).
 */
function mayHoldLazy(v: unknown, levels: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof LazyList || isLong(v) || levels === 0 || typeof (v as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(v)) {
    for (const x of v) if (mayHoldLazy(x, levels - 1)) return true;
    return false;
  }
  for (const k in v) if (mayHoldLazy((v as Record<string, unknown>)[k], levels - 1)) return true;
  return false;
}

/**
 * Writes v's JSON at `depth`; false when v has none (undefined, a function), which the caller writes
 * as null or leaves out. `item`: v is an item of an array (items below the top level that hold no
 * LazyList are written whole).
 */
function writeValue(sink: Sink, v: unknown, depth: number, item = false): boolean {
  if (v instanceof LazyEntries) {
    writeEntries(sink, v as LazyEntries<unknown>, depth);
    return true;
  }
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' && !(v instanceof LazyList)) v = (v as { toJSON(): unknown }).toJSON();
  if (v instanceof LazyList || (Array.isArray(v) && (depth < STREAM_DEPTH || v.length > STREAM_ITEMS))) {
    let first = true;
    for (const item of v as Iterable<unknown>) {
      sink.write(first ? `[\n${pad(depth + 1)}` : `,\n${pad(depth + 1)}`);
      first = false;
      if (!writeValue(sink, item, depth + 1, true)) sink.write('null');
    }
    sink.write(first ? '[]' : `\n${pad(depth)}]`);
    return true;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && (depth < STREAM_DEPTH ? !(item && depth >= 2) || mayHoldLazy(v, ITEM_LEVELS) : holdsLazy(v as Record<string, unknown>))) {
    writeEntries(sink, ownEntries(v as Record<string, unknown>), depth);
    return true;
  }
  const s = inline(v, depth);
  if (s === undefined) return false;
  sink.write(s);
  return true;
}

/**
 * Writes `JSON.stringify(value, null, 2) + '\n'` to `sink` in pieces, reading LazyLists item by
 * item (a LazyList deeper than the top levels is materialised by its toJSON).
 */
export function writeJson(sink: Sink, value: unknown): void {
  if (!writeValue(sink, value, 0)) throw new Error('writeJson: the value has no JSON form');
  sink.write('\n');
}

/** A sink that collects everything written (tests, small outputs). */
export function stringSink(): Sink & { text(): string } {
  const parts: string[] = [];
  return { write: (s) => void parts.push(s), text: () => parts.join('') };
}

function indent(text: string, by: string): string {
  // Every line of a YAML dump ends with a newline; indent each (block scalars keep their relative indentation).
  return by + text.replace(/\n(?=.)/gs, `\n${by}`);
}

/**
 * Writes the YAML of a report (a plain object) to `sink`: exactly `dump(value)` for the
 * materialised value, but a LazyList or array member is written item by item (each item dumped as
 * a one-item sequence, indented under its key). `dump` is yamlDumper's function.
 */
export function writeYaml(sink: Sink, value: Record<string, unknown>, dump: (v: unknown) => string): void {
  const keys = Object.keys(value).filter((k) => value[k] !== undefined);
  if (keys.length === 0) {
    sink.write(dump(value));
    return;
  }
  for (const k of keys) {
    const v = value[k];
    if (v instanceof LazyList || (Array.isArray(v) && v.length > 0)) {
      let any = false;
      for (const item of v as Iterable<unknown>) {
        if (!any) sink.write(dump({ [k]: [] }).replace(/ \[\]\n$/, '\n'));
        any = true;
        sink.write(indent(dump([item]), '  '));
      }
      if (!any) sink.write(dump({ [k]: [] }));
    } else sink.write(dump({ [k]: v }));
  }
}
