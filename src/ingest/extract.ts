// The field extractor: reads a native audit Event from a line of bytes without building the values
// a command does not read. It reads the line's top-level members, steps over the request and response
// bodies (`requestObject`, `responseObject`, often kilobytes of managedFields, env and status) by
// checking their grammar byte by byte without building them (scan.ts), and JSON.parses the rest of
// the line with the bodies cut out. Bodies are handed on unparsed (LazyJson) and parsed only for
// the records a command reads them from (BodyNeeds, src/normalize/bodies.ts).
//
// Its contract, which the differential tests check against the reference path (JSON.parse of the
// whole line, then the same normalizeValue): for every line it either returns null (the line then
// takes the reference path, so its record or its rejection is the reference's own), or a value
// whose members are JSON.parse's, except that a body object or array is a LazyJson of it. It
// returns null for lines without a body (JSON.parse is then as fast), for malformed JSON anywhere in
// the line, for a top-level value that is no object, for a value after the object (`{…}{…}`), and
// for the members that make the value another shape (wrappers, GKE, AKS, CloudWatch: FALLBACK_KEYS).
// Duplicate members: the last one wins, as in JSON.parse (only the last body is cut out).
import { KeyTable, finder, scanString, scanValue, scanned, skipWs } from './scan.js';

/** Buffer's own UTF-8 decoder (what toString('utf8', s, e) calls after checking its arguments). */
interface Utf8Sliceable {
  utf8Slice?(start: number, end: number): string;
}

/** The decoded bytes b[s..e). */
export const utf8: (b: Buffer, s: number, e: number) => string =
  typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function' ? (b, s, e) => (b as Utf8Sliceable).utf8Slice!(s, e) : (b, s, e) => b.toString('utf8', s, e);

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

const REQUEST_OBJECT = 0;
const RESPONSE_OBJECT = 1;
const BODY_NAMES = ['requestObject', 'responseObject'] as const;

/**
 * Members that make a value something other than a plain native event (see containerOf and
 * normalizeValue): a wrapper's array (CONTAINER_KEYS, a Log Analytics table's columns and rows),
 * GKE's protoPayload, an AKS record (properties, category), a Log Analytics row (AuditId, Verb,
 * RequestUri), CloudWatch's message. A line with any of them takes the reference path.
 */
export const FALLBACK_KEYS: readonly string[] = ['items', 'records', 'events', 'logEvents', 'entries', 'tables', 'rows', 'columns', 'protoPayload', 'properties', 'category', 'Category', 'AuditId', 'Verb', 'RequestUri', 'message', '@message'];

const FALLBACK = 100;
const KEYS = new KeyTable();
BODY_NAMES.forEach((n, i) => KEYS.add(n, i));
for (const n of FALLBACK_KEYS) KEYS.add(n, FALLBACK);

/** A body is cut out of the line only from this size on (smaller ones JSON.parse as fast). */
export const MIN_CUT = 64;

/**
 * A line without `Object"` holds neither `"requestObject"` nor `"responseObject"`: no body to skip.
 * (One search for both; it starts with a byte rare in audit logs, which the search skips to.)
 */
const findBodyKey = finder('Object"');

const starts = [-1, -1];
const ends = [-1, -1];

/**
 * Reads the line b[start..end) (leading whitespace already skipped) as a native audit Event whose
 * bodies are not parsed. Returns null when the line must take the reference path (see the file
 * comment). requestObject and responseObject, when they hold an object or array of MIN_CUT bytes or
 * more, are LazyJson (holding `b`: use them before `b` is reused).
 */
export function extractEvent(b: Buffer, start: number, end: number): Record<string, unknown> | null {
  if (b[start] !== 123) return null;
  // A line without a body is read by JSON.parse as fast (the key bytes may only be missing when the
  // key is written with escapes: then JSON.parse reads the body too, which is slower, not wrong).
  if (findBodyKey(b, start, end) < 0) return null;
  starts[0] = starts[1] = -1;
  let i = skipWs(b, start + 1, end);
  if (i >= end) return null;
  if (b[i] === 125) return null;
  for (;;) {
    if (b[i] !== 34) return null;
    const ks = i;
    i = scanString(b, i, end);
    if (i < 0) return null;
    const id = KEYS.id(b, ks, i, scanned.escaped);
    if (id === FALLBACK) return null;
    i = skipWs(b, i, end);
    if (i >= end || b[i] !== 58) return null;
    i = skipWs(b, i + 1, end);
    const vs = i;
    i = scanValue(b, i, end);
    if (i < 0) return null;
    if (id === REQUEST_OBJECT || id === RESPONSE_OBJECT) {
      starts[id] = vs;
      ends[id] = i;
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
  // Nothing but whitespace may follow (JSON.parse refuses the rest; the reference path salvages it).
  if (skipWs(b, i, end) !== end) return null;
  // The bodies worth cutting out, in the order they appear.
  const cut: number[] = [];
  for (const k of [REQUEST_OBJECT, RESPONSE_OBJECT]) {
    const s = starts[k]!;
    if (s >= 0 && (b[s] === 123 || b[s] === 91) && ends[k]! - s >= MIN_CUT) cut.push(k);
  }
  if (cut.length === 0) return null;
  if (cut.length === 2 && starts[cut[0]!]! > starts[cut[1]!]!) cut.reverse();
  // The line with each cut body written `null` (a valid JSON text: the whole line was checked).
  let text = '';
  let at = start;
  for (const k of cut) {
    text += utf8(b, at, starts[k]!) + 'null';
    at = ends[k]!;
  }
  text += utf8(b, at, end);
  const v = JSON.parse(text) as Record<string, unknown>;
  for (const k of cut) v[BODY_NAMES[k]!] = new LazyJson(b, starts[k]!, ends[k]!);
  return v;
}
