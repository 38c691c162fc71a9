// `audit summary`: the first look at a log. A pure reducer over normalized records.
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { bump, mergeCounter, sortedCounts, type Count, type Counter } from '../../util/counter.js';
import { isLongRunning } from '../../rules/longrunning.js';
import { isCompleted } from '../../normalize/collapse.js';
import { newHistogram, bucketOf, recordBucket, mergeHistogram, percentiles, type Histogram } from '../../util/histogram.js';
import { absorb, discard, drain, grow, newSpillMap, type SpillMap, type SpillSpec } from '../../scale/spillmap.js';
import { ENTRY_BYTES, strBytes } from '../../scale/budget.js';
import { approxCount, approxMerge, approxResult, newApproxCounter, type ApproxCount, type ApproxCounter, type DistinctEstimate, DEFAULT_K, hllError, DEFAULT_PRECISION } from '../../scale/sketch/index.js';

/**
 * Counts keyed by data of any cardinality (subjects, resources, URLs, namespaces, clients): a
 * spilling map (src/scale/spillmap.ts) whose partial counts are summed at the end, so a million
 * distinct subjects cost disk past the memory budget, and the top-N stays exact (issue 15).
 */
export type SpillCounter = SpillMap<number>;

const COUNTS: SpillSpec<number> = { tag: 'counts', merge: (a, b) => a + b, size: (k) => strBytes(k) + ENTRY_BYTES + 16 };

function count(c: SpillCounter, key: string): void {
  const n = c.map.get(key);
  if (n === undefined) {
    c.map.set(key, 1);
    grow(c, COUNTS, COUNTS.size(key, 1));
  } else c.map.set(key, n + 1);
}

/**
 * The `limit` largest counts (count descending, then key in code-unit order: sortedCounts' order),
 * exact, and how many distinct keys there are (exact), read from the spilled runs with memory for
 * about 2 × limit entries. Consumes the counter.
 */
export function topCounts(c: SpillCounter, limit: number): { top: Count[]; distinct: number } {
  const order = (x: Count, y: Count): number => y.count - x.count || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0);
  let buf: Count[] = [];
  let distinct = 0;
  const keep = (key: string, n: number): void => {
    distinct++;
    // Past `limit` kept, a count below the smallest kept one cannot enter the top: skip it.
    buf.push({ key, count: n });
    if (limit !== Infinity && buf.length >= 2 * limit + 1024) buf = buf.sort(order).slice(0, limit);
  };
  if (c.runs.length === 0) {
    // Nothing spilled: read the map in place (draining would copy and sort every entry).
    for (const [key, n] of c.map) keep(key, n);
    discard(c);
  } else for (const [key, n] of drain(c, COUNTS)) keep(key, n);
  buf.sort(order);
  return { top: limit < buf.length ? buf.slice(0, limit) : buf, distinct };
}

export interface SummaryOptions {
  /** Entries per top-N list. */
  top: number;
  /**
   * --approx: count subjects, resources, non-resource URLs, namespaces and clients with sketches in
   * fixed memory (src/scale/sketch: Misra–Gries top-N with per-entry bounds, HyperLogLog distinct
   * counts) instead of exactly with spilling. Absent: exact.
   */
  approx?: boolean;
  /** With approx: counters kept per list (k; default max(DEFAULT_K, 4 × top)); more is tighter and larger. */
  counters?: number;
}

/** The lists summary counts per key of any cardinality (the others have a handful of keys). */
export const KEYED = ['subjects', 'resources', 'nonResourceURLs', 'namespaces', 'clients'] as const;
export type Keyed = (typeof KEYED)[number];

/** How the approximate lists were made and the bounds that hold for them (--approx). */
export interface SummaryApproximation {
  /** Top-N lists: Misra–Gries heavy hitters; each entry's true count lies in [lower, upper]. */
  top: {
    method: 'misra-gries';
    /** Counters kept per list (k): the bound below is at most requests / (k + 1). */
    counters: number;
    /** Per list: the most requests any key not listed can have (0: the list is exact). */
    unlistedMax: Record<Keyed, number>;
  };
  /** Distinct counts: HyperLogLog, exact while small (relativeStandardError 0 then). */
  distinct: {
    method: 'hyperloglog';
    registers: number;
    /** 1.04/√registers: one standard error of an estimate, as a fraction of it. */
    relativeStandardError: number;
  };
}

export interface SummaryState {
  top: number;
  requests: number;
  denied: number;
  unauthenticated: number;
  from: number;
  fromStr: string;
  to: number;
  toStr: string;
  subjects: SpillCounter;
  subjectKinds: Counter;
  verbs: Counter;
  resources: SpillCounter;
  nonResourceURLs: SpillCounter;
  namespaces: SpillCounter;
  clients: SpillCounter;
  accessMethods: Counter;
  status: Counter;
  latency: Histogram;
  latencyByVerb: Map<string, Histogram>;
  /** --approx: the keyed lists as sketches (the spilling counters above stay empty); null: exact. */
  approx: Record<Keyed, ApproxCounter> | null;
}

