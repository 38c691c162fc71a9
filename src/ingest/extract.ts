// The field extractor: reads the top-level members of a native audit Event from a line of bytes,
// decodes only the members normalize/ reads, and steps over every other value (request and response
// bodies, unknown members) by checking its grammar without building it (scan.ts). Bodies are handed
// on unparsed (LazyJson) and parsed only for the records a command reads them from (BodyNeeds).
//
// Its contract, which the differential tests check against the reference path (JSON.parse of the
// line, then the same normalizeValue): for every line it either returns null (the line then takes
// the reference path, so its record or its rejection is the reference's own), or an object whose
// members normalizeValue and containerOf read are equal to JSON.parse's. It returns null for
// anything that is not a plain native event: malformed JSON anywhere in the line, a top-level value
// that is no object, a value after the object (`{…}{…}`), and the members that make the value
// another shape (wrappers, GKE, AKS, CloudWatch; see FALLBACK_KEYS). Duplicate members: the last
// one wins, as in JSON.parse. Escaped strings and members holding objects are decoded by JSON.parse
// itself, on the member's bytes, so escapes, surrogate pairs, `__proto__` keys and numbers read
// exactly as the reference reads them.
import { KeyTable, scanString, scanValue, scanned, skipWs } from './scan.js';

/** A JSON value left unparsed: `value()` parses it (it was checked to be valid JSON). */
export class LazyJson {
  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}
  /** The value, as JSON.parse gives it. */
  value(): unknown {
    return JSON.parse(utf8(this.buf, this.start, this.end)) as unknown;
  }
  /** The value's size in bytes. */
  get bytes(): number {
    return this.end - this.start;
  }
}

/** Top-level members of a native Event that normalize/ reads (normalizeValue, normalizeEvent). */
const WANTED = [
  'kind',
  'level',
  'auditID',
  'stage',
  'requestURI',
  'verb',
  'user',
  'impersonatedUser',
  'sourceIPs',
  'userAgent',
  'objectRef',
  'responseStatus',
  'requestObject',
  'responseObject',
  'requestReceivedTimestamp',
  'stageTimestamp',
  'annotations',
  'timestamp',
] as const;

const REQUEST_OBJECT = WANTED.indexOf('requestObject');
const RESPONSE_OBJECT = WANTED.indexOf('responseObject');

/**
 * Members that make a value something other than a plain native event (see containerOf and
 * normalizeValue): a wrapper's array (CONTAINER_KEYS, a Log Analytics table's columns and rows),
 * GKE's protoPayload, an AKS record (properties, category), a Log Analytics row (AuditId, Verb,
 * RequestUri), CloudWatch's message. A line with any of them takes the reference path.
 */
export const FALLBACK_KEYS: readonly string[] = ['items', 'records', 'events', 'logEvents', 'entries', 'tables', 'rows', 'columns', 'protoPayload', 'properties', 'category', 'Category', 'AuditId', 'Verb', 'RequestUri', 'message', '@message'];

const FALLBACK = -2;

const TOP = new KeyTable();
WANTED.forEach((n, i) => TOP.add(n, i));
for (const n of FALLBACK_KEYS) TOP.add(n, FALLBACK);

/**
 * The members of nested objects normalize/ reads (normalizeEvent, principalFrom): only these are
 * built (a partial object); every other member of these objects is checked and stepped over.
 * Members absent here (kind, impersonatedUser…) are built whole.
 */
const NESTED: ReadonlyMap<number, KeyTable> = new Map(
  (
    [
      ['user', ['username', 'groups', 'extra', 'arn', 'canonicalArn', 'oid']],
      ['objectRef', ['resource', 'subresource', 'namespace', 'name', 'apiGroup', 'apiVersion']],
      ['responseStatus', ['code']],
      ['annotations', ['authorization.k8s.io/decision']],
    ] as const
  ).map(([member, keys]) => {
    const t = new KeyTable();
    keys.forEach((k, i) => t.add(k, i));
    return [WANTED.indexOf(member), t] as [number, KeyTable];
  }),
);

/** Members whose values repeat from event to event (interned); IDs, times and URIs do not. */
const REPEATS = Uint8Array.from(WANTED, (n) => (['auditID', 'requestURI', 'requestReceivedTimestamp', 'stageTimestamp', 'timestamp', 'impersonatedUser'].includes(n) ? 0 : 1));

/** NESTED by member index. */
const NESTED_BY_ID: (KeyTable | undefined)[] = WANTED.map((_, i) => NESTED.get(i));

const starts = new Int32Array(WANTED.length);
const ends = new Int32Array(WANTED.length);
const escapes = new Uint8Array(WANTED.length);

