// `audit investigate`: the filtered records (listing), counts grouped by fields, or a timeline.
// Group-by and timeline are reducers (bounded by distinct keys / buckets); the listing keeps only
// what it will print (the first N, or the top N by --sort).
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { RECORD_FIELDS } from '../../render/records.js';
import { UsageError } from '../../util/errors.js';
import { cmp } from '../../util/counter.js';
import { widenSpan, mergeSpan } from '../../util/span.js';
import { ExternalSorter } from '../../scale/extsort.js';
import { RECORD_CODEC } from '../../normalize/spill.js';
import { absorb, drain, grow, newSpillMap, type SpillMap, type SpillSpec } from '../../scale/spillmap.js';
import { ENTRY_BYTES, OBJECT_BYTES, strBytes } from '../../scale/budget.js';
import { tupleKey, untupleKey } from '../../util/key.js';
import { numIn, numOut, type LineCodec } from '../../scale/codec.js';
import { mapRows, rowsOf, type Rows } from '../../scale/lazy.js';
import { DEFAULT_K, DEFAULT_PRECISION, bounds, heavyAdd, heavyMerge, heavyTop, hllAdd, hllError, hllEstimate, hllMerge, newHeavyHitters, newHll, type CountBounds, type DistinctEstimate, type HeavyHitters, type Hll } from '../../scale/sketch/index.js';

/** Friendlier names accepted wherever a field is named (--fields, --sort, --group-by). */
export const FIELD_ALIASES: Readonly<Record<string, keyof AuditRecord>> = {
  user: 'subject',
  date: 'time',
  status: 'code',
  ip: 'sourceIP',
  ua: 'userAgent',
  method: 'accessMethod',
  group: 'apiGroup',
  id: 'auditID',
};

export function resolveField(flag: string, name: string): keyof AuditRecord {
  const f = (FIELD_ALIASES[name] ?? name) as keyof AuditRecord;
  if (!(RECORD_FIELDS as readonly string[]).includes(f)) {
    throw new UsageError(`${flag}: unknown field ${JSON.stringify(name)}`, `use record fields (${RECORD_FIELDS.join(', ')}) or ${Object.keys(FIELD_ALIASES).join(', ')}`);
  }
  return f;
}

export function fieldText(r: AuditRecord, f: keyof AuditRecord): string {
  const v = r[f];
  if (Array.isArray(v)) return v.join(';');
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  return String(v);
}

// ---------- group-by ----------

export interface GroupRow {
  key: Record<string, string>;
  count: number;
  denied: number;
  first: string;
  last: string;
}

/** One group's counts while reading; its field values are its key's parts (tupleKey, untupleKey). */
export interface GroupAgg {
  count: number;
  denied: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
}

/**
 * A group of --group-by --approx: its requests and denied requests as ranges that hold the true
 * counts; first and last seen among the requests counted while the group was listed (when the count
 * is a range, the group may have requests before `first` or after `last`).
 */
export interface ApproxGroupRow {
  key: Record<string, string>;
  count: CountBounds;
  denied: CountBounds;
  first: string;
  last: string;
}

/** What --group-by --approx keeps per listed group (heavy hitters' payload). */
export interface ApproxGroupAgg {
  values: string[];
  denied: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
}

export interface GroupState {
  fields: (keyof AuditRecord)[];
  /** Groups by tupleKey(values): in memory up to the budget, spilled past it (src/scale/spillmap.ts). */
  groups: SpillMap<GroupAgg>;
  /** --approx: heavy hitters and a distinct count instead (`groups` stays empty); null: exact. */
  approx: { top: HeavyHitters<ApproxGroupAgg>; distinct: Hll } | null;
}

/** How --group-by --approx counted, and the bounds that hold (see ApproxGroupRow). */
export interface GroupApproximation {
  top: {
    method: 'misra-gries';
    /** Groups kept (k); the listed groups are at most 2k. */
    counters: number;
    /** The most requests any group not listed can have (0: every count is exact). */
    unlistedMax: number;
  };
  distinct: { method: 'hyperloglog'; registers: number; relativeStandardError: number };
}

export interface GroupReport {
  kind: 'kaudit.investigate.groups';
  version: 1;
  input: InputAccounting;
  groupBy: string[];
  /**
   * Every group, most requests first; `groups.length` is the exact number of groups. With --approx:
   * the groups the sketch lists (ApproxGroupRow, most guaranteed requests first), and `distinct`
   * says how many groups there are.
   */
  groups: Rows<GroupRow> | readonly ApproxGroupRow[];
  /** With --approx: the number of groups (an estimate with its relative standard error). */
  distinct?: DistinctEstimate;
  /** Present with --approx only. */
  approximate?: GroupApproximation;
}

