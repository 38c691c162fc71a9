// `audit summary`: the first look at a log. A pure reducer over normalized records.
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { bump, mergeCounter, sortedCounts, type Count, type Counter } from '../../util/counter.js';
import { isLongRunning } from '../../rules/longrunning.js';
import { isCompleted } from '../../normalize/collapse.js';
import { newHistogram, record, mergeHistogram, percentiles, type Histogram } from '../../util/histogram.js';
import { absorb, drain, grow, newSpillMap, type SpillMap, type SpillSpec } from '../../scale/spillmap.js';
import { ENTRY_BYTES, strBytes } from '../../scale/budget.js';

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
 * exact, read from the spilled runs with memory for about 2 × limit entries. Consumes the counter.
 */
export function topCounts(c: SpillCounter, limit: number): Count[] {
  const order = (x: Count, y: Count): number => y.count - x.count || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0);
  let buf: Count[] = [];
  for (const [key, n] of drain(c, COUNTS)) {
    buf.push({ key, count: n });
    if (limit !== Infinity && buf.length >= 2 * limit + 1024) buf = buf.sort(order).slice(0, limit);
  }
  buf.sort(order);
  return limit < buf.length ? buf.slice(0, limit) : buf;
}

export interface SummaryOptions {
  /** Entries per top-N list. */
  top: number;
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
    subjects: Count[];
    subjectKinds: Count[];
    verbs: Count[];
    resources: Count[];
    nonResourceURLs: Count[];
    namespaces: Count[];
    clients: Count[];
    accessMethods: Count[];
  };
  latency: { overall: LatencyRow; byVerb: LatencyRow[] };
}

/** `deployments.apps/scale`-style key: resource[.group][/subresource]. */
export function resourceKey(r: AuditRecord): string {
  let k = r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource;
  if (r.subresource) k += `/${r.subresource}`;
  return k;
}

function statusClass(code: number): string {
  return code >= 100 && code < 600 ? `${Math.floor(code / 100)}xx` : 'none';
}

function latencyRow(verb: string, h: Histogram): LatencyRow {
  const [p50, p95, p99] = percentiles(h, [0.5, 0.95, 0.99]);
  return { verb, count: h.count, p50: p50!, p95: p95!, p99: p99! };
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
    count(s.subjects, r.subject);
    bump(s.subjectKinds, r.subjectKind);
    bump(s.verbs, r.verb);
    if (r.resource) count(s.resources, resourceKey(r));
    else count(s.nonResourceURLs, r.nonResourceURL);
    count(s.namespaces, r.namespace);
    count(s.clients, r.client);
    bump(s.accessMethods, r.accessMethod);
    bump(s.status, statusClass(r.code));
    if (r.decision === 'forbid') s.denied++;
    if (r.subjectKind === 'Unauthenticated') s.unauthenticated++;
    // Requests that never completed have no latency (their kept stage is not the completing one).
    if (r.durationMs !== null && !isLongRunning(r) && isCompleted(r)) {
      record(s.latency, r.durationMs);
      let h = s.latencyByVerb.get(r.verb);
      if (!h) s.latencyByVerb.set(r.verb, (h = newHistogram()));
      record(h, r.durationMs);
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
    for (const k of ['subjects', 'resources', 'nonResourceURLs', 'namespaces', 'clients'] as const) absorb(a[k], b[k], COUNTS);
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
        subjects: topCounts(s.subjects, n),
        subjectKinds: sortedCounts(s.subjectKinds),
        verbs: sortedCounts(s.verbs, n),
        resources: topCounts(s.resources, n),
        nonResourceURLs: topCounts(s.nonResourceURLs, n),
        namespaces: topCounts(s.namespaces, n),
        clients: topCounts(s.clients, n),
        accessMethods: sortedCounts(s.accessMethods),
      },
      latency: { overall: latencyRow('(all)', s.latency), byVerb },
    };
  },
};