/** Nesting beyond which build() leaves a value to JSON.parse (which has no depth limit). */
const MAX_BUILD_DEPTH = 32;
const TOO_DEEP: unknown = Symbol('too deep');

/** Values up to this many bytes are interned (verbs, stages, user names, user agents, namespaces…). */
const INTERN_MAX = 64;
const INTERN_SLOTS = 4096;
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS);
const internStrings: string[] = new Array(INTERN_SLOTS).fill('');

/**
 * The decoded bytes b[s..e) (at most INTERN_MAX long), from a table of recently decoded values when
 * the same bytes were decoded before: audit values repeat (verbs, stages, levels, users, groups,
 * user agents, resources, namespaces), and a repeated value then costs a comparison of its bytes
 * instead of a decode and a new string (and maps keyed by it find the same string). A direct-mapped
 * table: a hash of the length and a few bytes picks the slot, a miss replaces it.
 */
function intern(b: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n === 0) return '';
  const h = (n * 31 + b[s]! * 7 + b[e - 1]! * 131 + b[s + (n >> 1)]! * 1031 + b[s + (n >> 2)]! * 17) & (INTERN_SLOTS - 1);
  const known = internBytes[h];
  if (known !== undefined && known.length === n) {
    let j = 0;
    while (j < n && known[j] === b[s + j]) j++;
    if (j === n) return internStrings[h]!;
  }
  const str = utf8(b, s, e);
  internBytes[h] = Uint8Array.prototype.slice.call(b, s, e);
  internStrings[h] = str;
  return str;
}

/** Buffer's own UTF-8 decoder (what toString('utf8', s, e) calls after checking its arguments). */
interface Utf8Sliceable {
  utf8Slice?(start: number, end: number): string;
}

/**
 * The decoded bytes b[s..e): a flat string of its own. (Cutting values out of a decoded line with
 * slice() would make V8 sliced strings that keep the whole line alive as long as a record, a
 * summary key or the collapse window holds the value.)
 */
export const utf8: (b: Buffer, s: number, e: number) => string =
  typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function' ? (b, s, e) => (b as Utf8Sliceable).utf8Slice!(s, e) : (b, s, e) => b.toString('utf8', s, e);

/** One line being materialised: its bytes. */
class Line {
  b!: Buffer;
  reset(b: Buffer): void {
    this.b = b;
  }
  /** The decoded bytes b[s..e). */
  str(s: number, e: number): string {
    return utf8(this.b, s, e);
  }
  /** The string token at b[s..e) (quotes included), decoded. */
  token(s: number, e: number, escaped: boolean, repeats = false): string {
    return escaped ? (JSON.parse(this.str(s, e)) as string) : repeats && e - s <= INTERN_MAX + 2 ? intern(this.b, s + 1, e - 1) : this.str(s + 1, e - 1);
  }

  /**
   * Builds the value at b[s..e) (checked JSON) as JSON.parse does: objects get their members in
   * order by CreateDataProperty (a `__proto__` key is an own property; a repeated key keeps its
   * first place and its last value), numbers are Number(token) (the same value for JSON's
   * grammar), escaped strings are JSON.parsed. With `only`, an object keeps only those members.
   * Returns TOO_DEEP beyond MAX_BUILD_DEPTH.
   */
  build(s: number, e: number, depth: number, only: KeyTable | null, repeats = false): unknown {
    const b = this.b;
    const c = b[s];
    if (c === 34) {
      const end = scanString(b, s, e);
      return this.token(s, end, scanned.escaped, repeats);
    }
    if (c === 123) {
      if (depth >= MAX_BUILD_DEPTH) return TOO_DEEP;
      const o: Record<string, unknown> = {};
      let i = skipWs(b, s + 1, e);
      if (b[i] === 125) return o;
      for (;;) {
        const ke = scanString(b, i, e);
        const esc = scanned.escaped;
        const vs = skipWs(b, skipWs(b, ke, e) + 1, e);
        const ve = scanValue(b, vs, e);
        const k = only === null ? -1 : only.id(b, i, ke, esc);
        if (only === null || k >= 0) {
          const key = k >= 0 ? only!.names[k]! : this.token(i, ke, esc);
          const v = this.build(vs, ve, depth + 1, null, k >= 0 && only!.names[k] !== 'name');
          if (v === TOO_DEEP) return TOO_DEEP;
          if (key === '__proto__') Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
          else o[key] = v;
        }
        i = skipWs(b, ve, e);
        if (b[i] === 125) return o;
        i = skipWs(b, i + 1, e); // after the comma
      }
    }
    if (c === 91) {
      if (depth >= MAX_BUILD_DEPTH) return TOO_DEEP;
      const a: unknown[] = [];
      let i = skipWs(b, s + 1, e);
      if (b[i] === 93) return a;
      for (;;) {
        const ve = scanValue(b, i, e);
        const v = this.build(i, ve, depth + 1, null, repeats);
        if (v === TOO_DEEP) return TOO_DEEP;
        a.push(v);
        i = skipWs(b, ve, e);
        if (b[i] === 93) return a;
        i = skipWs(b, i + 1, e);
      }
    }
    if (c === 116) return true;
    if (c === 102) return false;
    if (c === 110) return null;
    return Number(this.str(s, e));
  }

