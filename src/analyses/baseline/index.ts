// `audit baseline`: one behaviour profile per subject. Building one is a reducer, and the file it
// writes (kaudit.baseline v1) reads back into the same state, so baselines from different periods
// or clusters merge (`audit baseline --merge a.json b.json`).
//
// Bounded memory (issue 15): profiles live in a spilling map (src/scale/spillmap.ts). Past the
// memory budget they are written out sorted by subject and merged back at the end with
// mergeProfile, so a million subjects cost disk, not heap, and the file is exactly the one an
// unbounded map would give; the file is written subject by subject (toFile gives LazyEntries),
// and read back subject by subject (read.ts).
import type { AuditRecord, InputAccounting, Loc, Reducer } from '../../types.js';
import { isIP } from 'node:net';
import { UsageError } from '../../util/errors.js';
import { cmp } from '../../util/counter.js';
import { widenSpan, mergeSpan } from '../../util/span.js';
import { absorb, discard, drain, grow, newSpillMap, specsByOption, type SpillMap } from '../../scale/spillmap.js';
import { decodeLine, encodeLine, numIn, numOut } from '../../scale/codec.js';
import { settle } from '../../scale/ledger.js';
import { JsonShapeError, readJsonObject } from '../../scale/jsonobject.js';
import { ENTRY_BYTES, strBytes } from '../../scale/budget.js';
import { LazyEntries } from '../../scale/lazy.js';
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
  /**
   * Profiles by subject, in memory up to the budget and spilled past it. A subject seen once (in
   * this partial state, or since its last spill) is held as its one request (OneRequest), a
   * profile from its second request on; readers get profiles (drainProfiles, toFile).
   */
  subjects: SpillMap<PartialProfile>;
  /** Requests in the profiles (their sum). */
  requests: number;
  fromMs: number;
  from: string;
  toMs: number;
  to: string;
}

/** Estimated heap bytes of a new profile (nine maps, the hour and weekday arrays), and of a new entry in one of its maps beyond its key. */
const PROFILE_BYTES = 1600;
const SEEN_BYTES = 200;
/**
 * Estimated heap bytes of one example ([timeMs, auditID] in `ex`), and of a first-seen location
 * (`firstAt`): kept only while detecting (examples > 0), where they are most of a profile's size
 * (measured on one-request subjects: 124 MB live for 20k profiles with examples, 80 MB without).
 */
const EXAMPLE_BYTES = 160;
const LOC_BYTES = 120;

/** The spill spec of profile maps, by examples setting (the merge keeps that many examples), with the compact run form. */
export const profileSpec = specsByOption<PartialProfile>('profiles', mergePartial, partialBytes, {
  encode: (e) => encodePartial(e),
  decode: (line) => decodePartial(line),
});

// ---------- a subject seen once ----------
// At a million distinct users nearly every subject makes one request. As a profile, that request
// took about 5 KB of heap (nine Maps, eight Seen records with their examples and locations) that
// lived until the next spill, so the garbage collector copied and marked all of it, and spill runs
// wrote it out and read it back at about 1 KB of JSON a subject (issue 15: 38% of anomalies' time at
// 1M users went to the collector, 18% to the spill codec). A subject's first request is now kept as
// the fields of the request that addToProfile reads (one object, its strings shared with the
// record); the profile is built from it, by addToProfile itself, when the subject's second request
// comes, when two partial states of the subject merge, or when it is read. So a profile built
// later is the profile built at once, member for member (a property test checks it).

/** The fields of a request that addToProfile reads. */
export type ProfiledRequest = Pick<AuditRecord, 'decision' | 'timeMs' | 'time' | 'auditID' | 'verb' | 'apiGroup' | 'resource' | 'subresource' | 'namespace' | 'nonResourceURL' | 'sourceIP' | 'client' | 'userAgent'> & {
  /** AuditRecord.location; kept only while detecting (examples > 0), as addToProfile reads it only then. */
  location?: Loc;
};