export interface LatencyRow {
  verb: string;
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SummaryReport {
  kind: 'kaudit.summary';
  version: 1;
  input: InputAccounting;
  window: { from: string | null; to: string | null };
  requests: number;
  denied: number;
  /** Requests audited before any identity was established (failed authentication, 401): subjectKind Unauthenticated. */
  unauthenticated: number;
  status: Count[];
  top: {
    /** With --approx: ApproxCount entries ({key, count: {lower, upper}}: the true count lies between). */
    subjects: Count[] | ApproxCount[];
    subjectKinds: Count[];
    verbs: Count[];
    resources: Count[] | ApproxCount[];
    nonResourceURLs: Count[] | ApproxCount[];
    namespaces: Count[] | ApproxCount[];
    clients: Count[] | ApproxCount[];
    accessMethods: Count[];
  };
  /**
   * How many distinct keys each keyed list has (the top-N shows the first --top of them): exact
   * numbers, or with --approx estimates with their relative standard error.
   */
  distinct: Record<Keyed, number> | Record<Keyed, DistinctEstimate>;
  latency: { overall: LatencyRow; byVerb: LatencyRow[] };
  /** Present with --approx only: the methods and the bounds that hold for every approximate number. */
  approximate?: SummaryApproximation;
}

/**
 * The last keys resourceKey made, direct-mapped by the lengths of their parts: a log names a
 * handful of resources, whose strings the field extractor hands out again and again (interned), so
 * that a hit is three comparisons where making the key would build a new string for the counting
 * Map to hash.
 */
const KEY_SLOTS = 64;
const keyResource: string[] = new Array<string>(KEY_SLOTS).fill('');
const keyGroup: string[] = new Array<string>(KEY_SLOTS).fill('');
const keySub: string[] = new Array<string>(KEY_SLOTS).fill('');
const keyMade: string[] = new Array<string>(KEY_SLOTS).fill('');

/** `deployments.apps/scale`-style key: resource[.group][/subresource]. */
export function resourceKey(r: AuditRecord): string {
  const resource = r.resource;
  const group = r.apiGroup;
  const sub = r.subresource;
  const slot = (resource.length * 7 + group.length * 3 + sub.length + resource.charCodeAt(0)) & (KEY_SLOTS - 1);
  if (keyResource[slot] === resource && keyGroup[slot] === group && keySub[slot] === sub && keyMade[slot] !== '') return keyMade[slot]!;
  let k = group ? `${resource}.${group}` : resource;
  if (sub) k += `/${sub}`;
  keyResource[slot] = resource;
  keyGroup[slot] = group;
  keySub[slot] = sub;
  keyMade[slot] = k;
  return k;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

function statusClass(code: number): string {
  return code >= 100 && code < 600 ? STATUS_CLASSES[Math.floor(code / 100) - 1]! : 'none';
}

function latencyRow(verb: string, h: Histogram): LatencyRow {
  const [p50, p95, p99] = percentiles(h, [0.5, 0.95, 0.99]);
  return { verb, count: h.count, p50: p50!, p95: p95!, p99: p99! };
}

/** Counters of the keyed lists for --approx: k = max(DEFAULT_K, 4 × --top), so the top-N is drawn from many more candidates. */
function approxCounters(top: number, counters?: number): Record<Keyed, ApproxCounter> {
  const k = counters ?? Math.max(DEFAULT_K, 4 * Math.min(top, 1 << 20));
  return Object.fromEntries(KEYED.map((key) => [key, newApproxCounter(k)])) as Record<Keyed, ApproxCounter>;
}

export const summary: Reducer<SummaryState, SummaryReport, SummaryOptions> = {
  init(o) {
    return {
      top: o.top,
      requests: 0,
      denied: 0,
      unauthenticated: 0,
      from: Infinity,
      fromStr: '',
      to: -Infinity,
      toStr: '',
      subjects: newSpillMap(),
      subjectKinds: new Map(),
      verbs: new Map(),
      resources: newSpillMap(),
      nonResourceURLs: newSpillMap(),
      namespaces: newSpillMap(),
      clients: newSpillMap(),
      accessMethods: new Map(),
      status: new Map(),
      latency: newHistogram(),
      latencyByVerb: new Map(),
      approx: o.approx ? approxCounters(o.top, o.counters) : null,
    };
  },

  add(s, r) {
    s.requests++;
    if (r.timeMs < s.from) {
      s.from = r.timeMs;
      s.fromStr = r.time;
    }
    if (r.timeMs > s.to) {
      s.to = r.timeMs;
      s.toStr = r.time;
    }
    const a = s.approx;
    if (a) {
      approxCount(a.subjects, r.subject);
      if (r.resource) approxCount(a.resources, resourceKey(r));
      else approxCount(a.nonResourceURLs, r.nonResourceURL);
      approxCount(a.namespaces, r.namespace);
      approxCount(a.clients, r.client);
    } else {
      count(s.subjects, r.subject);
      if (r.resource) count(s.resources, resourceKey(r));
      else count(s.nonResourceURLs, r.nonResourceURL);
      count(s.namespaces, r.namespace);
      count(s.clients, r.client);
    }
    bump(s.subjectKinds, r.subjectKind);
    bump(s.verbs, r.verb);
    bump(s.accessMethods, r.accessMethod);
    bump(s.status, statusClass(r.code));
    if (r.decision === 'forbid') s.denied++;
    if (r.subjectKind === 'Unauthenticated') s.unauthenticated++;
    // Requests that never completed have no latency (their kept stage is not the completing one).
    if (r.durationMs !== null && !isLongRunning(r) && isCompleted(r)) {
      const bucket = bucketOf(r.durationMs);
      recordBucket(s.latency, bucket);
      let h = s.latencyByVerb.get(r.verb);
      if (!h) s.latencyByVerb.set(r.verb, (h = newHistogram()));
      recordBucket(h, bucket);
    }
  },

  merge(a, b) {
    a.requests += b.requests;
    a.denied += b.denied;
    a.unauthenticated += b.unauthenticated;
    if (b.from < a.from || (b.from === a.from && b.fromStr < a.fromStr)) {
      a.from = b.from;
      a.fromStr = b.fromStr;
    }
    if (b.to > a.to || (b.to === a.to && b.toStr > a.toStr)) {
      a.to = b.to;
      a.toStr = b.toStr;
    }
    for (const k of ['subjectKinds', 'verbs', 'accessMethods', 'status'] as const) mergeCounter(a[k], b[k]);
    for (const k of KEYED) absorb(a[k], b[k], COUNTS);
    if (a.approx && b.approx) for (const k of KEYED) approxMerge(a.approx[k], b.approx[k]);
    else if (a.approx || b.approx) throw new Error('summary: cannot merge an --approx state with an exact one');
    mergeHistogram(a.latency, b.latency);
    for (const [verb, h] of b.latencyByVerb) {
      const mine = a.latencyByVerb.get(verb);
      if (mine) mergeHistogram(mine, h);
      else a.latencyByVerb.set(verb, h);
    }
    return a;
  },

  finish(s, ctx: FinishContext) {
    const n = s.top;
    const lists = {} as Record<Keyed, Count[] | ApproxCount[]>;
    let approximate: SummaryApproximation | undefined;
    let distinct: Record<Keyed, number> | Record<Keyed, DistinctEstimate>;
    if (s.approx) {
      const d = {} as Record<Keyed, DistinctEstimate>;
      const unlistedMax = {} as Record<Keyed, number>;
      for (const k of KEYED) {
        const r = approxResult(s.approx[k], n);
        lists[k] = r.top;
        d[k] = r.distinct;
        unlistedMax[k] = r.unlistedMax;
      }
      distinct = d;
      approximate = {
        top: { method: 'misra-gries', counters: s.approx.subjects.top.k, unlistedMax },
        distinct: { method: 'hyperloglog', registers: 2 ** DEFAULT_PRECISION, relativeStandardError: hllError(DEFAULT_PRECISION) },
      };
    } else {
      const d = {} as Record<Keyed, number>;
      for (const k of KEYED) {
        const r = topCounts(s[k], n);
        lists[k] = r.top;
        d[k] = r.distinct;
      }
      distinct = d;
    }
    const byVerb = [...s.latencyByVerb].map(([verb, h]) => latencyRow(verb, h));
    byVerb.sort((x, y) => y.count - x.count || (x.verb < y.verb ? -1 : 1));
    return {
      kind: 'kaudit.summary',
      version: 1,
      input: ctx.input,
      window: { from: s.fromStr || null, to: s.toStr || null },
      requests: s.requests,
      denied: s.denied,
      unauthenticated: s.unauthenticated,
      status: sortedCounts(s.status).sort((x, y) => (x.key < y.key ? -1 : 1)),
      top: {
        subjects: lists.subjects,
        subjectKinds: sortedCounts(s.subjectKinds),
        verbs: sortedCounts(s.verbs, n),
        resources: lists.resources,
        nonResourceURLs: lists.nonResourceURLs,
        namespaces: lists.namespaces,
        clients: lists.clients,
        accessMethods: sortedCounts(s.accessMethods),
      },
      distinct,
      latency: { overall: latencyRow('(all)', s.latency), byVerb },
      ...(approximate ? { approximate } : {}),
    };
  },
};
