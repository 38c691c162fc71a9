// A compact, column-wise form of a list of flat objects, for embedding in the `audit view` page: each
// field is one column, strings are dictionary-coded (or kept as a plain array when nearly all
// distinct), numbers stay JSON numbers (non-finite ones as strings), anything else is a dictionary
// of JSON texts. Decoding gives back every value exactly (null stays null, NaN stays NaN, absent
// stays absent), so the page serialises rows byte for byte as the command line does.
// Pure: no Node and no DOM API; the CLI encodes with it and the page (bundled) decodes with it.

/** One encoded column. */
export type EncodedColumn =
  /** Strings: dictionary in first-seen order and one index per row. */
  | { k: 's'; dict: string[]; idx: number[] }
  /** Strings, nearly all distinct: the values themselves. */
  | { k: 'r'; vals: string[] }
  /** Numbers and null; NaN, Infinity and -Infinity as the strings "NaN", "Infinity", "-Infinity". */
  | { k: 'n'; vals: (number | string | null)[] }
  /** Anything else (arrays, booleans, mixed): dictionary of JSON texts (NaN, Infinity, -Infinity as those words); -1 for an absent value. */
  | { k: 'j'; dict: string[]; idx: number[] }
  /** Values the reader derives from elsewhere (the `derived` argument of decodeTable). */
  | { k: 'rows' };

export interface EncodedTable {
  n: number;
  fields: string[];
  cols: EncodedColumn[];
}

/** Dictionary coding: the distinct strings in first-seen order, and each row's index into them. */
export function dictionaryCode(n: number, at: (i: number) => string): { codes: Int32Array; dict: string[] } {
  const codes = new Int32Array(n);
  const dict: string[] = [];
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = at(i);
    let j = index.get(s);
    if (j === undefined) {
      j = dict.length;
      index.set(s, j);
      dict.push(s);
    }
    codes[i] = j;
  }
  return { codes, dict };
}

function encodeColumn(values: unknown[]): EncodedColumn {
  let strings = true;
  let numbers = true;
  for (const v of values) {
    if (typeof v !== 'string') strings = false;
    if (typeof v !== 'number' && v !== null) numbers = false;
    if (!strings && !numbers) break;
  }
  if (strings && values.length > 0) {
    // Mostly distinct strings (auditIDs, times, URIs) gain nothing from a dictionary: a sample decides.
    const sample = Math.min(values.length, 4096);
    if (new Set(values.slice(0, sample)).size * 2 > sample) return { k: 'r', vals: values as string[] };
    const { codes, dict } = dictionaryCode(values.length, (i) => values[i] as string);
    return dict.length * 2 > values.length ? { k: 'r', vals: values as string[] } : { k: 's', dict, idx: Array.from(codes) };
  }
  if (numbers && values.length > 0) return { k: 'n', vals: values.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : (v as number | null))) };
  const dict: string[] = [];
  const at = new Map<string, number>();
  const idx = values.map((v) => {
    if (v === undefined) return -1;
    // Non-finite numbers as their bare names: no JSON text looks like that.
    const t = typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
    let j = at.get(t);
    if (j === undefined) {
      j = dict.length;
      at.set(t, j);
      dict.push(t);
    }
    return j;
  });
  return { k: 'j', dict, idx };
}

/** Encodes `rows[i][f]` for each field `f` of `fields`. */
export function encodeTable<T extends object>(rows: readonly T[], fields: readonly string[]): EncodedTable {
  return encodeColumns(rows.length, fields, (f) => rows.map((r) => (r as Record<string, unknown>)[f]));
}

/** encodeTable from a table held column-wise: `column(f)` gives the n values of field f (one column at a time is made). */
export function encodeColumns(n: number, fields: readonly string[], column: (field: string) => unknown[]): EncodedTable {
  return { n, fields: [...fields], cols: fields.map((f) => encodeColumn(column(f))) };
}

/** A decoded column. String-like columns carry integer codes into `dict` for fast filtering. */
export interface Column {
  kind: 'str' | 'num' | 'json';
  /** str: the distinct strings; json: the distinct values (parsed). */
  dict: unknown[];
  /** str and json: the code of each row (-1: absent). */
  codes: Int32Array;
  /** num: the value of each row (NaN for null and NaN alike; `isNull` tells them apart). */
  nums: Float64Array;
  isNull: Uint8Array;
}

export interface Table {
  n: number;
  fields: string[];
  cols: Column[];
  /** Column by field name. */
  col: Record<string, Column>;
}

const EMPTY_I = new Int32Array(0);
const EMPTY_F = new Float64Array(0);
const EMPTY_U = new Uint8Array(0);

function decodeColumn(c: EncodedColumn, n: number, derived?: () => unknown[]): Column {
  if (c.k === 'rows') {
    if (!derived) throw new Error('view data: a derived column without its source');
    const vals = derived();
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = i;
    return { kind: 'json', dict: vals, codes, nums: EMPTY_F, isNull: EMPTY_U };
  }
  if (c.k === 's') return { kind: 'str', dict: c.dict, codes: Int32Array.from(c.idx), nums: EMPTY_F, isNull: EMPTY_U };
  if (c.k === 'r') {
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = i;
    return { kind: 'str', dict: c.vals, codes, nums: EMPTY_F, isNull: EMPTY_U };
  }
  if (c.k === 'n') {
    const nums = new Float64Array(n);
    const isNull = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = c.vals[i];
      if (v === null || v === undefined) {
        nums[i] = NaN;
        isNull[i] = 1;
      } else nums[i] = typeof v === 'string' ? Number(v) : v;
    }
    return { kind: 'num', dict: [], codes: EMPTY_I, nums, isNull };
  }
  return { kind: 'json', dict: c.dict.map((t) => (t === 'NaN' || t === 'Infinity' || t === '-Infinity' ? Number(t) : (JSON.parse(t) as unknown))), codes: Int32Array.from(c.idx), nums: EMPTY_F, isNull: EMPTY_U };
}

/** Decodes a table; `derived` gives the values of a `rows` column (one per row). */
export function decodeTable(t: EncodedTable, derived?: () => unknown[]): Table {
  const cols = t.cols.map((c) => decodeColumn(c, t.n, derived));
  const col: Record<string, Column> = {};
  t.fields.forEach((f, i) => (col[f] = cols[i]!));
  return { n: t.n, fields: t.fields, cols, col };
}

/** The exact value of row `i` in a column (undefined when absent). Arrays and objects are shared between rows: do not change them. */
export function valueAt(c: Column, i: number): unknown {
  if (c.kind === 'num') return c.isNull[i] ? null : c.nums[i];
  const j = c.codes[i]!;
  return j < 0 ? undefined : c.dict[j];
}

/** The string of row `i` in a string column ('' when the column holds something else). */
export function textAt(c: Column, i: number): string {
  if (c.kind !== 'str') return '';
  return c.dict[c.codes[i]!] as string;
}

/** Row `i` as an object with the table's fields in order (absent values left out, as JSON leaves them). */
export function rowAt(t: Table, i: number, skip?: ReadonlySet<string>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let f = 0; f < t.fields.length; f++) {
    const name = t.fields[f]!;
    if (skip?.has(name)) continue;
    const v = valueAt(t.cols[f]!, i);
    if (v !== undefined) o[name] = v;
  }
  return o;
}
