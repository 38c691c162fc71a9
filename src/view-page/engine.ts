// Filtering: one pass over a dataset gives the selected rows in time order, each facet's counts on
// the rows that every *other* filter selects (so a facet shows what choosing another of its values
// would give), and the histogram on the rows that every filter but the time range selects. Pure (no
// DOM); typed arrays only in the loop.
import type { Dataset } from './model.js';
import { FLAG } from '../analyses/view/flags.js';

/** The page's filters. Facet selections are OR within a facet and AND across facets and filters. */
export interface Filters {
  /** Facet id → selected raw values (a facet the dataset does not have is ignored). */
  facets: Record<string, string[]>;
  /** Free text: every whitespace-separated term must occur (case-insensitive) in one of the row's texts. */
  q: string;
  /** Time range [from, to) in epoch ms; null: open. */
  from: number | null;
  to: number | null;
  /** FLAG bits every selected row must have (denied, write, human). */
  require: number;
}

export const NO_FILTERS: Filters = { facets: {}, q: '', from: null, to: null, require: 0 };

export interface Result {
  /** Selected rows, oldest first. */
  rows: Int32Array;
  /** 1 for each selected row, by row index (exports walk it in row order). */
  mask: Uint8Array;
  /** Per facet (dataset order): count per code. */
  counts: Int32Array[];
  /** Per bin: rows, and rows with the denied flag. */
  hist: Int32Array;
  histDenied: Int32Array;
}

/** Terms of a free-text query, lower-cased. */
export function terms(q: string): string[] {
  return q.toLowerCase().split(/\s+/).filter(Boolean);
}

/** The column's texts in lower case (computed once). */
export function lowerCase(col: Dataset['text'][number]): string[] {
  return (col.lower ??= col.dict.map((s) => s.toLowerCase()));
}

/** Rows or texts handled between two pauses of textSearch. */
const SLICE = 32768;

/**
 * The free-text search in slices: 1 per row whose texts hold every term (null: no term). Pauses
 * (yields) every SLICE texts or rows, so that a caller can spread a search over several tasks and
 * never hold the page for long. Cost: one substring test per distinct text and term.
 */
export function* textSearch(ds: Dataset, q: string): Generator<void, Uint8Array | null> {
  const ts = terms(q);
  if (ts.length === 0) return null;
  let pass: Uint8Array | null = null;
  for (const term of ts) {
    const hit = new Uint8Array(ds.n);
    for (const col of ds.text) {
      const lower = lowerCase(col);
      yield;
      const m = new Uint8Array(lower.length);
      let any = false;
      for (let j = 0; j < lower.length; j++) {
        if (lower[j]!.includes(term)) {
          m[j] = 1;
          any = true;
        }
        if ((j + 1) % SLICE === 0) yield;
      }
      if (!any) continue;
      const codes = col.codes;
      for (let i = 0; i < ds.n; i++) {
        if (m[codes[i]!]) hit[i] = 1;
        if ((i + 1) % (SLICE * 4) === 0) yield;
      }
    }
    if (pass === null) pass = hit;
    else for (let i = 0; i < ds.n; i++) pass[i]! &= hit[i]!;
  }
  return pass;
}

/** textSearch in one go. */
export function textMatch(ds: Dataset, q: string): Uint8Array | null {
  const it = textSearch(ds, q);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** Which codes of each facet the filters allow (null: the facet is not filtered). */
export function allowedCodes(ds: Dataset, f: Filters): (Uint8Array | null)[] {
  return ds.facets.map((fc) => {
    const want = f.facets[fc.id];
    if (!want || want.length === 0) return null;
    const set = new Set(want);
    const ok = new Uint8Array(fc.values.length);
    for (let j = 0; j < fc.values.length; j++) if (set.has(fc.values[j]!)) ok[j] = 1;
    return ok;
  });
}

const TIME = 126;
const OTHER = 127;

/**
 * Runs the filters over the dataset. `text` is textMatch(ds, f.q), passed in so that a caller can
 * keep it while only other filters change. Column by column: each filter marks the rows it fails
 * (how many filters a row fails, up to 2, and which one when only one), then each facet counts the
 * rows that fail no filter but its own.
 */
export function run(ds: Dataset, f: Filters, text: Uint8Array | null): Result {
  const n = ds.n;
  const fails = new Uint8Array(n);
  const which = new Uint8Array(n);
  const fail = (i: number, k: number): void => {
    if (fails[i]! < 2) fails[i]!++;
    which[i] = k;
  };
  const allowed = allowedCodes(ds, f);
  allowed.forEach((ok, k) => {
    if (!ok) return;
    const codes = ds.facets[k]!.codes;
    for (let i = 0; i < n; i++) if (!ok[codes[i]!]) fail(i, k);
  });
  const req = f.require;
  if (req !== 0) {
    const flags = ds.flags;
    for (let i = 0; i < n; i++) if ((flags[i]! & req) !== req) fail(i, OTHER);
  }
  if (text !== null) for (let i = 0; i < n; i++) if (!text[i]) fail(i, OTHER);
  if (f.from !== null || f.to !== null) {
    const from = f.from ?? -Infinity;
    const to = f.to ?? Infinity;
    const time = ds.time;
    for (let i = 0; i < n; i++) {
      const t = time[i]!;
      if (!(t >= from && t < to)) fail(i, TIME);
    }
  }
  const counts = ds.facets.map((fc, k) => {
    const c = new Int32Array(fc.values.length);
    const codes = fc.codes;
    for (let i = 0; i < n; i++) if (fails[i] === 0 || (fails[i] === 1 && which[i] === k)) c[codes[i]!]!++;
    return c;
  });
  const hist = new Int32Array(ds.bins.count);
  const histDenied = new Int32Array(ds.bins.count);
  const bins = ds.bins.of;
  const flags = ds.flags;
  for (let i = 0; i < n; i++) {
    if (fails[i] === 0 || (fails[i] === 1 && which[i] === TIME)) {
      const b = bins[i]!;
      if (b < 0) continue;
      hist[b]!++;
      if (flags[i]! & FLAG.denied) histDenied[b]!++;
    }
  }
  const mask = new Uint8Array(n);
  let selected = 0;
  for (let i = 0; i < n; i++) {
    if (fails[i] === 0) {
      mask[i] = 1;
      selected++;
    }
  }
  const rows = new Int32Array(selected);
  let k = 0;
  const order = ds.order;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    if (mask[i]) rows[k++] = i;
  }
  return { rows, mask, counts, hist, histDenied };
}