/** A subject's partial profile while it holds one request: that request's profiled fields. `one` tells it from a Profile. */
export interface OneRequest extends ProfiledRequest {
  one: 1;
  /** The subject's kind (AuditRecord.subjectKind): Profile.kind. */
  kind: string;
}

/** A partial profile in a state's map: a Profile, or a subject's one request. */
export type PartialProfile = Profile | OneRequest;

export function isOneRequest(v: PartialProfile): v is OneRequest {
  return (v as OneRequest).one === 1;
}

/** A subject's first request as a OneRequest (location and auditID only when examples are kept: addToProfile reads them only then). */
export function oneRequest(r: AuditRecord, examples: number): OneRequest {
  const o: OneRequest = {
    one: 1,
    kind: r.subjectKind,
    decision: r.decision,
    timeMs: r.timeMs,
    time: r.time,
    auditID: examples > 0 ? r.auditID : '',
    verb: r.verb,
    apiGroup: r.apiGroup,
    resource: r.resource,
    subresource: r.subresource,
    namespace: r.namespace,
    nonResourceURL: r.nonResourceURL,
    sourceIP: r.sourceIP,
    client: r.client,
    userAgent: r.userAgent,
  };
  if (examples > 0) o.location = r.location;
  return o;
}

/** The profile of a partial profile: a OneRequest becomes the profile addToProfile builds from it (the same `examples`), a Profile stays itself. */
export function fullProfile(v: PartialProfile, examples: number): Profile {
  if (!isOneRequest(v)) return v;
  const p = newProfile(v.kind);
  addToProfile(p, v, examples);
  return p;
}

/** mergeProfile of partial profiles. */
export function mergePartial(a: PartialProfile, b: PartialProfile, examples: number): Profile {
  return mergeProfile(fullProfile(a, examples), fullProfile(b, examples), examples);
}

/**
 * Estimated heap bytes of a OneRequest and its subject's name: the object, the strings of its own
 * (the verb, resource, namespace and client come from a small vocabulary that the reader interns),
 * the location. At a million distinct users the ledger measured about 500 bytes of heap for each.
 */
function oneBytes(subject: string, o: OneRequest): number {
  return (
    ONE_BYTES +
    strBytes(subject) +
    ENTRY_BYTES +
    strBytes(o.time) +
    strBytes(o.auditID) +
    strBytes(o.sourceIP) +
    strBytes(o.userAgent) +
    (o.location ? LOC_BYTES : 0)
  );
}

/** Estimated heap bytes of a partial profile and its subject's name. */
export function partialBytes(subject: string, v: PartialProfile): number {
  return isOneRequest(v) ? oneBytes(subject, v) : profileBytes(subject, v);
}

/** A OneRequest's object: header and sixteen fields. */
const ONE_BYTES = 200;

/**
 * Run lines of partial profiles. A OneRequest is `1` and a JSON array by position:
 * [key, kind, decision, timeMs, time, location or 0, auditID, verb, apiGroup, resource,
 * subresource, namespace, nonResourceURL, sourceIP, client, userAgent], timeMs as numOut writes it
 * (NaN for a time that did not parse), the location as the record had it (members in its order).
 * A Profile is encodeLine's line of [key, encodeProfile(p)] (it starts with `=` or `[`).
 */
export function encodePartial(e: [string, PartialProfile]): string {
  const v = e[1];
  if (!isOneRequest(v)) return encodeLine([e[0], encodeProfile(v)]);
  return '1' + JSON.stringify([e[0], v.kind, v.decision, numOut(v.timeMs), v.time, v.location ?? 0, v.auditID, v.verb, v.apiGroup, v.resource, v.subresource, v.namespace, v.nonResourceURL, v.sourceIP, v.client, v.userAgent]);
}

