// `audit investigate --timeline`: requests per time bucket, in bounded memory and output whatever
// the timestamps. One forged event dated 1970 (or year 1, or 9999) next to this week's must not
// turn a timeline into half a million empty hours (or a stack overflow): the span is taken after
// trimming outliers, the outliers are reported apart, and the bucket count is capped.
//
// - State: counts per bucket of a granularity that starts at one hour and coarsens (day, week,
//   4 weeks, 52 weeks, then ×10) whenever more than MAX_STATE_BUCKETS distinct buckets would be
//   held, so memory stays bounded; partial states merge at the coarser granularity of the two.
// - Outliers (Tukey's "far out" fences): requests more than max(3 × IQR, 7 days) before the first
//   quartile of the request times or after the third. The quartiles come from the bucket counts.
// - Buckets: the one asked for (hour, day), or with `auto` the smallest that gives at most
//   AUTO_BUCKETS over the trimmed span; in both cases widened along the same ladder while more than
//   MAX_BUCKETS would be needed (the report says so). Empty buckets between the first and the last
//   are shown: a gap is information.
// Week-based buckets start on Monday 00:00 UTC (ISO 8601 weeks).
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { formatTime } from '../../normalize/time.js';

export type Bucket = 'hour' | 'day' | 'auto';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-05, a Monday: week-based buckets are aligned to it. */
const MONDAY = 4 * DAY;

/** Bucket sizes, each a multiple of the one before (so counts regroup exactly), with their names. */
export const LADDER: readonly { ms: number; name: string }[] = [
  { ms: HOUR, name: 'hour' },
  { ms: DAY, name: 'day' },
  { ms: WEEK, name: 'week' },
  { ms: 4 * WEEK, name: '4 weeks' },
  { ms: 52 * WEEK, name: '52 weeks' },
  { ms: 520 * WEEK, name: '520 weeks' },
  { ms: 5200 * WEEK, name: '5200 weeks' },
  { ms: 52000 * WEEK, name: '52000 weeks' },
  { ms: 520000 * WEEK, name: '520000 weeks' },
];

/** Distinct buckets a state holds at most before it coarsens. */
export const MAX_STATE_BUCKETS = 20_000;
/** Buckets a timeline shows at most. */
export const MAX_BUCKETS = 2_000;
/** Buckets `auto` aims for at most. */
export const AUTO_BUCKETS = 100;
/** Outlier fences are at least this far from the quartiles. */
export const MIN_FENCE_MS = 7 * DAY;
/** Outlier buckets listed in the report at most (the earliest and the latest half each). */
export const OUTLIERS_SHOWN = 20;

export interface TimelineState {
  bucket: Bucket;
  /** Index into LADDER of the state's granularity. */
  level: number;
  counts: Map<number, number>;
  denied: Map<number, number>;
  /** Requests without a time (not on the timeline). */
  untimed: number;
}

export interface TimelineBucket {
  start: string;
  count: number;
  denied: number;
}

export interface TimelineReport {
  kind: 'kaudit.investigate.timeline';
  version: 1;
  input: InputAccounting;
  /** The bucket size used: hour, day, week, 4 weeks… */
  bucket: string;
  /** Its length in ms. */
  bucketMs: number;
  /** What --timeline asked for (hour, day, auto). */
  requested: Bucket;
  /** Why the bucket differs from the one asked for ('' when it does not). */
  widened: string;
  buckets: TimelineBucket[];
  /** Requests with a time so far from the rest that they are left off the timeline, and where they are. */
  outliers: { requests: number; denied: number; window: { from: string; to: string } | null; buckets: TimelineBucket[]; more: number };
  /** Requests without a time. */
  untimed: number;
}

function align(ms: number): number {
  return ms >= WEEK ? MONDAY : 0;
}

/** Start of the bucket of size LADDER[level] holding t. */
export function bucketStart(t: number, level: number): number {
  const { ms } = LADDER[level]!;
  const a = align(ms);
  return Math.floor((t - a) / ms) * ms + a;
}

function regroup(m: Map<number, number>, level: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, v] of m) {
    const b = bucketStart(k, level);
    out.set(b, (out.get(b) ?? 0) + v);
  }
  return out;
}

function coarsen(s: TimelineState, level: number): void {
  if (level <= s.level) return;
  s.level = level;
  s.counts = regroup(s.counts, level);
  s.denied = regroup(s.denied, level);
}