function mergeGroup(a: GroupAgg, b: GroupAgg): GroupAgg {
  a.count += b.count;
  a.denied += b.denied;
  mergeSpan(a, b);
  return a;
}

/** Two time strings as the log writes them (first and last seen: one string until a second request). */
const SPAN_BYTES = 2 * strBytes('2026-03-02T00:00:00.000000Z');

/** A group in the map: its key, the entry, the object with its six fields, its two time strings. */
function groupBytes(key: string): number {
  return strBytes(key) + ENTRY_BYTES + OBJECT_BYTES + 48 + SPAN_BYTES;
}

/**
 * A group in a spilled run, by position (issue 15: a million distinct users spill a million
 * groups, and the generic codec walks each value before it stringifies it):
 * `[KEY, COUNT, DENIED, FIRST_MS, FIRST, LAST_MS, LAST]`, the times' ms through numOut (±Infinity
 * before a request with a time). decode(encode(e)) deep-equals e, fields in GroupAgg's order.
 */
export const GROUP_CODEC: LineCodec<[string, GroupAgg]> = {
  encode: ([k, g]) => JSON.stringify([k, g.count, g.denied, numOut(g.firstMs), g.first, numOut(g.lastMs), g.last]),
  decode(line) {
    const a = JSON.parse(line) as [string, number, number, number | string, string, number | string, string];
    return [a[0], { count: a[1], denied: a[2], firstMs: numIn(a[3]), first: a[4], lastMs: numIn(a[5]), last: a[6] }];
  },
};

const GROUPS: SpillSpec<GroupAgg> = { tag: 'groups', merge: mergeGroup, size: groupBytes, codec: GROUP_CODEC };

/**
 * A group on its way to the output order (finish, topGroups): `j` is its values joined by NUL (the
 * order's tie-break), `v` the values themselves, only when one of them holds a NUL (else they are
 * `j` split at NUL); no first/last ms, which only the merge needed.
 */
export interface GroupItem {
  j: string;
  v?: string[];
  count: number;
  denied: number;
  first: string;
  last: string;
}

function groupItem(key: string, g: GroupAgg): GroupItem {
  // tupleKey: NUL, the number of parts, NUL, the parts joined by NUL; a JSON array when a part holds NUL.
  if (key.charCodeAt(0) === 0) return { j: key.slice(key.indexOf('\u0000', 1) + 1), count: g.count, denied: g.denied, first: g.first, last: g.last };
  const v = untupleKey(key);
  return { j: v.join('\u0000'), v, count: g.count, denied: g.denied, first: g.first, last: g.last };
}

/**
 * A group on its way to the output order, in a spilled run: `[J, COUNT, DENIED, FIRST, LAST]`, and
 * V after them when the item has one. decode(encode(x)) deep-equals x.
 */
export const GROUP_ITEM_CODEC: LineCodec<GroupItem> = {
  encode: (x) => JSON.stringify(x.v ? [x.j, x.count, x.denied, x.first, x.last, x.v] : [x.j, x.count, x.denied, x.first, x.last]),
  decode(line) {
    const a = JSON.parse(line) as [string, number, number, string, string, string[]?];
    return a.length > 5 ? { j: a[0], v: a[5]!, count: a[1], denied: a[2], first: a[3], last: a[4] } : { j: a[0], count: a[1], denied: a[2], first: a[3], last: a[4] };
  },
};

function itemBytes(x: GroupItem): number {
  return strBytes(x.j) + OBJECT_BYTES + 48 + SPAN_BYTES + (x.v ? strBytes(x.j) + 64 : 0);
}

/** Most requests first, then by the values joined by NUL (code-unit order). */
function groupOrder(x: GroupItem, y: GroupItem): number {
  return y.count - x.count || cmp(x.j, y.j);
}

function groupRow(fields: readonly (keyof AuditRecord)[], x: GroupItem): GroupRow {
  const values = x.v ?? (fields.length === 1 ? [x.j] : x.j.split('\u0000'));
  return { key: Object.fromEntries(fields.map((f, i) => [f, values[i]!])), count: x.count, denied: x.denied, first: x.first, last: x.last };
}

