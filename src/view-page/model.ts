// The page's two datasets, API calls and commands, built once from the embedded data: the facet
// columns as integer codes, the text the search looks in, time order and histogram bins. Pure (no
// DOM), so the tests run it in Node too.
import { dictionaryCode, textAt, type Column, type Table } from '../analyses/view/columns.js';
import type { ViewData } from '../analyses/view/payload.js';

export type ViewKind = 'calls' | 'commands';

/** A multi-select filter on one column: the value of each row as a code into `values`. */
export interface Facet {
  /** Key in the URL fragment. */
  id: string;
  label: string;
  codes: Int32Array;
  /** Code → the raw value ('' included; the page shows it as "(none)"). */
  values: string[];
}

/** Strings the free-text search looks in: one code per row into `dict`. */
export interface TextColumn {
  codes: Int32Array;
  dict: string[];
  lower?: string[];
}

export interface Bins {
  /** Start of bin 0 (epoch ms) and the width of each bin. */
  start: number;
  step: number;
  count: number;
  /** Bin of each row; -1 for a row without a time. */
  of: Int32Array;
}

export interface Dataset {
  kind: ViewKind;
  n: number;
  /** Epoch ms of each row (a command's start); NaN when unknown. */
  time: Float64Array;
  flags: Uint8Array;
  facets: Facet[];
  text: TextColumn[];
  /** Row indices by time, oldest first (rows without a time first; ties in row order). */
  order: Int32Array;
  bins: Bins;
}

const EMPTY: Column = { kind: 'str', dict: [''], codes: new Int32Array(0), nums: new Float64Array(0), isNull: new Uint8Array(0) };

function column(t: Table, name: string): Column {
  return t.col[name] ?? EMPTY;
}

/** A string column as it is (shares the decoded codes). */
function direct(t: Table, name: string): { codes: Int32Array; dict: string[] } {
  const c = column(t, name);
  if (c.kind === 'str' && c.codes.length === t.n) return { codes: c.codes, dict: c.dict as string[] };
  return derive(t.n, (i) => stringOf(c, i));
}

function stringOf(c: Column, i: number): string {
  if (c === EMPTY) return '';
  if (c.kind === 'str') return textAt(c, i);
  if (c.kind === 'num') return c.isNull[i] || !Number.isFinite(c.nums[i]!) ? '' : String(c.nums[i]);
  const j = c.codes[i] ?? -1;
  const v = j < 0 ? undefined : c.dict[j];
  return v === undefined || v === null ? '' : Array.isArray(v) ? v.join(' ') : String(v);
}

/** A derived string column, dictionary-coded. */
export const derive = dictionaryCode;

function facet(id: string, label: string, c: { codes: Int32Array; dict: string[] }): Facet {
  return { id, label, codes: c.codes, values: c.dict };
}

/** `pods/log`, `deployments`, or the non-resource URL (`/healthz`). */
function resourceLabel(resource: string, subresource: string, url: string): string {
  return resource ? (subresource ? `${resource}/${subresource}` : resource) : url;
}

const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000].map((s) => s * 1000);
const MAX_BINS = 120;

/** Histogram bins over the rows' time range: the narrowest round width that needs at most 120 bins. */
export function makeBins(time: Float64Array): Bins {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < time.length; i++) {
    const t = time[i]!;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  const of = new Int32Array(time.length).fill(-1);
  if (lo === Infinity) return { start: 0, step: 1000, count: 0, of };
  let step = STEPS[STEPS.length - 1]!;
  for (const s of STEPS) {
    if (Math.floor(hi / s) - Math.floor(lo / s) + 1 <= MAX_BINS) {
      step = s;
      break;
    }
  }
  while (Math.floor(hi / step) - Math.floor(lo / step) + 1 > MAX_BINS) step *= 2;
  const start = Math.floor(lo / step) * step;
  for (let i = 0; i < time.length; i++) {
    const t = time[i]!;
    if (t === t) of[i] = Math.floor((t - start) / step);
  }
  return { start, step, count: Math.floor((hi - start) / step) + 1, of };
}

