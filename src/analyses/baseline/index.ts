// `audit baseline`: one behaviour profile per subject. Building one is a reducer, and the file it
// writes (kaudit.baseline v1) reads back into the same state, so baselines from different periods
// or clusters merge (`audit baseline --merge a.json b.json`).
import type { AuditRecord, InputAccounting, Loc, Reducer } from '../../types.js';
import { isIP } from 'node:net';
import { UsageError } from '../../util/errors.js';
import { cmp } from '../../util/counter.js';
import { widenSpan, mergeSpan } from '../../util/span.js';
import { keepEarliest, mergeEarliest } from '../../util/examples.js';

/** A counted thing (a tuple, a namespace, a network…): how often, first and last seen, a few examples. */
export interface Seen {
  count: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  /** Earliest auditIDs as [timeMs, id]; kept while detecting, not written to baseline files. */
  ex: [number, string][];
  /** Where the first-seen request was read; kept while detecting, not written to baseline files. */
  firstAt?: Loc;
}

export interface Profile {
  kind: string;
  requests: number;
  denied: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  /** `verb group/resource[/sub] namespace` (or `verb /path` for non-resource requests). */
  tuples: Map<string, Seen>;
  namespaces: Map<string, Seen>;
  /** group/resource[/sub]. */
  resources: Map<string, Seen>;
  sourceIPs: Map<string, Seen>;
  /** /24 (IPv4) or /64 (IPv6). */
  networks: Map<string, Seen>;
  clients: Map<string, Seen>;
  userAgents: Map<string, Seen>;
  /** Requests by hour of day and by weekday (UTC; 0 = Sunday). */
  hours: number[];
  weekdays: number[];
  /** Requests per UTC day (YYYY-MM-DD). */
  daily: Map<string, number>;
  /** Requests per UTC day and hour (YYYY-MM-DDTHH), with examples: used when detecting. */
  dayHours: Map<string, Seen>;
  /** Where the subject's first request was read; kept while detecting. */
  firstAt?: Loc;
}

export interface ProfileOptions {
  /** Keep example auditIDs (detection) or not (baseline files). */
  examples: number;
}

export interface ProfileState {
  opts: ProfileOptions;
  subjects: Map<string, Profile>;
  fromMs: number;
  from: string;
  toMs: number;
  to: string;
}

