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
import { scanString, scanValue, scanned, skipWs } from './scan.js';

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
const OTHER = -1;

/**
 * Compares a key's bytes with a fixed list of names without decoding it: names by (length, first
 * byte), then byte by byte. An escaped key is decoded (JSON.parse) and looked up by name.
 */
class KeyTable {
  private readonly byShape = new Map<number, { bytes: Uint8Array; id: number }[]>();
  private readonly byName = new Map<string, number>();
  add(name: string, id: number): void {
    const bytes = Buffer.from(name, 'utf8');
    const k = bytes.length * 256 + bytes[0]!;
    let list = this.byShape.get(k);
    if (!list) this.byShape.set(k, (list = []));
    list.push({ bytes, id });
    this.byName.set(name, id);
  }
  /** The id of the key whose string token is b[s..e) (quotes included), else OTHER. */
  id(b: Buffer, s: number, e: number, escaped: boolean): number {
    if (escaped) return this.byName.get(JSON.parse(b.toString('utf8', s, e)) as string) ?? OTHER;
    const len = e - s - 2;
    if (len <= 0) return this.byName.get('') ?? OTHER;
    const list = this.byShape.get(len * 256 + b[s + 1]!);
    if (list === undefined) return OTHER;
    outer: for (let k = 0; k < list.length; k++) {
      const bytes = list[k]!.bytes;
      for (let j = 1; j < len; j++) if (b[s + 1 + j] !== bytes[j]) continue outer;
      return list[k]!.id;
    }
    return OTHER;
  }
}

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

const starts = new Int32Array(WANTED.length);
const ends = new Int32Array(WANTED.length);
const escapes = new Uint8Array(WANTED.length);

/** Nesting beyond which build() leaves a value to JSON.parse (which has no depth limit). */
const MAX_BUILD_DEPTH = 32;
const TOO_DEEP: unknown = Symbol('too deep');

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
  token(s: number, e: number, escaped: boolean): string {
    return escaped ? (JSON.parse(this.str(s, e)) as string) : this.str(s + 1, e - 1);
  }

  /**
   * Builds the value at b[s..e) (checked JSON) as JSON.parse does: objects get their members in
   * order by CreateDataProperty (a `__proto__` key is an own property; a repeated key keeps its
   * first place and its last value), numbers are Number(token) (the same value for JSON's
   * grammar), escaped strings are JSON.parsed. With `only`, an object keeps only those members.
   * Returns TOO_DEEP beyond MAX_BUILD_DEPTH.
   */
  build(s: number, e: number, depth: number, only: KeyTable | null): unknown {
    const b = this.b;
    const c = b[s];
    if (c === 34) {
      const end = scanString(b, s, e);
      return this.token(s, end, scanned.escaped);
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
        if (only === null || only.id(b, i, ke, esc) >= 0) {
          const key = this.token(i, ke, esc);
          const v = this.build(vs, ve, depth + 1, null);
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
        const v = this.build(i, ve, depth + 1, null);
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
  value(s: number, e: number, escaped: boolean, only: KeyTable | null): unknown {
    if (this.b[s] === 34) return this.token(s, e, escaped);
    const v = this.build(s, e, 0, only);
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
  const v = (k: number): unknown => (starts[k]! < 0 ? undefined : line.value(starts[k]!, ends[k]!, escapes[k] === 1, NESTED.get(k) ?? null));
  const body = (k: number): unknown => {
    const s = starts[k]!;
    if (s < 0) return undefined;
    const c = b[s];
    return c === 123 || c === 91 ? new LazyJson(b, s, ends[k]!) : line.value(s, ends[k]!, escapes[k] === 1, null);
  };
  return {
    kind: v(0),
    level: v(1),
    auditID: v(2),
    stage: v(3),
    requestURI: v(4),
    verb: v(5),
    user: v(6),
    impersonatedUser: v(7),
    sourceIPs: v(8),
    userAgent: v(9),
    objectRef: v(10),
    responseStatus: v(11),
    requestObject: body(REQUEST_OBJECT),
    responseObject: body(RESPONSE_OBJECT),
    requestReceivedTimestamp: v(14),
    stageTimestamp: v(15),
    annotations: v(16),
    timestamp: v(17),
  };
}