/** Row indices by time (NaN first), ties in row order. */
export function timeOrder(time: Float64Array): Int32Array {
  const idx = new Int32Array(time.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const key = (i: number): number => (time[i]! === time[i]! ? time[i]! : -Infinity);
  // Logs are nearly in time order already: check before sorting.
  let sorted = true;
  for (let i = 1; i < idx.length && sorted; i++) if (key(i) < key(i - 1)) sorted = false;
  return sorted ? idx : idx.sort((a, b) => key(a) - key(b) || a - b);
}

function numbers(t: Table, name: string): Float64Array {
  const c = column(t, name);
  if (c.kind === 'num' && c.nums.length === t.n) return c.nums;
  return new Float64Array(t.n).fill(NaN);
}

/** Facets of each view, as [URL key, label, field]; `$resource` and `$status` are derived columns. */
const FACETS: Record<ViewKind, readonly (readonly [string, string, string])[]> = {
  calls: [
    ['user', 'User', 'subject'],
    ['cluster', 'Cluster', 'cluster'],
    ['ns', 'Namespace', 'namespace'],
    ['resource', 'Resource', '$resource'],
    ['access', 'Access method', 'accessMethod'],
    ['verb', 'Verb', 'verb'],
    ['status', 'Status', '$status'],
    ['ip', 'Source IP', 'sourceIP'],
    ['client', 'Client', 'client'],
  ],
  commands: [
    ['user', 'User', 'user'],
    ['cluster', 'Cluster', 'cluster'],
    ['ns', 'Namespace', 'namespace'],
    ['resource', 'Resource', '$resource'],
    ['access', 'Access method', 'accessMethod'],
    ['type', 'Command', 'type'],
    ['status', 'Status', '$status'],
    ['ip', 'Source IP', 'sourceIP'],
    ['client', 'Client', 'client'],
  ],
};

/** Fields the free-text search looks in. */
const TEXT: Record<ViewKind, readonly string[]> = {
  calls: ['subject', 'impersonator', 'cluster', 'namespace', 'resource', 'subresource', 'name', 'nonResourceURL', 'verb', 'requestURI', 'sourceIP', 'userAgent', 'client', 'auditID', 'principal', 'accessMethod', '$status'],
  commands: ['command', 'user', 'cluster', 'namespace', 'resource', 'subresource', 'name', 'type', 'client', 'clientVersion', 'userAgent', 'sourceIP', 'ambiguous', 'accessMethod', '$status', 'auditIDs'],
};

/** Where each view keeps its time, status and non-resource URL. */
const SHAPE: Record<ViewKind, { time: string; status: string; url: string }> = {
  calls: { time: 'timeMs', status: 'code', url: 'nonResourceURL' },
  commands: { time: 'startMs', status: 'status', url: '' },
};

function dataset(kind: ViewKind, t: Table, flags: Uint8Array): Dataset {
  const n = t.n;
  const shape = SHAPE[kind];
  const time = numbers(t, shape.time);
  const res = column(t, 'resource');
  const sub = column(t, 'subresource');
  const url = shape.url ? column(t, shape.url) : EMPTY;
  const statusCol = column(t, shape.status);
  const derived: Record<string, { codes: Int32Array; dict: string[] }> = {
    $resource: derive(n, (i) => resourceLabel(stringOf(res, i), stringOf(sub, i), stringOf(url, i))),
    $status: derive(n, (i) => stringOf(statusCol, i)),
  };
  const col = (f: string): { codes: Int32Array; dict: string[] } => derived[f] ?? direct(t, f);
  return {
    kind,
    n,
    time,
    flags,
    facets: FACETS[kind].map(([id, label, f]) => facet(id, label, col(f))),
    text: TEXT[kind].map((f) => col(f)),
    order: timeOrder(time),
    bins: makeBins(time),
  };
}

export function callsDataset(d: ViewData): Dataset {
  return dataset('calls', d.records, d.flags);
}

export function commandsDataset(d: ViewData): Dataset {
  return dataset('commands', d.commands, d.commandFlags);
}
