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
    return JSON.parse(this.buf.toString('utf8', this.start, this.end)) as unknown;
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

/** Key names by (length, first byte), for comparing a key's bytes without decoding it. */
const BY_SHAPE = new Map<number, { bytes: Uint8Array; id: number }[]>();
const BY_NAME = new Map<string, number>();
function addKey(name: string, id: number): void {
  const bytes = Buffer.from(name, 'latin1');
  const k = bytes.length * 256 + bytes[0]!;
  let list = BY_SHAPE.get(k);
  if (!list) BY_SHAPE.set(k, (list = []));
  list.push({ bytes, id });
  BY_NAME.set(name, id);
}
WANTED.forEach((n, i) => addKey(n, i));
for (const n of FALLBACK_KEYS) addKey(n, FALLBACK);

/** The id of the key whose string token is b[s..e) (quotes included): a WANTED index, FALLBACK or OTHER. */
function keyId(b: Buffer, s: number, e: number, escaped: boolean): number {
  if (escaped) {
    const name = JSON.parse(b.toString('utf8', s, e)) as string;
    return BY_NAME.get(name) ?? OTHER;
  }
  const len = e - s - 2;
  if (len <= 0) return OTHER;
  const list = BY_SHAPE.get(len * 256 + b[s + 1]!);
  if (list === undefined) return OTHER;
  outer: for (let k = 0; k < list.length; k++) {
    const bytes = list[k]!.bytes;
    for (let j = 1; j < len; j++) if (b[s + 1 + j] !== bytes[j]) continue outer;
    return list[k]!.id;
  }
  return OTHER;
}

const starts = new Int32Array(WANTED.length);
const ends = new Int32Array(WANTED.length);
const escapes = new Uint8Array(WANTED.length);

/** Decodes the value at b[s..e) (a checked JSON value; `escaped`: a string holding a backslash). */
function valueAt(b: Buffer, s: number, e: number, escaped: boolean): unknown {
  if (b[s] === 34 && !escaped) return b.toString('utf8', s + 1, e - 1);
  return JSON.parse(b.toString('utf8', s, e)) as unknown;
}

/** What extractEvent returns: the members of a native Event that normalize/ reads. */
export interface ExtractedEvent {
  kind: unknown;
  level: unknown;
  auditID: unknown;
  stage: unknown;
  requestURI: unknown;
  verb: unknown;
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
      const id = keyId(b, ks, i, scanned.escaped);
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
  const v = (k: number): unknown => (starts[k]! < 0 ? undefined : valueAt(b, starts[k]!, ends[k]!, escapes[k] === 1));
  const body = (k: number): unknown => {
    const s = starts[k]!;
    if (s < 0) return undefined;
    const c = b[s];
    return c === 123 || c === 91 ? new LazyJson(b, s, ends[k]!) : valueAt(b, s, ends[k]!, escapes[k] === 1);
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