function mergeApproxGroup(a: ApproxGroupAgg, b: ApproxGroupAgg): ApproxGroupAgg {
  a.denied += b.denied;
  mergeSpan(a, b);
  return a;
}

export interface GroupOptions {
  fields: (keyof AuditRecord)[];
  /** --approx: heavy hitters (src/scale/sketch/heavy.ts) in fixed memory instead of every group. */
  approx?: boolean;
  /** With approx: groups kept (k, default DEFAULT_K; up to 2k are held); more is tighter and larger. */
  counters?: number;
}

export const groupBy: Reducer<GroupState, GroupReport, GroupOptions> = {
  init: (o) => ({ fields: o.fields, groups: newSpillMap(), approx: o.approx ? { top: newHeavyHitters<ApproxGroupAgg>(o.counters ?? DEFAULT_K), distinct: newHll() } : null }),
  add(s, r) {
    const values = s.fields.map((f) => fieldText(r, f));
    const key = tupleKey(values);
    if (s.approx) {
      const x = heavyAdd(s.approx.top, key, () => ({ values, denied: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '' })).x;
      if (r.decision === 'forbid') x.denied++;
      widenSpan(x, r.timeMs, r.time);
      hllAdd(s.approx.distinct, key);
      return;
    }
    let g = s.groups.map.get(key);
    if (!g) {
      s.groups.map.set(key, (g = { count: 0, denied: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '' }));
      grow(s.groups, GROUPS, groupBytes(key));
    }
    g.count++;
    if (r.decision === 'forbid') g.denied++;
    widenSpan(g, r.timeMs, r.time);
  },
  merge(a, b) {
    absorb(a.groups, b.groups, GROUPS);
    if (a.approx && b.approx) {
      heavyMerge(a.approx.top, b.approx.top, mergeApproxGroup);
      hllMerge(a.approx.distinct, b.approx.distinct);
    } else if (a.approx || b.approx) throw new Error('investigate --group-by: cannot merge an --approx state with an exact one');
    return a;
  },
  finish(s, ctx: FinishContext) {
    const fields = s.fields;
    if (s.approx) {
      const hh = s.approx.top;
      const rows = heavyTop(hh, Infinity).map(({ entry }): ApproxGroupRow => {
        const count = bounds(hh, entry);
        const x = entry.x;
        const slack = count.upper - count.lower;
        return { key: Object.fromEntries(fields.map((f, i) => [f, x.values[i]!])), count, denied: { lower: x.denied, upper: Math.min(count.upper, x.denied + slack) }, first: x.first, last: x.last };
      });
      const distinct = hllEstimate(s.approx.distinct);
      // The distinct count never says fewer groups than are listed (each listed group was seen).
      if (distinct.estimate < rows.length) distinct.estimate = rows.length;
      return {
        kind: 'kaudit.investigate.groups',
        version: 1,
        input: ctx.input,
        groupBy: fields,
        groups: rows,
        distinct,
        approximate: {
          top: { method: 'misra-gries', counters: hh.k, unlistedMax: hh.delta },
          distinct: { method: 'hyperloglog', registers: 2 ** DEFAULT_PRECISION, relativeStandardError: hllError(DEFAULT_PRECISION) },
        },
      };
    }
    // Merged by key, then sorted by count: both steps spill past the budget.
    const sorter = new ExternalSorter<GroupItem>({ compare: groupOrder, size: itemBytes, tag: 'groups-sorted', codec: GROUP_ITEM_CODEC });
    for (const [key, g] of drain(s.groups, GROUPS)) sorter.add(groupItem(key, g));
    return {
      kind: 'kaudit.investigate.groups',
      version: 1,
      input: ctx.input,
      groupBy: s.fields,
      groups: mapRows(rowsOf(sorter), (x) => groupRow(fields, x)),
    };
  },
};

/**
 * What a table of exact groups shows: the first `groups.length` groups in the order of
 * groupBy.finish (most requests first), and the number of groups in all (exact).
 */
export interface GroupTopReport {
  kind: 'kaudit.investigate.groups';
  version: 1;
  input: InputAccounting;
  groupBy: string[];
  groups: GroupRow[];
  /** Groups in all (the length of finish()'s `groups`). */
  total: number;
}