export function resourceOf(r: { apiGroup: string; resource: string; subresource: string }): string {
  return `${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
}

export function tupleOf(r: AuditRecord): string {
  return r.resource === '' ? `${r.verb} ${r.nonResourceURL}` : `${r.verb} ${resourceOf(r)} ${r.namespace || '-'}`;
}

function expandV6(ip: string): string[] {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => x.padStart(4, '0'));
}

/** The /24 (IPv4) or /64 (IPv6) a source address belongs to. */
export function networkOf(ip: string): string {
  const f = isIP(ip);
  if (f === 4) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (f === 6) {
    const v4 = /::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (v4) return networkOf(v4[1]!);
    return `${expandV6(ip).slice(0, 4).join(':')}::/64`;
  }
  return ip || '(none)';
}

function newSeen(): Seen {
  return { count: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', ex: [] };
}

function see(m: Map<string, Seen>, key: string, r: AuditRecord, examples: number): void {
  let s = m.get(key);
  if (!s) m.set(key, (s = newSeen()));
  s.count++;
  const t = r.timeMs;
  widenSpan(s, t, r.time, examples > 0 ? r.location : undefined);
  if (examples > 0 && r.auditID) keepEarliest(s.ex, t, r.auditID, examples);
}

function mergeSeen(a: Map<string, Seen>, b: Map<string, Seen>, examples: number): void {
  for (const [k, sb] of b) {
    const sa = a.get(k);
    if (!sa) {
      a.set(k, sb);
      continue;
    }
    sa.count += sb.count;
    mergeSpan(sa, sb);
    sa.ex = mergeEarliest(sa.ex, sb.ex, examples);
  }
}

export function newProfile(kind: string): Profile {
  return {
    kind,
    requests: 0,
    denied: 0,
    firstMs: Infinity,
    first: '',
    lastMs: -Infinity,
    last: '',
    tuples: new Map(),
    namespaces: new Map(),
    resources: new Map(),
    sourceIPs: new Map(),
    networks: new Map(),
    clients: new Map(),
    userAgents: new Map(),
    hours: new Array<number>(24).fill(0),
    weekdays: new Array<number>(7).fill(0),
    daily: new Map(),
    dayHours: new Map(),
  };
}

export function addToProfile(p: Profile, r: AuditRecord, examples: number): void {
  p.requests++;
  if (r.decision === 'forbid') p.denied++;
  const t = r.timeMs;
  widenSpan(p, t, r.time, examples > 0 ? r.location : undefined);
  see(p.tuples, tupleOf(r), r, examples);
  if (r.namespace) see(p.namespaces, r.namespace, r, examples);
  if (r.resource) see(p.resources, resourceOf(r), r, examples);
  if (r.sourceIP) {
    see(p.sourceIPs, r.sourceIP, r, examples);
    see(p.networks, networkOf(r.sourceIP), r, examples);
  }
  see(p.clients, r.client || '(none)', r, examples);
  see(p.userAgents, r.userAgent || '(none)', r, examples);
  if (Number.isFinite(t)) {
    const d = new Date(Math.floor(t));
    p.hours[d.getUTCHours()]!++;
    p.weekdays[d.getUTCDay()]!++;
    const iso = d.toISOString();
    const day = iso.slice(0, 10);
    p.daily.set(day, (p.daily.get(day) ?? 0) + 1);
    see(p.dayHours, iso.slice(0, 13), r, examples);
  }
}

export function mergeProfile(a: Profile, b: Profile, examples: number): Profile {
  a.requests += b.requests;
  a.denied += b.denied;
  mergeSpan(a, b);
  for (const k of ['tuples', 'namespaces', 'resources', 'sourceIPs', 'networks', 'clients', 'userAgents', 'dayHours'] as const) mergeSeen(a[k], b[k], examples);
  b.hours.forEach((n, i) => (a.hours[i]! += n));
  b.weekdays.forEach((n, i) => (a.weekdays[i]! += n));
  for (const [d, n] of b.daily) a.daily.set(d, (a.daily.get(d) ?? 0) + n);
  return a;
}

export const profiles: Reducer<ProfileState, BaselineFile, ProfileOptions> = {
  init: (opts) => ({ opts, subjects: new Map(), fromMs: Infinity, from: '', toMs: -Infinity, to: '' }),
  add(s, r) {
    let p = s.subjects.get(r.subject);
    if (!p) s.subjects.set(r.subject, (p = newProfile(r.subjectKind)));
    addToProfile(p, r, s.opts.examples);
    if (r.timeMs < s.fromMs) [s.fromMs, s.from] = [r.timeMs, r.time];
    if (r.timeMs > s.toMs) [s.toMs, s.to] = [r.timeMs, r.time];
  },
  merge(a, b) {
    for (const [k, pb] of b.subjects) {
      const pa = a.subjects.get(k);
      if (pa) mergeProfile(pa, pb, a.opts.examples);
      else a.subjects.set(k, pb);
    }
    if (b.fromMs < a.fromMs) [a.fromMs, a.from] = [b.fromMs, b.from];
    if (b.toMs > a.toMs) [a.toMs, a.to] = [b.toMs, b.to];
    return a;
  },
  finish: (s, ctx) => toFile(s, ctx.input),
};

// ---------- the file (kaudit.baseline v1) ----------

interface SeenJSON {
  count: number;
  first: string;
  last: string;
}

export interface ProfileJSON {
  kind: string;
  requests: number;
  denied: number;
  deniedRate: number;
  first: string;
  last: string;
  tuples: Record<string, SeenJSON>;
  namespaces: Record<string, SeenJSON>;
  resources: Record<string, SeenJSON>;
  sourceIPs: Record<string, SeenJSON>;
  networks: Record<string, SeenJSON>;
  clients: Record<string, SeenJSON>;
  userAgents: Record<string, SeenJSON>;
  hours: number[];
  weekdays: number[];
  daily: Record<string, number>;
}

export interface BaselineFile {
  kind: 'kaudit.baseline';
  version: 1;
  window: { from: string | null; to: string | null };
  /** Days the window spans (at least 1). */
  days: number;
  /** Requests the baseline was built from (after filters). */
  requests: number;
  subjects: Record<string, ProfileJSON>;
}

function seenJSON(m: Map<string, Seen>): Record<string, SeenJSON> {
  return Object.fromEntries([...m].sort(([a], [b]) => cmp(a, b)).map(([k, v]) => [k, { count: v.count, first: v.first, last: v.last }]));
}

export function windowDays(fromMs: number, toMs: number): number {
  return Number.isFinite(fromMs) && Number.isFinite(toMs) ? Math.max(1, Math.round((toMs - fromMs) / 86_400_000)) : 0;
}

export function toFile(s: ProfileState, input: InputAccounting | null): BaselineFile {
  // Built with fromEntries: a subject named __proto__ becomes an own key like any other (an
  // assignment would set the object's prototype instead, and lose the subject).
  const entries: [string, ProfileJSON][] = [];
  let requests = 0;
  for (const [name, p] of [...s.subjects].sort(([a], [b]) => cmp(a, b))) {
    requests += p.requests;
    entries.push([name, {
      kind: p.kind,
      requests: p.requests,
      denied: p.denied,
      deniedRate: p.requests ? Math.round((10000 * p.denied) / p.requests) / 10000 : 0,
      first: p.first,
      last: p.last,
      tuples: seenJSON(p.tuples),
      namespaces: seenJSON(p.namespaces),
      resources: seenJSON(p.resources),
      sourceIPs: seenJSON(p.sourceIPs),
      networks: seenJSON(p.networks),
      clients: seenJSON(p.clients),
      userAgents: seenJSON(p.userAgents),
      hours: p.hours,
      weekdays: p.weekdays,
      daily: Object.fromEntries([...p.daily].sort(([a], [b]) => cmp(a, b))),
    }]);
  }
  const subjects: Record<string, ProfileJSON> = Object.fromEntries(entries);
  void input;
  return { kind: 'kaudit.baseline', version: 1, window: { from: s.from || null, to: s.to || null }, days: windowDays(s.fromMs, s.toMs), requests, subjects };
}

function seenFrom(o: Record<string, SeenJSON> | undefined): Map<string, Seen> {
  const m = new Map<string, Seen>();
  for (const [k, v] of Object.entries(o ?? {})) m.set(k, { count: v.count, first: v.first, firstMs: Date.parse(v.first), last: v.last, lastMs: Date.parse(v.last), ex: [] });
  return m;
}

/** Reads a baseline file back into a state that merges and compares like a freshly built one. */
export function fromFile(f: unknown, where: string): ProfileState {
  const o = f as Partial<BaselineFile>;
  if (!o || o.kind !== 'kaudit.baseline') throw new UsageError(`${where}: not a kaudit baseline (kind ${JSON.stringify(o?.kind)})`, 'make one with: audit baseline FILES… --out baseline.json');
  if (o.version !== 1) throw new UsageError(`${where}: baseline version ${String(o.version)} is not supported`, 'rebuild it with this version of kaudit');
  const s = profiles.init({ examples: 0 });
  for (const [name, p] of Object.entries(o.subjects ?? {})) {
    const prof = newProfile(p.kind);
    prof.requests = p.requests;
    prof.denied = p.denied;
    prof.first = p.first;
    prof.firstMs = Date.parse(p.first);
    prof.last = p.last;
    prof.lastMs = Date.parse(p.last);
    prof.tuples = seenFrom(p.tuples);
    prof.namespaces = seenFrom(p.namespaces);
    prof.resources = seenFrom(p.resources);
    prof.sourceIPs = seenFrom(p.sourceIPs);
    prof.networks = seenFrom(p.networks);
    prof.clients = seenFrom(p.clients);
    prof.userAgents = seenFrom(p.userAgents);
    prof.hours = [...p.hours];
    prof.weekdays = [...p.weekdays];
    prof.daily = new Map(Object.entries(p.daily ?? {}));
    s.subjects.set(name, prof);
  }
  s.from = o.window?.from ?? '';
  s.fromMs = s.from ? Date.parse(s.from) : Infinity;
  s.to = o.window?.to ?? '';
  s.toMs = s.to ? Date.parse(s.to) : -Infinity;
  return s;
}
