// `audit investigate`: the filtered records (listing), counts grouped by fields, or a timeline.
// Group-by and timeline are reducers (bounded by distinct keys / buckets); the listing keeps only
// what it will print (the first N, or the top N by --sort).
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { RECORD_FIELDS } from '../../render/records.js';
import { UsageError } from '../../util/errors.js';
import { cmp } from '../../util/counter.js';
import { formatTime } from '../../normalize/time.js';
import { widenSpan, mergeSpan } from '../../util/span.js';

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

export interface GroupState {
  fields: (keyof AuditRecord)[];
  groups: Map<string, { values: string[]; count: number; denied: number; firstMs: number; first: string; lastMs: number; last: string }>;
}

export interface GroupReport {
  kind: 'kaudit.investigate.groups';
  version: 1;
  input: InputAccounting;
  groupBy: string[];
  groups: GroupRow[];
}

export const groupBy: Reducer<GroupState, GroupReport, { fields: (keyof AuditRecord)[] }> = {
  init: (o) => ({ fields: o.fields, groups: new Map() }),
  add(s, r) {
    const values = s.fields.map((f) => fieldText(r, f));
    const key = values.join('\u0000');
    let g = s.groups.get(key);
    if (!g) s.groups.set(key, (g = { values, count: 0, denied: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '' }));
    g.count++;
    if (r.decision === 'forbid') g.denied++;
    widenSpan(g, r.timeMs, r.time);
  },
  merge(a, b) {
    for (const [k, gb] of b.groups) {
      const ga = a.groups.get(k);
      if (!ga) a.groups.set(k, gb);
      else {
        ga.count += gb.count;
        ga.denied += gb.denied;
        mergeSpan(ga, gb);
      }
    }
    return a;
  },
  finish(s, ctx: FinishContext) {
    const rows = [...s.groups.values()].sort((x, y) => y.count - x.count || cmp(x.values.join('\u0000'), y.values.join('\u0000')));
    return {
      kind: 'kaudit.investigate.groups',
      version: 1,
      input: ctx.input,
      groupBy: s.fields,
      groups: rows.map((g) => ({ key: Object.fromEntries(s.fields.map((f, i) => [f, g.values[i]!])), count: g.count, denied: g.denied, first: g.first, last: g.last })),
    };
  },
};

// ---------- timeline ----------

export type Bucket = 'hour' | 'day';
const BUCKET_MS: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };

export interface TimelineState {
  bucket: Bucket;
  counts: Map<number, number>;
  denied: Map<number, number>;
}

export interface TimelineReport {
  kind: 'kaudit.investigate.timeline';
  version: 1;
  input: InputAccounting;
  bucket: Bucket;
  buckets: { start: string; count: number; denied: number }[];
}

export const timeline: Reducer<TimelineState, TimelineReport, { bucket: Bucket }> = {
  init: (o) => ({ bucket: o.bucket, counts: new Map(), denied: new Map() }),
  add(s, r) {
    if (!Number.isFinite(r.timeMs)) return;
    const b = Math.floor(r.timeMs / BUCKET_MS[s.bucket]) * BUCKET_MS[s.bucket];
    s.counts.set(b, (s.counts.get(b) ?? 0) + 1);
    if (r.decision === 'forbid') s.denied.set(b, (s.denied.get(b) ?? 0) + 1);
  },
  merge(a, b) {
    for (const [k, v] of b.counts) a.counts.set(k, (a.counts.get(k) ?? 0) + v);
    for (const [k, v] of b.denied) a.denied.set(k, (a.denied.get(k) ?? 0) + v);
    return a;
  },
  finish(s, ctx: FinishContext) {
    const keys = [...s.counts.keys()].sort((x, y) => x - y);
    const buckets: TimelineReport['buckets'] = [];
    if (keys.length) {
      // Empty buckets between the first and the last are shown: a gap is information.
      for (let t = keys[0]!; t <= keys[keys.length - 1]!; t += BUCKET_MS[s.bucket]) buckets.push({ start: formatTime(t), count: s.counts.get(t) ?? 0, denied: s.denied.get(t) ?? 0 });
    }
    return { kind: 'kaudit.investigate.timeline', version: 1, input: ctx.input, bucket: s.bucket, buckets };
  },
};

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

/** Keeps the first `limit` records, or the top `limit` by `sort`, in bounded memory. */
export class Listing {
  records: AuditRecord[] = [];
  matched = 0;
  private readonly cmp: ((a: AuditRecord, b: AuditRecord) => number) | null;
  constructor(
    private readonly limit: number,
    sort: SortSpec | null,
  ) {
    this.cmp = sort ? compareBy(sort) : null;
  }
  add(r: AuditRecord): void {
    this.matched++;
    if (!this.cmp) {
      if (this.records.length < this.limit) this.records.push(r);
      return;
    }
    this.records.push(r);
    if (this.records.length >= 2 * this.limit + 1024) this.trim();
  }
  private trim(): void {
    this.records.sort(this.cmp!);
    if (this.records.length > this.limit) this.records.length = this.limit;
  }
  finish(): AuditRecord[] {
    if (this.cmp) this.trim();
    return this.records;
  }
}