/** The entry encodePartial wrote. */
export function decodePartial(line: string): [string, PartialProfile] {
  if (line.charCodeAt(0) !== 49 /* 1 */) {
    const [k, x] = decodeLine(line) as [string, unknown];
    return [k, decodeProfile(x)];
  }
  const a = JSON.parse(line.slice(1)) as unknown[];
  const o: OneRequest = {
    one: 1,
    kind: a[1] as string,
    decision: a[2] as AuditRecord['decision'],
    timeMs: numIn(a[3] as number | string),
    time: a[4] as string,
    auditID: a[6] as string,
    verb: a[7] as string,
    apiGroup: a[8] as string,
    resource: a[9] as string,
    subresource: a[10] as string,
    namespace: a[11] as string,
    nonResourceURL: a[12] as string,
    sourceIP: a[13] as string,
    client: a[14] as string,
    userAgent: a[15] as string,
  };
  if (a[5] !== 0) o.location = a[5] as Loc;
  return [a[0] as string, o];
}

// ---------- the compact form of a profile in spill runs ----------
// A million one-request subjects spill a million profiles: written as objects with their Maps
// tagged (src/scale/codec.ts), each took about 1.8 KB of run file (2.4 KB with examples and
// locations), most of it the same member names over and over and the log's file name in every
// first-seen location. Here a profile is an array in a fixed order, each map a flat array, a last
// seen equal to the first seen a 0, and file names a table per profile. decodeProfile gives back
// an equal profile (same members in the same order); a property test checks it.

type Files = Map<string, number>;

function encodeLoc(at: Loc | undefined, files: Files): unknown {
  if (at === undefined) return 0;
  let i = files.get(at.file);
  if (i === undefined) files.set(at.file, (i = files.size));
  return { ...at, file: i };
}

function decodeLoc(x: unknown, files: string[]): Loc | undefined {
  if (x === 0) return undefined;
  const o = x as Omit<Loc, 'file'> & { file: number };
  return { ...o, file: files[o.file]! };
}

/** A map of Seen as one flat array: key, count, firstMs, first, [lastMs, last] or 0 when the same, examples flat or 0, location or 0. */
function encodeSeen(m: Map<string, Seen>, files: Files): unknown[] {
  const a: unknown[] = [];
  for (const [k, s] of m) {
    const same = Object.is(s.lastMs, s.firstMs) && s.last === s.first;
    let ex: unknown = 0;
    if (s.ex.length) {
      const flat: unknown[] = [];
      for (const [t, id] of s.ex) flat.push(t, id);
      ex = flat;
    }
    a.push(k, s.count, s.firstMs, s.first, same ? 0 : [s.lastMs, s.last], ex, encodeLoc(s.firstAt, files));
  }
  return a;
}

function decodeSeen(a: unknown[], files: string[]): Map<string, Seen> {
  const m = new Map<string, Seen>();
  for (let i = 0; i < a.length; i += 7) {
    const tail = a[i + 4] as 0 | [number, string];
    const flat = a[i + 5] as 0 | unknown[];
    const ex: [number, string][] = [];
    if (flat !== 0) for (let j = 0; j < flat.length; j += 2) ex.push([flat[j] as number, flat[j + 1] as string]);
    const firstMs = a[i + 2] as number;
    const first = a[i + 3] as string;
    const s: Seen = { count: a[i + 1] as number, firstMs, first, lastMs: tail === 0 ? firstMs : tail[0], last: tail === 0 ? first : tail[1], ex };
    const at = decodeLoc(a[i + 6], files);
    if (at !== undefined) s.firstAt = at;
    m.set(a[i] as string, s);
  }
  return m;
}

const SEEN_MAPS = ['tuples', 'namespaces', 'resources', 'sourceIPs', 'networks', 'clients', 'userAgents', 'dayHours'] as const;

/** A profile's compact form for spill runs (plain data: arrays, strings, numbers, objects). */
export function encodeProfile(p: Profile): unknown {
  const files: Files = new Map();
  const daily: unknown[] = [];
  for (const [d, n] of p.daily) daily.push(d, n);
  const maps = SEEN_MAPS.map((k) => encodeSeen(p[k], files));
  const at = encodeLoc(p.firstAt, files);
  return [p.kind, p.requests, p.denied, p.firstMs, p.first, p.lastMs, p.last, p.hours, p.weekdays, daily, ...maps, at, [...files.keys()]];
}