  /** The member value at b[s..e): built (partially, with `only`), or JSON.parsed when too deep. */
  value(s: number, e: number, escaped: boolean, only: KeyTable | null, repeats: boolean): unknown {
    if (this.b[s] === 34) return this.token(s, e, escaped, repeats);
    const v = this.build(s, e, 0, only, repeats);
    return v === TOO_DEEP ? (JSON.parse(this.str(s, e)) as unknown) : v;
  }
}

const line = new Line();

/** What extractEvent returns: the members of a native Event that normalize/ reads. */
export interface ExtractedEvent {
  kind: unknown;
  level: unknown;
  auditID: unknown;
  stage: unknown;
  requestURI: unknown;
  verb: unknown;
  /** Only the members normalize/ reads (see NESTED); likewise objectRef, responseStatus, annotations. */
  user: unknown;
  impersonatedUser: unknown;
  sourceIPs: unknown;
  userAgent: unknown;
  objectRef: unknown;
  responseStatus: unknown;
  /** Unparsed: normalize parses it for the records that keep it. */
  requestObject: LazyJson | unknown;
  responseObject: LazyJson | unknown;
  requestReceivedTimestamp: unknown;
  stageTimestamp: unknown;
  annotations: unknown;
  timestamp: unknown;
}

/**
 * Reads the line b[start..end) (leading whitespace already skipped) as a native audit Event. Returns
 * null when the line must take the reference path (see the file comment). The returned object's
 * members are undefined where the event has none; requestObject and responseObject, when they hold
 * an object or array, are LazyJson (holding `b`: use them before `b` is reused).
 */
export function extractEvent(b: Buffer, start: number, end: number): ExtractedEvent | null {
  if (b[start] !== 123) return null;
  starts.fill(-1);
  let i = skipWs(b, start + 1, end);
  if (i >= end) return null;
  if (b[i] === 125) i++;
  else {
    for (;;) {
      if (b[i] !== 34) return null;
      const ks = i;
      i = scanString(b, i, end);
      if (i < 0) return null;
      const id = TOP.id(b, ks, i, scanned.escaped);
      if (id === FALLBACK) return null;
      i = skipWs(b, i, end);
      if (i >= end || b[i] !== 58) return null;
      i = skipWs(b, i + 1, end);
      const vs = i;
      i = scanValue(b, i, end);
      if (i < 0) return null;
      if (id >= 0) {
        starts[id] = vs;
        ends[id] = i;
        escapes[id] = b[vs] === 34 && scanned.escaped ? 1 : 0;
      }
      i = skipWs(b, i, end);
      if (i >= end) return null;
      const c = b[i];
      if (c === 44) {
        i = skipWs(b, i + 1, end);
        if (i >= end) return null;
        continue;
      }
      if (c === 125) {
        i++;
        break;
      }
      return null;
    }
  }
  // Nothing but whitespace may follow (JSON.parse refuses the rest; the reference path salvages it).
  if (skipWs(b, i, end) !== end) return null;
  line.reset(b);
  return {
    kind: member(0),
    level: member(1),
    auditID: member(2),
    stage: member(3),
    requestURI: member(4),
    verb: member(5),
    user: member(6),
    impersonatedUser: member(7),
    sourceIPs: member(8),
    userAgent: member(9),
    objectRef: member(10),
    responseStatus: member(11),
    requestObject: body(REQUEST_OBJECT),
    responseObject: body(RESPONSE_OBJECT),
    requestReceivedTimestamp: member(14),
    stageTimestamp: member(15),
    annotations: member(16),
    timestamp: member(17),
  };
}

/** The value of WANTED[k] in the line being read (undefined when absent). */
function member(k: number): unknown {
  const s = starts[k]!;
  return s < 0 ? undefined : line.value(s, ends[k]!, escapes[k] === 1, NESTED_BY_ID[k] ?? null, REPEATS[k] === 1);
}

/** A body member: unparsed (LazyJson) when it is an object or array. */
function body(k: number): unknown {
  const s = starts[k]!;
  if (s < 0) return undefined;
  const c = line.b[s];
  return c === 123 || c === 91 ? new LazyJson(line.b, s, ends[k]!) : line.value(s, ends[k]!, escapes[k] === 1, null, false);
}