/**
 * The `n` groups with the most requests, exactly finish()'s first `n` (same order, ties included),
 * and the exact number of groups, without ordering them all: the groups are merged by key
 * (spilled runs included) and pass a top-`n` selection (an ExternalSorter with `keep`, which holds
 * at most 2n + 1024 of them). For tables and Markdown, which show a few. Exact states only (an
 * --approx state lists its groups with finish()); consumes the state.
 */
export function topGroups(s: GroupState, ctx: FinishContext, n: number): GroupTopReport {
  if (s.approx) throw new Error('topGroups: an --approx state lists its groups with finish()');
  const sorter = new ExternalSorter<GroupItem>({ compare: groupOrder, size: itemBytes, keep: n, tag: 'groups-top', codec: GROUP_ITEM_CODEC });
  let total = 0;
  for (const [key, g] of drain(s.groups, GROUPS)) {
    total++;
    sorter.add(groupItem(key, g));
  }
  const groups: GroupRow[] = [];
  for (const x of sorter.sorted()) groups.push(groupRow(s.fields, x));
  return { kind: 'kaudit.investigate.groups', version: 1, input: ctx.input, groupBy: s.fields, groups, total };
}

// ---------- timeline ----------

export { timeline, type TimelineReport, type TimelineState, type Bucket } from './timeline.js';

// ---------- listing ----------

export interface SortSpec {
  field: keyof AuditRecord;
  descending: boolean;
}

export function parseSort(spec: string): SortSpec {
  const descending = spec.startsWith('-');
  return { field: resolveField('--sort', descending ? spec.slice(1) : spec), descending };
}

export function compareBy(s: SortSpec): (a: AuditRecord, b: AuditRecord) => number {
  const f = s.field;
  const dir = s.descending ? -1 : 1;
  return (a, b) => {
    const x = a[f];
    const y = b[f];
    let c: number;
    if (typeof x === 'number' || typeof y === 'number' || x === null || y === null) c = ((x as number) ?? -Infinity) - ((y as number) ?? -Infinity) || 0;
    else c = cmp(fieldText(a, f), fieldText(b, f));
    // Ties keep a stable, input-independent order: by time, then auditID.
    return dir * c || a.timeMs - b.timeMs || cmp(a.auditID, b.auditID);
  };
}

/** Estimated heap bytes of a record held for sorting (its strings, its groups, the object). */
export function recordBytes(r: AuditRecord): number {
  let n = 640;
  for (const f of RECORD_FIELDS) {
    const v = r[f];
    if (typeof v === 'string') n += 2 * v.length;
  }
  for (const g of r.groups) n += 24 + 2 * g.length;
  return n;
}

/**
 * Keeps the first `limit` records, or the first `limit` by `sort`, in bounded memory: without
 * --sort the first `limit` are kept as they come; with it, an external sort (src/scale/extsort.ts)
 * holds what the budget allows and spills sorted runs past it, so `--sort` works on any volume.
 * Records that come in order already (a log sorted by time, asked for `--sort time`) are written
 * once to a run of their own rather than sorted (SortOptions.inOrder); runs hold records as flat
 * lines (src/normalize/spill.ts RECORD_CODEC). Records are held without their bodies. Read the result once: finish() (an array, for small
 * limits) or sorted() (a stream).
 */
export class Listing {
  records: AuditRecord[] = [];
  matched = 0;
  private readonly sorter: ExternalSorter<AuditRecord> | null;
  constructor(
    private readonly limit: number,
    sort: SortSpec | null,
  ) {
    this.sorter = sort ? new ExternalSorter<AuditRecord>({ compare: compareBy(sort), size: recordBytes, keep: limit, tag: 'sort', codec: RECORD_CODEC, inOrder: true, holdInOrder: true }) : null;
  }
  add(r: AuditRecord): void {
    this.matched++;
    if (!this.sorter) {
      if (this.records.length < this.limit) this.records.push(r);
      return;
    }
    if (r.requestObject !== undefined) r.requestObject = undefined;
    if (r.responseObject !== undefined) r.responseObject = undefined;
    this.sorter.add(r);
  }
  /** The kept records, in order, one at a time. */
  sorted(): Iterable<AuditRecord> {
    return this.sorter ? this.sorter.sorted() : this.records;
  }
  /** The kept records as an array (for a bounded limit). */
  finish(): AuditRecord[] {
    if (this.sorter) this.records = [...this.sorter.sorted()];
    return this.records;
  }
  /** Drops what is held (after an error). */
  dispose(): void {
    this.sorter?.dispose();
    this.records = [];
  }
}