/** The profile encodeProfile was given. */
export function decodeProfile(x: unknown): Profile {
  const a = x as unknown[];
  const files = a[a.length - 1] as string[];
  const p = newProfile(a[0] as string);
  p.requests = a[1] as number;
  p.denied = a[2] as number;
  p.firstMs = a[3] as number;
  p.first = a[4] as string;
  p.lastMs = a[5] as number;
  p.last = a[6] as string;
  SEEN_MAPS.forEach((k, i) => (p[k] = decodeSeen(a[10 + i] as unknown[], files)));
  p.hours = a[7] as number[];
  p.weekdays = a[8] as number[];
  const daily = a[9] as unknown[];
  for (let i = 0; i < daily.length; i += 2) p.daily.set(daily[i] as string, daily[i + 1] as number);
  const at = decodeLoc(a[10 + SEEN_MAPS.length], files);
  if (at !== undefined) p.firstAt = at;
  return p;
}

function seenBytes(m: Map<string, Seen>): number {
  let n = 0;
  for (const [k, s] of m) n += SEEN_BYTES + strBytes(k) + s.ex.length * EXAMPLE_BYTES + (s.firstAt ? LOC_BYTES : 0);
  return n;
}

/** Estimated heap bytes of a profile and its subject's name. */
export function profileBytes(subject: string, p: Profile): number {
  let n = PROFILE_BYTES + strBytes(subject) + ENTRY_BYTES + (p.firstAt ? LOC_BYTES : 0);
  for (const k of ['tuples', 'namespaces', 'resources', 'sourceIPs', 'networks', 'clients', 'userAgents', 'dayHours'] as const) n += seenBytes(p[k]);
  n += p.daily.size * (SEEN_BYTES / 2);
  return n;
}