function bump(m: Map<number, number>, k: number, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export const timeline: Reducer<TimelineState, TimelineReport, { bucket: Bucket }> = {
  init: (o) => ({ bucket: o.bucket, level: 0, counts: new Map(), denied: new Map(), untimed: 0 }),
  add(s, r: AuditRecord) {
    if (!Number.isFinite(r.timeMs)) {
      s.untimed++;
      return;
    }
    const b = bucketStart(r.timeMs, s.level);
    bump(s.counts, b, 1);
    if (r.decision === 'forbid') bump(s.denied, b, 1);
    while (s.counts.size > MAX_STATE_BUCKETS && s.level < LADDER.length - 1) coarsen(s, s.level + 1);
  },
  merge(a, b) {
    const level = Math.max(a.level, b.level);
    coarsen(a, level);
    coarsen(b, level);
    for (const [k, v] of b.counts) bump(a.counts, k, v);
    for (const [k, v] of b.denied) bump(a.denied, k, v);
    a.untimed += b.untimed;
    while (a.counts.size > MAX_STATE_BUCKETS && a.level < LADDER.length - 1) coarsen(a, a.level + 1);
    return a;
  },
  finish(s, ctx: FinishContext) {
    return timelineReport(s, ctx.input);
  },
};

/** Nearest-rank quantile of the bucket starts, weighted by their counts (keys sorted). */
function quantile(keys: number[], counts: Map<number, number>, total: number, p: number): number {
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const k of keys) {
    seen += counts.get(k)!;
    if (seen >= rank) return k;
  }
  return keys[keys.length - 1]!;
}

export function timelineReport(s: TimelineState, input: InputAccounting): TimelineReport {
  const keys = [...s.counts.keys()].sort((x, y) => x - y);
  const gran = LADDER[s.level]!.ms;
  let total = 0;
  for (const v of s.counts.values()) total += v;
  const empty = (): TimelineReport['outliers'] => ({ requests: 0, denied: 0, window: null, buckets: [], more: 0 });
  const base = { kind: 'kaudit.investigate.timeline' as const, version: 1 as const, input, requested: s.bucket, untimed: s.untimed };
  if (keys.length === 0) {
    const level = s.bucket === 'day' ? 1 : 0;
    return { ...base, bucket: LADDER[Math.max(level, s.level)]!.name, bucketMs: LADDER[Math.max(level, s.level)]!.ms, widened: '', buckets: [], outliers: empty() };
  }
  // Fences around the quartiles; a bucket is an outlier when it lies wholly outside them.
  const q1 = quantile(keys, s.counts, total, 0.25);
  const q3 = quantile(keys, s.counts, total, 0.75) + gran;
  const fence = Math.max(3 * (q3 - q1), MIN_FENCE_MS);
  const lo = q1 - fence;
  const hi = q3 + fence;
  const inside: number[] = [];
  const outside: number[] = [];
  for (const k of keys) (k + gran <= lo || k >= hi ? outside : inside).push(k);
  const outliers = empty();
  if (outside.length) {
    const edge = 8.64e15; // the range of Date
    outliers.window = { from: formatTime(Math.max(lo, -edge)), to: formatTime(Math.min(hi, edge)) };
    for (const k of outside) {
      outliers.requests += s.counts.get(k)!;
      outliers.denied += s.denied.get(k) ?? 0;
    }
    const half = OUTLIERS_SHOWN / 2;
    const shown = outside.length <= OUTLIERS_SHOWN ? outside : [...outside.slice(0, half), ...outside.slice(-half)];
    outliers.buckets = shown.map((k) => ({ start: formatTime(k), count: s.counts.get(k)!, denied: s.denied.get(k) ?? 0 }));
    outliers.more = outside.length - shown.length;
  }
  // The bucket: as asked (or auto), never finer than the state, widened past MAX_BUCKETS.
  const first = inside[0]!;
  const last = inside[inside.length - 1]! + gran;
  const span = last - first;
  const asked = s.bucket === 'day' ? 1 : 0;
  let level = Math.max(asked, s.level);
  let widened = level > asked ? `the log's times span too many ${LADDER[asked]!.name}s to keep each; counted per ${LADDER[level]!.name}` : '';
  const cap = s.bucket === 'auto' ? AUTO_BUCKETS : MAX_BUCKETS;
  while (level < LADDER.length - 1 && Math.ceil(span / LADDER[level]!.ms) + 1 > cap) level++;
  if (s.bucket !== 'auto' && level > Math.max(asked, s.level)) widened = `${Math.ceil(span / LADDER[asked]!.ms)} ${LADDER[asked]!.name}s would be more than ${MAX_BUCKETS} buckets; counted per ${LADDER[level]!.name}`;
  const counts = regroup(new Map(inside.map((k) => [k, s.counts.get(k)!])), level);
  const denied = regroup(new Map(inside.filter((k) => s.denied.has(k)).map((k) => [k, s.denied.get(k)!])), level);
  const step = LADDER[level]!.ms;
  const buckets: TimelineBucket[] = [];
  for (let t = bucketStart(first, level); t < last; t += step) buckets.push({ start: formatTime(t), count: counts.get(t) ?? 0, denied: denied.get(t) ?? 0 });
  return { ...base, bucket: LADDER[level]!.name, bucketMs: step, widened, buckets, outliers };
}