export function resourceOf(r: { apiGroup: string; resource: string; subresource: string }): string {
  return `${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
}

export function tupleOf(r: Pick<AuditRecord, 'verb' | 'apiGroup' | 'resource' | 'subresource' | 'namespace' | 'nonResourceURL'>): string {
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

/** Counts `r` under `key`; returns the estimated bytes a new entry added (0 for a known key). */
function see(m: Map<string, Seen>, key: string, r: ProfiledRequest, examples: number): number {
  let s = m.get(key);
  let grew = 0;
  if (!s) {
    m.set(key, (s = newSeen()));
    grew = SEEN_BYTES + strBytes(key);
  }
  s.count++;
  const t = r.timeMs;
  const located = s.firstAt !== undefined;
  widenSpan(s, t, r.time, examples > 0 ? r.location : undefined);
  if (!located && s.firstAt !== undefined) grew += LOC_BYTES;
  if (examples > 0 && r.auditID) {
    const had = s.ex.length;
    keepEarliest(s.ex, t, r.auditID, examples);
    grew += (s.ex.length - had) * EXAMPLE_BYTES;
  }
  return grew;
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

/** Adds a request to a profile; returns the estimated bytes the profile grew by. */
export function addToProfile(p: Profile, r: ProfiledRequest, examples: number): number {
  p.requests++;
  if (r.decision === 'forbid') p.denied++;
  const t = r.timeMs;
  const located = p.firstAt !== undefined;
  widenSpan(p, t, r.time, examples > 0 ? r.location : undefined);
  let grew = !located && p.firstAt !== undefined ? LOC_BYTES : 0;
  grew += see(p.tuples, tupleOf(r), r, examples);
  if (r.namespace) grew += see(p.namespaces, r.namespace, r, examples);
  if (r.resource) grew += see(p.resources, resourceOf(r), r, examples);
  if (r.sourceIP) {
    grew += see(p.sourceIPs, r.sourceIP, r, examples);
    grew += see(p.networks, networkOf(r.sourceIP), r, examples);
  }
  grew += see(p.clients, r.client || '(none)', r, examples);
  grew += see(p.userAgents, r.userAgent || '(none)', r, examples);
  if (Number.isFinite(t)) {
    const d = new Date(Math.floor(t));
    p.hours[d.getUTCHours()]!++;
    p.weekdays[d.getUTCDay()]!++;
    const iso = d.toISOString();
    const day = iso.slice(0, 10);
    const n = p.daily.get(day);
    if (n === undefined) grew += SEEN_BYTES / 2;
    p.daily.set(day, (n ?? 0) + 1);
    grew += see(p.dayHours, iso.slice(0, 13), r, examples);
  }
  return grew;
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
  init: (opts) => ({ opts, subjects: newSpillMap(), requests: 0, fromMs: Infinity, from: '', toMs: -Infinity, to: '' }),
  add(s, r) {
    const examples = s.opts.examples;
    const spec = profileSpec(examples);
    const map = s.subjects.map;
    const v = map.get(r.subject);
    let grew: number;
    if (v === undefined) {
      const o = oneRequest(r, examples);
      map.set(r.subject, o);
      grew = oneBytes(r.subject, o);
    } else if (isOneRequest(v)) {
      // The subject's second request: its profile from here on.
      const p = fullProfile(v, examples);
      map.set(r.subject, p);
      grew = profileBytes(r.subject, p) - oneBytes(r.subject, v) + addToProfile(p, r, examples);
    } else grew = addToProfile(v, r, examples);
    s.requests++;
    if (r.timeMs < s.fromMs) [s.fromMs, s.from] = [r.timeMs, r.time];
    if (r.timeMs > s.toMs) [s.toMs, s.to] = [r.timeMs, r.time];
    if (grew) grow(s.subjects, spec, grew);
  },
  merge(a, b) {
    absorb(a.subjects, b.subjects, profileSpec(a.opts.examples));
    a.requests += b.requests;
    if (b.fromMs < a.fromMs) [a.fromMs, a.from] = [b.fromMs, b.from];
    if (b.toMs > a.toMs) [a.toMs, a.to] = [b.toMs, b.to];
    return a;
  },
  finish: (s, ctx) => toFile(s, ctx.input),
};

/** Every profile once, by subject (code-unit order), merged across spilled runs. Consumes the state's profiles. */
export function* drainProfiles(s: ProfileState): Generator<[string, Profile]> {
  const examples = s.opts.examples;
  for (const [name, v] of drain(s.subjects, profileSpec(examples))) yield [name, fullProfile(v, examples)];
}

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
  /** Profiles by subject, in code-unit order; written member by member (LazyEntries) when built here. */
  subjects: Record<string, ProfileJSON> | LazyEntries<ProfileJSON>;
}

/**
 * A map of Seen as the file writes it, by key in code-unit order (a member named __proto__ is a
 * member like any other). Built with a loop rather than entries sorted, mapped and collected: at a
 * million one-request subjects it runs seven million times, on maps of one entry (issue 15).
 */
function seenJSON(m: Map<string, Seen>): Record<string, SeenJSON> {
  const o: Record<string, SeenJSON> = {};
  if (m.size === 0) return o;
  const keys = [...m.keys()];
  if (keys.length > 1) keys.sort(cmp);
  for (const k of keys) {
    const v = m.get(k)!;
    const x = { count: v.count, first: v.first, last: v.last };
    if (k === '__proto__') Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
    else o[k] = x;
  }
  return o;
}

export function windowDays(fromMs: number, toMs: number): number {
  return Number.isFinite(fromMs) && Number.isFinite(toMs) ? Math.max(1, Math.round((toMs - fromMs) / 86_400_000)) : 0;
}

/** A profile as the file writes it. */
export function profileJSON(p: Profile): ProfileJSON {
  return {
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
  };
}

/**
 * The baseline file of a state. Its subjects are read from the state when the file is written (a
 * LazyEntries: once, in code-unit order of the names, merged across spilled runs; a subject named
 * __proto__ is a member like any other), so the state's profiles are consumed then.
 */
export function toFile(s: ProfileState, input: InputAccounting | null): BaselineFile {
  void input;
  const entries = function* (): Generator<[string, ProfileJSON]> {
    for (const [name, p] of drainProfiles(s)) yield [name, profileJSON(p)];
  };
  // Nothing spilled: a plain object (the profiles are in memory anyway); else read as written.
  const subjects = s.subjects.runs.length === 0 ? Object.fromEntries(entries()) : new LazyEntries<ProfileJSON>(entries);
  return { kind: 'kaudit.baseline', version: 1, window: { from: s.from || null, to: s.to || null }, days: windowDays(s.fromMs, s.toMs), requests: s.requests, subjects };
}

function seenFrom(o: Record<string, SeenJSON> | undefined): Map<string, Seen> {
  const m = new Map<string, Seen>();
  for (const [k, v] of Object.entries(o ?? {})) m.set(k, { count: v.count, first: v.first, firstMs: Date.parse(v.first), last: v.last, lastMs: Date.parse(v.last), ex: [] });
  return m;
}

/** A profile from its form in a baseline file. */
export function profileFromJSON(p: ProfileJSON): Profile {
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
  return prof;
}

/** Adds one subject of a baseline file to a state (merged, should the name come twice). */
function addProfileJSON(s: ProfileState, name: string, p: ProfileJSON): void {
  const spec = profileSpec(s.opts.examples);
  const prof = profileFromJSON(p);
  const mine = s.subjects.map.get(name);
  if (mine) s.subjects.map.set(name, mergePartial(mine, prof, s.opts.examples));
  else s.subjects.map.set(name, prof);
  s.requests += prof.requests;
  grow(s.subjects, spec, profileBytes(name, prof));
  settle();
}

function checkHeader(o: Partial<BaselineFile> | null, where: string): void {
  if (!o || o.kind !== 'kaudit.baseline') throw new UsageError(`${where}: not a kaudit baseline (kind ${JSON.stringify(o?.kind)})`, 'make one with: audit baseline FILES… --out baseline.json');
  if (o.version !== 1) throw new UsageError(`${where}: baseline version ${String(o.version)} is not supported`, 'rebuild it with this version of kaudit');
}

function setWindow(s: ProfileState, o: Partial<BaselineFile>): void {
  s.from = o.window?.from ?? '';
  s.fromMs = s.from ? Date.parse(s.from) : Infinity;
  s.to = o.window?.to ?? '';
  s.toMs = s.to ? Date.parse(s.to) : -Infinity;
}

/** Reads a (parsed) baseline file back into a state that merges and compares like a freshly built one. */
export function fromFile(f: unknown, where: string): ProfileState {
  const o = f as Partial<BaselineFile>;
  checkHeader(o, where);
  const s = profiles.init({ examples: 0 });
  for (const [name, p] of Object.entries((o.subjects ?? {}) as Record<string, ProfileJSON>)) addProfileJSON(s, name, p);
  setWindow(s, o);
  return s;
}

/**
 * Reads a baseline file in bounded memory (subject by subject, spilling past the budget; see
 * src/scale/jsonobject.ts). Errors: UsageError naming `where` when the file cannot be read, is not
 * JSON, or is not a kaudit baseline.
 */
export async function readBaselineFile(path: string, where: string): Promise<ProfileState> {
  const s = profiles.init({ examples: 0 });
  let head: Record<string, unknown>;
  try {
    head = await readJsonObject(path, 'subjects', (name, p) => addProfileJSON(s, name, p as ProfileJSON));
  } catch (e) {
    discard(s.subjects);
    if (e instanceof JsonShapeError) throw new UsageError(`${where}: ${path} is not JSON, so not a baseline (${e.message})`, 'make one with: audit baseline FILES… --out baseline.json');
    if (e instanceof UsageError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err?.code) throw new UsageError(`${where}: cannot read ${path} (${err.message})`, 'make one with: audit baseline FILES… --out baseline.json');
    throw e;
  }
  try {
    checkHeader(head as Partial<BaselineFile>, `${where}: ${path}`);
  } catch (e) {
    discard(s.subjects);
    throw e;
  }
  setWindow(s, head as Partial<BaselineFile>);
  return s;
}
